package dev.lanes.consumer.testing;

import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import kafka.cluster.Partition;
import kafka.server.BrokerServer;
import kafka.server.ControllerServer;
import kafka.server.FaultHandlerFactory;
import kafka.server.KafkaConfig;
import kafka.server.KafkaRaftServer;
import kafka.server.SharedServer;
import org.apache.kafka.clients.CommonClientConfigs;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.metrics.Metrics;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.test.MockFaultHandler;
import org.apache.kafka.common.utils.Time;
import org.apache.kafka.common.utils.Utils;
import org.apache.kafka.metadata.bootstrap.BootstrapMetadata;
import org.apache.kafka.metadata.properties.MetaPropertiesEnsemble;
import org.apache.kafka.metadata.storage.Formatter;
import org.apache.kafka.raft.QuorumConfig;
import org.apache.kafka.server.ServerSocketFactory;
import org.apache.kafka.server.fault.FaultHandler;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import scala.Option;
import scala.Tuple2;

import static dev.lanes.consumer.testing.TestKitSupport.deleteQuietly;
import static dev.lanes.consumer.testing.TestKitSupport.sleep;

/**
 * A single-node KRaft Kafka (broker and controller in one node) running in this JVM, listening on
 * 127.0.0.1 only.
 *
 * <p>Why not {@code KafkaClusterTestKit} itself: the kit pre-binds every listener on the wildcard
 * address ({@code PreboundSocketFactoryManager} uses {@code new InetSocketAddress(0)}) whatever
 * {@code listeners} says, and keeps those sockets open for the cluster's lifetime. So this class
 * assembles the same three pieces the kit and {@code KafkaRaftServer} assemble ({@link SharedServer},
 * {@link ControllerServer}, {@link BrokerServer}) with its own socket factory that binds to
 * 127.0.0.1. It still borrows the kit's {@link MockFaultHandler}, so a broker fault fails the test
 * at {@link #close()} instead of halting the JVM.
 *
 * <p>Listeners: {@code INTERNAL} for direct clients and inter-broker traffic (transaction markers
 * go to the broker itself through it), {@code CONTROLLER}, and, when started behind a proxy,
 * {@code PROXIED}, which advertises the proxy's address. A client bootstrapped to the proxy therefore
 * reaches the broker and its group coordinator only through the proxy, while {@link #admin()} and
 * {@link #produce} stay direct and keep working while the proxy is cut. With
 * {@link Builder#behindProxies(int)} there is one such listener per proxy ({@code PROXIED},
 * {@code PROXIED2}, ...): a broker answers metadata with the addresses of the listener a request
 * came in on, so each client stays behind the proxy it was bootstrapped to, and one client's network
 * can be cut while the others' is not.
 *
 * <p>Optional secured listeners for clients (inter-broker traffic stays on {@code INTERNAL}, plaintext):
 * {@code SASL} ({@code SASL_PLAINTEXT} with the {@code PLAIN} mechanism and the users of {@link #SASL_USERS},
 * see {@link Builder#withSaslPlain()}) and {@code SSL} (a self-signed certificate for {@code localhost} /
 * {@code 127.0.0.1} generated with the JDK's {@code keytool} at start, see {@link Builder#withSsl()}).
 */
public final class KafkaBroker implements AutoCloseable {

    static final String LOOPBACK = "127.0.0.1";

    private static final Logger log = LoggerFactory.getLogger(KafkaBroker.class);
    private static final int NODE_ID = 1;
    private static final String INTERNAL = "INTERNAL";
    private static final String CONTROLLER = "CONTROLLER";
    private static final String PROXIED = "PROXIED";
    private static final String SASL = "SASL";
    private static final String SSL = "SSL";

    /** The users the {@code SASL} listener accepts (name to password). */
    public static final Map<String, String> SASL_USERS = Map.of("alice", "alice-secret", "bob", "bob-secret");
    private static final Duration READY_TIMEOUT = Duration.ofSeconds(30);

    private final Path dataDir;
    // Replaced by restart(); volatile so threads other than the restarting one see the new servers.
    private volatile ControllerServer controller;
    private volatile BrokerServer broker;
    private final TestFaultHandlers faultHandlers;
    private final KafkaConfig config;
    private final Map<String, Integer> listenerPorts;
    private final int port;
    private final List<TcpProxy> proxies;
    private final int saslPort;
    private final int sslPort;
    private final SelfSignedCertificate certificate;
    private Admin admin;
    private KafkaProducer<byte[], byte[]> producer;

    private KafkaBroker(Path dataDir, ControllerServer controller, BrokerServer broker,
                        TestFaultHandlers faultHandlers, KafkaConfig config, Map<String, Integer> listenerPorts,
                        int port, List<TcpProxy> proxies, int saslPort, int sslPort, SelfSignedCertificate certificate) {
        this.dataDir = dataDir;
        this.controller = controller;
        this.broker = broker;
        this.faultHandlers = faultHandlers;
        this.config = config;
        this.listenerPorts = Map.copyOf(listenerPorts);
        this.port = port;
        this.proxies = List.copyOf(proxies);
        this.saslPort = saslPort;
        this.sslPort = sslPort;
        this.certificate = certificate;
    }

    /** Starts a broker with the default test settings. */
    public static KafkaBroker start() {
        return builder().start();
    }

    /** Starts a broker whose {@code PROXIED} listener is advertised at a {@link TcpProxy} in front of it. */
    public static KafkaBroker startBehindProxy() {
        return builder().behindProxy().start();
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Bootstrap servers that reach the broker directly. */
    public String bootstrapServers() {
        return LOOPBACK + ":" + port;
    }

    /** Bootstrap servers that reach the broker only through {@link #proxy()}. */
    public String proxiedBootstrapServers() {
        return proxy().address();
    }

    /** Bootstrap servers that reach the broker only through {@link #proxy(int) proxy(index)}. */
    public String proxiedBootstrapServers(int index) {
        return proxy(index).address();
    }

    /** The proxy in front of the {@code PROXIED} listener; only for a broker started behind a proxy. */
    public TcpProxy proxy() {
        return proxy(0);
    }

    /** The {@code index}-th proxy (from 0) of a broker started {@link Builder#behindProxies(int) behind proxies}. */
    public TcpProxy proxy(int index) {
        if (proxies.isEmpty()) {
            throw new IllegalStateException("This broker was not started behind a proxy; use KafkaBroker.startBehindProxy()");
        }
        if (index < 0 || index >= proxies.size()) {
            throw new IllegalArgumentException("No proxy " + index + "; this broker has " + proxies.size());
        }
        return proxies.get(index);
    }

    /** Bootstrap servers of the {@code SASL_PLAINTEXT} (PLAIN) listener; only for a broker built {@link Builder#withSaslPlain()}. */
    public String saslBootstrapServers() {
        if (saslPort < 0) {
            throw new IllegalStateException("This broker has no SASL listener; use KafkaBroker.builder().withSaslPlain()");
        }
        return LOOPBACK + ":" + saslPort;
    }

    /**
     * Client settings that reach the {@code SASL} listener as {@code user} with {@code password}
     * (bootstrap servers, {@code security.protocol}, {@code sasl.mechanism} and {@code sasl.jaas.config}).
     */
    public Map<String, Object> saslClientConfig(String user, String password) {
        Map<String, Object> config = new HashMap<>();
        config.put(CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG, saslBootstrapServers());
        config.put(CommonClientConfigs.SECURITY_PROTOCOL_CONFIG, "SASL_PLAINTEXT");
        config.put("sasl.mechanism", "PLAIN");
        config.put("sasl.jaas.config", plainJaas(user, password));
        return config;
    }

    /** Bootstrap servers of the {@code SSL} listener; only for a broker built {@link Builder#withSsl()}. */
    public String sslBootstrapServers() {
        requireSsl();
        return LOOPBACK + ":" + sslPort;
    }

    /** The PKCS12 truststore holding the broker's self-signed certificate. */
    public Path sslTruststorePath() {
        requireSsl();
        return certificate.truststore();
    }

    public String sslTruststorePassword() {
        requireSsl();
        return certificate.password();
    }

    /** Client settings that reach the {@code SSL} listener and trust its certificate. */
    public Map<String, Object> sslClientConfig() {
        return SelfSignedCertificate.clientConfig(sslBootstrapServers(), sslTruststorePath(), sslTruststorePassword());
    }

    private void requireSsl() {
        if (sslPort < 0) {
            throw new IllegalStateException("This broker has no SSL listener; use KafkaBroker.builder().withSsl()");
        }
    }

    static String plainJaas(String user, String password) {
        return "org.apache.kafka.common.security.plain.PlainLoginModule required username=\"" + user
                + "\" password=\"" + password + "\";";
    }

    /** A shared, direct Admin client; closed by {@link #close()}. */
    public synchronized Admin admin() {
        if (admin == null) {
            admin = Admin.create(Map.of(CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers()));
        }
        return admin;
    }

    /** Creates a topic with replication factor 1 and waits until this broker leads every partition. */
    public void createTopic(String name, int partitions) {
        await(admin().createTopics(List.of(new NewTopic(name, partitions, (short) 1))).all());
        long deadline = System.nanoTime() + READY_TIMEOUT.toNanos();
        while (!leadsAllPartitions(name, partitions)) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("Topic " + name + " is not led by the broker after " + READY_TIMEOUT);
            }
            sleep(Duration.ofMillis(5));
        }
    }

    // Asks the replica manager rather than Admin: the broker publishes new metadata to its cache
    // (which answers Admin and client metadata) before its replica manager becomes leader, so a
    // producer that starts in between gets NOT_LEADER_OR_FOLLOWER.
    private boolean leadsAllPartitions(String topic, int partitions) {
        for (int i = 0; i < partitions; i++) {
            Option<Partition> partition = broker.replicaManager().onlinePartition(new TopicPartition(topic, i));
            if (partition.isEmpty() || !partition.get().isLeader()) {
                return false;
            }
        }
        return true;
    }

    /** A new direct byte-array producer; the caller closes it. */
    public KafkaProducer<byte[], byte[]> producer() {
        return producer(Map.of());
    }

    /** A new direct byte-array producer with extra settings (for example {@code transactional.id}); the caller closes it. */
    public KafkaProducer<byte[], byte[]> producer(Map<String, Object> overrides) {
        Map<String, Object> config = new HashMap<>();
        config.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers());
        config.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class);
        config.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class);
        config.putAll(overrides);
        return new KafkaProducer<>(config);
    }

    /**
     * Sends {@code count} records to one partition through a shared direct producer and waits until
     * all are acknowledged. Keys are {@code k0 .. k<count-1>}; each value is {@code valueSize} bytes
     * starting with {@code v<i>} (see {@link #value}).
     */
    public void produce(String topic, int partition, int count, int valueSize) {
        List<Future<RecordMetadata>> sends = new ArrayList<>(count);
        synchronized (this) {
            if (producer == null) {
                producer = producer(Map.of(ProducerConfig.LINGER_MS_CONFIG, 5));
            }
            for (int i = 0; i < count; i++) {
                sends.add(producer.send(new ProducerRecord<>(topic, partition, key(i), value(i, valueSize))));
            }
            producer.flush();
        }
        sends.forEach(KafkaBroker::await);
    }

    /** The key of the {@code i}-th record {@link #produce} sends: {@code k<i>}. */
    public static byte[] key(int i) {
        return ("k" + i).getBytes(StandardCharsets.US_ASCII);
    }

    /** The value of the {@code i}-th record {@link #produce} sends: {@code v<i>} padded with dots, cut to {@code size}. */
    public static byte[] value(int i, int size) {
        byte[] value = new byte[size];
        Arrays.fill(value, (byte) '.');
        byte[] label = ("v" + i).getBytes(StandardCharsets.US_ASCII);
        System.arraycopy(label, 0, value, 0, Math.min(label.length, size));
        return value;
    }

    /**
     * Restarts the node in place, like a broker process being restarted: shuts the broker and then the
     * controller down (controlled shutdown, the same path as {@link #close()}), then starts new
     * {@link SharedServer} / {@link ControllerServer} / {@link BrokerServer} instances from the same
     * {@link KafkaConfig}, on the same data directory (not formatted again, so records, committed offsets
     * and group state survive) and bound to the same ports of every listener (so clients, the
     * {@link #proxy()} and {@link #admin()} reconnect to the address they know).
     *
     * <p>Approach: the in-process servers are not restartable objects (a stopped {@code SharedServer}
     * is done), so new ones are built; only the ports are re-bound. The ports are bound explicitly
     * (SO_REUSEADDR, as every NIO server socket on Linux/macOS), retrying briefly in case the old
     * listener is still releasing its port. Clients see connection refused while the node is down.
     * Returns once the broker is unfenced and leads every partition it holds a log for (including
     * {@code __consumer_offsets}; the group coordinator may still be loading it, which clients retry).
     *
     * @return how long the node was down, from the start of the shutdown until ready again
     */
    public Duration restart() {
        return restart(Duration.ZERO);
    }

    /** {@link #restart()} staying down for {@code downtime} between the shutdown and the start. */
    public synchronized Duration restart(Duration downtime) {
        long started = System.nanoTime();
        List<TopicPartition> held = heldPartitions(broker);
        shutdown(broker, controller);
        long stopped = System.nanoTime();
        if (!downtime.isZero()) {
            sleep(downtime);
        }
        LoopbackSockets sockets = new LoopbackSockets();
        try {
            for (Map.Entry<String, Integer> listener : listenerPorts.entrySet()) {
                sockets.bindAt(listener.getKey(), listener.getValue());
            }
            ControllerServer newController = null;
            BrokerServer newBroker = null;
            try {
                Tuple2<MetaPropertiesEnsemble, BootstrapMetadata> logDirs = KafkaRaftServer.initializeLogDirs(config, log, "");
                SharedServer sharedServer = newSharedServer(config, logDirs, faultHandlers, sockets);
                newController = new ControllerServer(sharedServer, KafkaRaftServer.configSchema(), logDirs._2());
                newBroker = new BrokerServer(sharedServer);
                newController.startup();
                newBroker.startup();
            } catch (RuntimeException e) {
                try {
                    shutdown(newBroker, newController);
                } catch (RuntimeException suppressed) {
                    e.addSuppressed(suppressed);
                }
                throw e;
            }
            controller = newController;
            broker = newBroker;
        } catch (IOException | RuntimeException e) {
            sockets.closeUnused();
            throw new IllegalStateException("Kafka broker did not restart on " + listenerPorts, e);
        }
        long deadline = System.nanoTime() + READY_TIMEOUT.toNanos();
        BrokerServer current = broker;
        for (TopicPartition partition : held) {
            while (!leads(current, partition)) {
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException("Partition " + partition + " is not led by the broker "
                            + READY_TIMEOUT + " after the restart");
                }
                sleep(Duration.ofMillis(5));
            }
        }
        long ready = System.nanoTime();
        log.info("Kafka broker on {} restarted: stopped in {} ms, ready {} ms later ({} partitions led)",
                bootstrapServers(), (stopped - started) / 1_000_000, (ready - stopped) / 1_000_000, held.size());
        return Duration.ofNanos(ready - started);
    }

    private static List<TopicPartition> heldPartitions(BrokerServer broker) {
        List<TopicPartition> partitions = new ArrayList<>();
        scala.jdk.javaapi.CollectionConverters.asJava(broker.logManager().allLogs())
                .forEach(unifiedLog -> partitions.add(unifiedLog.topicPartition()));
        return partitions;
    }

    private static boolean leads(BrokerServer broker, TopicPartition topicPartition) {
        Option<Partition> partition = broker.replicaManager().onlinePartition(topicPartition);
        return partition.isDefined() && partition.get().isLeader();
    }

    private static SharedServer newSharedServer(KafkaConfig config, Tuple2<MetaPropertiesEnsemble, BootstrapMetadata> logDirs,
                                                TestFaultHandlers faultHandlers, LoopbackSockets sockets) {
        return new SharedServer(
                config,
                logDirs._1(),
                Time.SYSTEM,
                new Metrics(),
                CompletableFuture.completedFuture(QuorumConfig.parseVoterConnections(config.quorumConfig().voters())),
                QuorumConfig.parseBootstrapServers(config.quorumConfig().bootstrapServers()),
                faultHandlers,
                sockets);
    }

    /** Stops the broker (and its proxy, clients and data), then fails if the broker reported a fault. */
    @Override
    public void close() {
        long started = System.nanoTime();
        synchronized (this) {
            Utils.closeQuietly(producer, "producer");
            Utils.closeQuietly(admin, "admin");
        }
        proxies.forEach(proxy -> Utils.closeQuietly(proxy, "proxy"));
        synchronized (this) {
            shutdown(broker, controller);
        }
        deleteQuietly(dataDir);
        log.info("Kafka broker on {} stopped in {} ms", bootstrapServers(), (System.nanoTime() - started) / 1_000_000);
        faultHandlers.rethrowFirst();
    }

    // Same order as KafkaRaftServer: the broker first, since its controlled shutdown needs the controller.
    private static void shutdown(BrokerServer broker, ControllerServer controller) {
        if (broker != null) {
            broker.shutdown();
            broker.awaitShutdown();
        }
        if (controller != null) {
            controller.shutdown();
            controller.awaitShutdown();
        }
    }

    /** Options for a broker; {@link #start()} formats a fresh temporary directory and starts it. */
    public static final class Builder {
        private final Map<String, String> serverProperties = new LinkedHashMap<>();
        private int proxyCount;
        private boolean saslPlain;
        private boolean ssl;

        private Builder() {
            serverProperty("offsets.topic.replication.factor", 1);
            // One partition each: the first FindCoordinator answers sooner than with the default 50.
            serverProperty("offsets.topic.num.partitions", 1);
            serverProperty("transaction.state.log.replication.factor", 1);
            serverProperty("transaction.state.log.min.isr", 1);
            serverProperty("transaction.state.log.num.partitions", 1);
            serverProperty("share.coordinator.state.topic.replication.factor", 1);
            serverProperty("share.coordinator.state.topic.min.isr", 1);
            serverProperty("group.initial.rebalance.delay.ms", 0);
            // KIP-848 timing: heartbeats every 500 ms. The minimum session timeout is below the default
            // so a test can shorten one group's session with the group config consumer.session.timeout.ms.
            serverProperty("group.consumer.heartbeat.interval.ms", 500);
            serverProperty("group.consumer.min.heartbeat.interval.ms", 500);
            serverProperty("group.consumer.session.timeout.ms", 6000);
            serverProperty("group.consumer.min.session.timeout.ms", 2000);
            // The log cleaner's default 128 MiB dedupe buffer is heap a test JVM does not need.
            serverProperty("log.cleaner.dedupe.buffer.size", 2 * 1024 * 1024);
        }

        /** Sets (or overrides) one server property. Listener and quorum properties are owned by this class. */
        public Builder serverProperty(String key, Object value) {
            // As strings: KafkaConfig rejects an Integer where it expects a short.
            serverProperties.put(key, String.valueOf(value));
            return this;
        }

        /** Puts a {@link TcpProxy} in front of a {@code PROXIED} listener that advertises the proxy's port. */
        public Builder behindProxy() {
            return behindProxies(1);
        }

        /**
         * Puts {@code count} proxies in front of as many listeners ({@code PROXIED}, {@code PROXIED2}, ...),
         * each advertising its own proxy's port, so that clients can be cut off one by one.
         */
        public Builder behindProxies(int count) {
            if (count < 1) {
                throw new IllegalArgumentException("count must be at least 1");
            }
            proxyCount = count;
            return this;
        }

        /** Adds a {@code SASL} listener ({@code SASL_PLAINTEXT}, mechanism {@code PLAIN}, users {@link #SASL_USERS}). */
        public Builder withSaslPlain() {
            saslPlain = true;
            return this;
        }

        /** Adds an {@code SSL} listener with a self-signed certificate generated at start (no client authentication). */
        public Builder withSsl() {
            ssl = true;
            return this;
        }

        public KafkaBroker start() {
            long started = System.nanoTime();
            LoopbackSockets sockets = new LoopbackSockets();
            TestFaultHandlers faultHandlers = new TestFaultHandlers();
            Path dataDir = null;
            List<TcpProxy> proxies = new ArrayList<>();
            SelfSignedCertificate certificate = null;
            int saslPort = -1;
            int sslPort = -1;
            BrokerServer broker = null;
            ControllerServer controller = null;
            try {
                dataDir = Files.createTempDirectory("lanes-kafka-");
                Path logDir = Files.createDirectory(dataDir.resolve("data"));
                int internalPort = sockets.bind(INTERNAL);
                int controllerPort = sockets.bind(CONTROLLER);
                String listeners = INTERNAL + "://" + LOOPBACK + ":" + internalPort
                        + "," + CONTROLLER + "://" + LOOPBACK + ":" + controllerPort;
                String advertised = INTERNAL + "://" + LOOPBACK + ":" + internalPort;
                String protocolMap = INTERNAL + ":PLAINTEXT," + CONTROLLER + ":PLAINTEXT,"
                        + SASL + ":SASL_PLAINTEXT," + SSL + ":SSL";
                for (int i = 0; i < proxyCount; i++) {
                    String name = proxiedListener(i);
                    int proxiedPort = sockets.bind(name);
                    TcpProxy proxy = TcpProxy.start(LOOPBACK, proxiedPort);
                    proxies.add(proxy);
                    listeners += "," + name + "://" + LOOPBACK + ":" + proxiedPort;
                    advertised += "," + name + "://" + LOOPBACK + ":" + proxy.port();
                    protocolMap += "," + name + ":PLAINTEXT";
                }
                Map<String, String> securityProps = new HashMap<>();
                if (saslPlain) {
                    saslPort = sockets.bind(SASL);
                    listeners += "," + SASL + "://" + LOOPBACK + ":" + saslPort;
                    advertised += "," + SASL + "://" + LOOPBACK + ":" + saslPort;
                    String prefix = "listener.name." + SASL.toLowerCase(Locale.ROOT) + ".";
                    StringBuilder jaas = new StringBuilder("org.apache.kafka.common.security.plain.PlainLoginModule required");
                    SASL_USERS.forEach((user, password) -> jaas.append(" user_").append(user).append("=\"").append(password).append('"'));
                    jaas.append(';');
                    securityProps.put("sasl.enabled.mechanisms", "PLAIN");
                    securityProps.put(prefix + "sasl.enabled.mechanisms", "PLAIN");
                    securityProps.put(prefix + "plain.sasl.jaas.config", jaas.toString());
                }
                if (ssl) {
                    certificate = SelfSignedCertificate.generate(Files.createDirectory(dataDir.resolve("ssl")), "broker");
                    sslPort = sockets.bind(SSL);
                    listeners += "," + SSL + "://" + LOOPBACK + ":" + sslPort;
                    advertised += "," + SSL + "://" + LOOPBACK + ":" + sslPort;
                    String prefix = "listener.name." + SSL.toLowerCase(Locale.ROOT) + ".";
                    securityProps.put(prefix + "ssl.keystore.type", "PKCS12");
                    securityProps.put(prefix + "ssl.keystore.location", certificate.keystore().toString());
                    securityProps.put(prefix + "ssl.keystore.password", certificate.password());
                    securityProps.put(prefix + "ssl.key.password", certificate.password());
                    securityProps.put(prefix + "ssl.client.auth", "none");
                }

                Map<String, String> props = new HashMap<>(serverProperties);
                props.put("process.roles", "broker,controller");
                props.put("node.id", String.valueOf(NODE_ID));
                props.put("controller.quorum.voters", NODE_ID + "@" + LOOPBACK + ":" + controllerPort);
                props.put("controller.listener.names", CONTROLLER);
                props.put("listeners", listeners);
                props.put("advertised.listeners", advertised);
                props.put("listener.security.protocol.map", protocolMap);
                props.putAll(securityProps);
                props.put("inter.broker.listener.name", INTERNAL);
                props.put("log.dirs", logDir.toString());
                KafkaConfig config = new KafkaConfig(props, false);

                new Formatter()
                        .setPrintStream(new PrintStream(OutputStream.nullOutputStream()))
                        .setNodeId(NODE_ID)
                        .setClusterId(Uuid.randomUuid().toString())
                        .setDirectories(List.of(logDir.toString()))
                        .setMetadataLogDirectory(logDir.toString())
                        .setControllerListenerName(CONTROLLER)
                        .run();
                Tuple2<MetaPropertiesEnsemble, BootstrapMetadata> logDirs =
                        KafkaRaftServer.initializeLogDirs(config, log, "");

                Map<String, Integer> listenerPorts = sockets.ports();
                SharedServer sharedServer = newSharedServer(config, logDirs, faultHandlers, sockets);
                controller = new ControllerServer(sharedServer, KafkaRaftServer.configSchema(), logDirs._2());
                broker = new BrokerServer(sharedServer);
                // Controller first, as KafkaRaftServer does; broker startup returns once it is unfenced and accepting.
                controller.startup();
                broker.startup();

                log.info("Kafka broker started on {}{}{}{} in {} ms", LOOPBACK + ":" + internalPort,
                        proxies.isEmpty() ? "" : " (proxied at " + proxies.stream().map(TcpProxy::address).toList() + ")",
                        saslPort < 0 ? "" : " (SASL_PLAINTEXT at " + LOOPBACK + ":" + saslPort + ")",
                        sslPort < 0 ? "" : " (SSL at " + LOOPBACK + ":" + sslPort + ")",
                        (System.nanoTime() - started) / 1_000_000);
                return new KafkaBroker(dataDir, controller, broker, faultHandlers, config, listenerPorts,
                        internalPort, proxies, saslPort, sslPort, certificate);
            } catch (Exception e) {
                proxies.forEach(proxy -> Utils.closeQuietly(proxy, "proxy"));
                try {
                    shutdown(broker, controller);
                } catch (RuntimeException suppressed) {
                    e.addSuppressed(suppressed);
                }
                sockets.closeUnused();
                deleteQuietly(dataDir);
                throw new IllegalStateException("Kafka broker did not start", e);
            }
        }
    }

    // PROXIED, PROXIED2, PROXIED3, ...: the first keeps the name single-proxy brokers have always had.
    private static String proxiedListener(int index) {
        return index == 0 ? PROXIED : PROXIED + (index + 1);
    }

    /**
     * Binds each listener on 127.0.0.1 before the broker starts, so every port is known up front
     * (the controller's goes into {@code controller.quorum.voters}) and no port is chosen then freed.
     */
    private static final class LoopbackSockets implements ServerSocketFactory {
        private final Map<String, ServerSocketChannel> bound = new ConcurrentHashMap<>();
        private final Map<String, Integer> ports = new LinkedHashMap<>();

        int bind(String listener) throws IOException {
            ServerSocketChannel channel = ServerSocketFactory.INSTANCE.openServerSocket(
                    listener, new InetSocketAddress(LOOPBACK, 0), -1, -1);
            bound.put(listener, channel);
            int port = channel.socket().getLocalPort();
            ports.put(listener, port);
            return port;
        }

        /** Binds {@code listener} to a given port again (for a restart), retrying while the old socket lets go of it. */
        void bindAt(String listener, int port) throws IOException {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (true) {
                try {
                    bound.put(listener, ServerSocketFactory.INSTANCE.openServerSocket(
                            listener, new InetSocketAddress(LOOPBACK, port), -1, -1));
                    ports.put(listener, port);
                    return;
                } catch (IOException | RuntimeException e) { // the factory wraps a BindException in a KafkaException
                    if (System.nanoTime() > deadline) {
                        throw new IOException("Could not bind " + listener + " to " + LOOPBACK + ":" + port + " again", e);
                    }
                    sleep(Duration.ofMillis(50));
                }
            }
        }

        /** Every listener bound so far and its port. */
        Map<String, Integer> ports() {
            return Map.copyOf(ports);
        }

        @Override
        public ServerSocketChannel openServerSocket(String listener, InetSocketAddress address, int backlog, int receiveBuffer)
                throws IOException {
            ServerSocketChannel channel = bound.remove(listener);
            // The socket server owns the channel from here; anything else binds where the config says.
            return channel != null ? channel : ServerSocketFactory.INSTANCE.openServerSocket(listener, address, backlog, receiveBuffer);
        }

        void closeUnused() {
            bound.values().forEach(channel -> Utils.closeQuietly(channel, "server socket"));
            bound.clear();
        }
    }

    /** Records broker faults instead of halting the JVM (the production handler calls {@code Exit.halt}). */
    private static final class TestFaultHandlers implements FaultHandlerFactory {
        private final Set<MockFaultHandler> handlers = ConcurrentHashMap.newKeySet();

        @Override
        public FaultHandler build(String name, boolean fatal, Runnable action) {
            MockFaultHandler handler = new MockFaultHandler((fatal ? "fatal " : "non-fatal ") + name);
            handlers.add(handler);
            return handler;
        }

        void rethrowFirst() {
            handlers.forEach(MockFaultHandler::maybeRethrowFirstException);
        }
    }

    private static <T> T await(Future<T> future) {
        return TestKitSupport.await(future, READY_TIMEOUT);
    }
}
