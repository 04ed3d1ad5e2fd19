package dev.lanes.consumer.testing;

import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.lang.ProcessBuilder.Redirect;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.stream.IntStream;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.ListTopicsOptions;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.ElectionType;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.TopicPartitionInfo;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.errors.ElectionNotNeededException;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;
import org.apache.kafka.common.internals.Topic;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.utils.Utils;
import org.apache.kafka.metadata.storage.Formatter;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import static dev.lanes.consumer.testing.TestKitSupport.deleteQuietly;
import static dev.lanes.consumer.testing.TestKitSupport.sleep;

/**
 * A KRaft Kafka cluster of one controller and N brokers (3 by default), each node a child JVM running
 * {@code kafka.Kafka} with this JVM's classpath, listening on 127.0.0.1 only, for tests of what only
 * shows with several brokers: leader and coordinator moves, follower fetching, truncation, rolling
 * restarts.
 *
 * <p>Why processes rather than {@link KafkaBroker}'s in-process servers: {@link #kill(int)} must be a real
 * crash. A child JVM killed with SIGKILL drops its sockets at once (clients see resets, not timeouts) and
 * sends no controlled shutdown, so the controller learns of it only by missed heartbeats, as in
 * production; in-process servers can only be shut down politely. Processes also keep the brokers' few
 * hundred threads and heap out of the test JVM.
 *
 * <p>Nodes: the controller is node {@value #CONTROLLER_ID} ({@code process.roles=controller}, the only
 * voter of a static quorum, as in Kafka's own test kit); brokers are nodes {@code 1..N}
 * ({@code process.roles=broker}), rack {@code rack-<id>} unless the builder says otherwise. Each node has
 * a directory under one temporary root holding its {@code server.properties}, {@code logback.xml},
 * {@code node.log} (the child's stdout and stderr, appended across restarts) and {@code data} (formatted
 * once at start with Kafka's {@link Formatter} in this JVM: {@code kafka-storage format} takes a JVM and about
 * 3 s of CPU per node, the formatter in process under 1 s for all of them). Ports are chosen free at start
 * and kept across restarts.
 *
 * <p>Settings for fast failover (the defaults in brackets), each overridable with
 * {@link Builder#serverProperty}:
 * <ul>
 *   <li>{@code broker.heartbeat.interval.ms=500} [2000], {@code broker.session.timeout.ms=3000} [9000]: the
 *       controller fences a killed broker, takes it out of every ISR and elects new leaders about 3 s after
 *       its last heartbeat. Until then a killed broker is still a leader and still in the ISR, so
 *       {@code acks=all} writes and commits stall for about that long.</li>
 *   <li>{@code offsets.topic.replication.factor}, {@code transaction.state.log.replication.factor},
 *       {@code share.coordinator.state.topic.replication.factor} and {@code default.replication.factor}
 *       = min(3, N); {@code min.insync.replicas} and the internal topics' {@code min.isr} = min(2, N): one
 *       broker may be down and writes go on. Five partitions for each internal topic instead of 50, so
 *       they are created (and their coordinators loaded) quickly.</li>
 *   <li>{@code auto.leader.rebalance.enable=false}: leaders move only when a test moves them (or calls
 *       {@link #electPreferredLeaders()}), never on the controller's five-minute imbalance check.</li>
 *   <li>{@code group.initial.rebalance.delay.ms=0}; KIP-848 groups heartbeat every 500 ms
 *       ({@code group.consumer.heartbeat.interval.ms}, {@code group.consumer.min.heartbeat.interval.ms}) with
 *       a 6 s session ({@code group.consumer.session.timeout.ms}; {@code group.consumer.min.session.timeout.ms}
 *       = 2000 so one group can be given a shorter session).</li>
 * </ul>
 * {@code replica.selector.class} and {@code unclean.leader.election.enable} keep Kafka's defaults; set them
 * through the builder. {@code unclean.leader.election.interval.ms=1000} [300000] so that once a topic allows
 * unclean elections, the controller's periodic check makes them within a second.
 *
 * <p>The builder's server properties go to every node, the controller included: the controller is the one
 * that reads {@code broker.session.timeout.ms} and the unclean election settings, and, since metadata version
 * 4.1 formats clusters with eligible leader replicas (KIP-966) on, it writes its own {@code min.insync.replicas}
 * as the cluster-wide dynamic default on first start, which overrides every broker's static one.
 *
 * <p>Threads and processes: the methods are called from test threads; the lifecycle methods
 * ({@link #stop}, {@link #kill}, {@link #restart}, {@link #close}) are synchronized and block until the
 * node is down or ready. {@link #admin()} and {@link #producer()} are shared clients on their own Kafka
 * client threads, closed by {@link #close()}; they are set up to ride out a killed broker. Every child
 * is killed by {@link #close()} and by a JVM shutdown hook, and halts itself when this JVM dies without
 * running the hook (see {@link NodeMain}).
 */
public final class KafkaCluster implements AutoCloseable {

    /** The controller's node id. */
    public static final int CONTROLLER_ID = 3000;

    private static final Logger log = LoggerFactory.getLogger(KafkaCluster.class);
    private static final String LOOPBACK = KafkaBroker.LOOPBACK;
    private static final String INTERNAL = "INTERNAL";
    private static final String CONTROLLER = "CONTROLLER";
    // Generous: four JVMs starting on two busy cores have taken 27 s.
    private static final Duration READY_TIMEOUT = Duration.ofSeconds(120);
    private static final Duration STOP_TIMEOUT = Duration.ofSeconds(30);
    private static final Duration POLL_INTERVAL = Duration.ofMillis(100);
    private static final int LOG_TAIL_CHARS = 6000;

    private final Path rootDir;
    private final Map<Integer, NodeProcess> nodes;
    private final List<Integer> brokerIds;
    private final Thread shutdownHook;
    private Admin admin;
    private KafkaProducer<byte[], byte[]> producer;
    private boolean closed;

    private KafkaCluster(Path rootDir, Map<Integer, NodeProcess> nodes, List<Integer> brokerIds) {
        this.rootDir = rootDir;
        this.nodes = nodes;
        this.brokerIds = List.copyOf(brokerIds);
        this.shutdownHook = new Thread(this::destroyAll, "kafka-cluster-shutdown");
        Runtime.getRuntime().addShutdownHook(shutdownHook);
    }

    /** Starts a controller and three brokers with the default test settings. */
    public static KafkaCluster start() {
        return builder().start();
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Bootstrap servers listing every broker, running or not. */
    public String bootstrapServers() {
        return String.join(",", brokerIds.stream().map(id -> nodes.get(id).address()).toList());
    }

    /** The brokers' node ids, {@code 1..N}. */
    public List<Integer> brokerIds() {
        return brokerIds;
    }

    /** Whether the node's process is alive (it may still be starting or stopping). */
    public boolean isRunning(int nodeId) {
        return node(nodeId).isAlive();
    }

    /**
     * Stops a node with SIGTERM and waits for its process to exit: a controlled shutdown, in which a broker
     * hands its leaderships over before it goes.
     *
     * @throws IllegalStateException if it did not exit within 30 s (it is then killed)
     */
    public synchronized void stop(int nodeId) {
        NodeProcess node = node(nodeId);
        long started = System.nanoTime();
        if (!node.stop(STOP_TIMEOUT)) {
            throw new IllegalStateException("Node " + nodeId + " did not stop within " + STOP_TIMEOUT
                    + " and was killed\n" + node.logTail());
        }
        log.info("Kafka node {} stopped in {} ms", nodeId, millisSince(started));
    }

    /**
     * Kills a node with SIGKILL and waits for its process to be gone: its sockets close at once and it
     * does no controlled shutdown, so a broker stays registered, a leader and in the ISR until the controller
     * fences it (about {@code broker.session.timeout.ms} later).
     */
    public synchronized void kill(int nodeId) {
        node(nodeId).kill();
        log.info("Kafka node {} killed", nodeId);
    }

    /**
     * Starts a stopped or killed node again (stopping it first if it runs) with the same ports, data and
     * settings, and waits until it has started: a broker is registered, unfenced by the controller and takes
     * requests. A broker killed moments ago takes up to {@code broker.session.timeout.ms} longer: the
     * controller refuses a new registration of the node while the old one's session lives.
     */
    public synchronized void restart(int nodeId) {
        NodeProcess node = node(nodeId);
        if (node.isAlive()) {
            stop(nodeId);
        }
        long started = System.nanoTime();
        node.launch();
        awaitReady(List.of(node));
        log.info("Kafka node {} restarted in {} ms", nodeId, millisSince(started));
    }

    /** The partition's leader, or -1 if it has none, in the metadata of whichever broker {@link #admin()} asks. */
    public int leader(TopicPartition partition) {
        return nodeId(describe(partition).leader());
    }

    private TopicPartitionInfo describe(TopicPartition partition) {
        TopicDescription topic = describeJustCreated(partition.topic());
        return topic.partitions().stream()
                .filter(info -> info.partition() == partition.partition())
                .findFirst()
                .orElseThrow(() -> new IllegalArgumentException("No partition " + partition));
    }

    /**
     * Describes a topic, waiting while the broker Admin asks has not learnt of it yet: createTopics completes once
     * the controller has the topic, a moment before every broker's metadata does.
     */
    private TopicDescription describeJustCreated(String topic) {
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (true) {
            try {
                return await(admin().describeTopics(List.of(topic)).allTopicNames()).get(topic);
            } catch (IllegalStateException e) {
                if (!(rootCause(e) instanceof UnknownTopicOrPartitionException) || System.nanoTime() > deadline) {
                    throw e;
                }
                TestKitSupport.sleep(Duration.ofMillis(50));
            }
        }
    }

    private static Throwable rootCause(Throwable error) {
        Throwable cause = error;
        while (cause.getCause() != null && cause.getCause() != cause) {
            cause = cause.getCause();
        }
        return cause;
    }

    /**
     * The broker coordinating the consumer group (KIP-848 or classic), or -1 if there is none right now: no
     * {@code __consumer_offsets} yet, or its partition for the group has no leader. Computed as FindCoordinator
     * computes it, the leader of {@code __consumer_offsets} partition {@code abs(groupId.hashCode()) % partitions},
     * so it also names the coordinator-to-be of a group nobody has joined. Not asked with
     * {@code describeConsumerGroups}: Admin sends that to the coordinator it looked up and, when that broker is
     * killed, retries the same broker until the call times out instead of looking up again.
     */
    public int coordinator(String groupId) {
        Optional<TopicDescription> offsets = describeIfExists(Topic.GROUP_METADATA_TOPIC_NAME);
        if (offsets.isEmpty()) {
            return -1;
        }
        int partition = Utils.abs(groupId.hashCode()) % offsets.get().partitions().size();
        return offsets.get().partitions().stream()
                .filter(info -> info.partition() == partition)
                .findFirst()
                .map(info -> nodeId(info.leader()))
                .orElse(-1);
    }

    /**
     * Waits until every partition of every topic (internal ones included) has a leader and all its
     * replicas in the ISR: after a restart, until the node has caught up everywhere.
     */
    public void waitForInSync(Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        List<String> behind = List.of();
        while (System.nanoTime() < deadline) {
            try {
                behind = partitionsNotInSync();
                if (behind.isEmpty()) {
                    return;
                }
            } catch (IllegalStateException e) {
                // A topic deleted between the listing and the description, or a broker going away: ask again.
                behind = List.of(String.valueOf(e.getCause()));
            }
            sleep(POLL_INTERVAL);
        }
        throw new IllegalStateException("Partitions not in sync after " + timeout + ": " + behind);
    }

    private List<String> partitionsNotInSync() {
        Set<String> topics = await(admin().listTopics(new ListTopicsOptions().listInternal(true)).names());
        List<String> behind = new ArrayList<>();
        await(admin().describeTopics(topics).allTopicNames()).values().forEach(topic -> {
            for (TopicPartitionInfo partition : topic.partitions()) {
                if (nodeId(partition.leader()) < 0 || partition.isr().size() < partition.replicas().size()) {
                    behind.add(topic.name() + "-" + partition.partition() + " (leader " + nodeId(partition.leader())
                            + ", replicas " + ids(partition.replicas()) + ", isr " + ids(partition.isr()) + ")");
                }
            }
        });
        return behind;
    }

    /**
     * Moves the leadership of every partition to its preferred (first) replica, and waits until the
     * metadata shows it. Partitions already led by it are skipped.
     *
     * @throws IllegalStateException if a partition could not be moved (its preferred replica is down, say)
     */
    public void electPreferredLeaders() {
        Map<TopicPartition, Optional<Throwable>> results =
                await(admin().electLeaders(ElectionType.PREFERRED, null).partitions());
        List<String> failed = new ArrayList<>();
        List<TopicPartition> elected = new ArrayList<>();
        results.forEach((partition, error) -> {
            if (error.isEmpty()) {
                elected.add(partition);
            } else if (!(error.get() instanceof ElectionNotNeededException)) {
                failed.add(partition + ": " + error.get());
            }
        });
        if (!failed.isEmpty()) {
            throw new IllegalStateException("Preferred leader election failed for " + failed);
        }
        // The controller has committed the elections; the brokers' metadata follows a moment later.
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        for (TopicPartition partition : elected) {
            while (!isLedByPreferredReplica(partition)) {
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException(partition + " is not led by its preferred replica after " + READY_TIMEOUT);
                }
                sleep(POLL_INTERVAL);
            }
        }
    }

    private boolean isLedByPreferredReplica(TopicPartition partition) {
        TopicPartitionInfo info = describe(partition);
        return nodeId(info.leader()) == info.replicas().get(0).id();
    }

    /**
     * A shared Admin client bootstrapped to every broker, closed by {@link #close()}. Set up for brokers that
     * go away: requests time out after 5 s and are retried on another broker, and the metadata is refreshed
     * every second, because Admin sends controller requests (CreateTopics, ElectLeaders) to the broker its
     * last metadata named, and retries a killed one until the next refresh.
     */
    public synchronized Admin admin() {
        if (admin == null) {
            admin = Admin.create(Map.of(
                    AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers(),
                    AdminClientConfig.CLIENT_ID_CONFIG, "kafka-cluster-admin",
                    AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, 5000,
                    AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 30000,
                    AdminClientConfig.RETRY_BACKOFF_MS_CONFIG, 100,
                    AdminClientConfig.RETRY_BACKOFF_MAX_MS_CONFIG, 500,
                    AdminClientConfig.METADATA_MAX_AGE_CONFIG, 1000));
        }
        return admin;
    }

    /** Creates a topic and waits until the metadata shows a leader for every partition. */
    public void createTopic(String name, int partitions, int replicationFactor) {
        createTopic(name, partitions, replicationFactor, Map.of());
    }

    /** Creates a topic with topic configs and waits until the metadata shows a leader for every partition. */
    public void createTopic(String name, int partitions, int replicationFactor, Map<String, String> configs) {
        await(admin().createTopics(List.of(new NewTopic(name, partitions, (short) replicationFactor).configs(configs))).all());
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (true) {
            Optional<TopicDescription> topic = describeIfExists(name);
            if (topic.isPresent() && topic.get().partitions().size() == partitions
                    && topic.get().partitions().stream().allMatch(p -> nodeId(p.leader()) >= 0)) {
                return;
            }
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("Topic " + name + " has no leader for every partition after " + READY_TIMEOUT);
            }
            sleep(POLL_INTERVAL);
        }
    }

    private Optional<TopicDescription> describeIfExists(String topic) {
        try {
            return Optional.of(admin().describeTopics(List.of(topic)).allTopicNames()
                    .get(READY_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS).get(topic));
        } catch (ExecutionException e) {
            if (e.getCause() instanceof UnknownTopicOrPartitionException) {
                return Optional.empty();
            }
            throw new IllegalStateException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        } catch (TimeoutException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * A shared byte-array producer with {@code acks=all} (and idempotence), bootstrapped to every broker;
     * closed by {@link #close()}, not by the caller. It retries through a leader move for up to 30 s.
     */
    public synchronized KafkaProducer<byte[], byte[]> producer() {
        if (producer == null) {
            producer = newProducer(Map.of(ProducerConfig.LINGER_MS_CONFIG, 5));
        }
        return producer;
    }

    /** A new byte-array producer like {@link #producer()}, with extra settings; the caller closes it. */
    public KafkaProducer<byte[], byte[]> newProducer(Map<String, Object> overrides) {
        Map<String, Object> config = new HashMap<>();
        config.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers());
        config.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class);
        config.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class);
        config.put(ProducerConfig.ACKS_CONFIG, "all");
        // Also the time the leader waits for the ISR to acknowledge; the ISR shrinks within ~3 s of a kill.
        config.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, 5000);
        config.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, 30000);
        config.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, 30000);
        config.put(ProducerConfig.RETRY_BACKOFF_MS_CONFIG, 100);
        config.put(ProducerConfig.RETRY_BACKOFF_MAX_MS_CONFIG, 500);
        config.putAll(overrides);
        return new KafkaProducer<>(config);
    }

    /**
     * Sends {@code count} records to one partition through {@link #producer()} and waits until all are
     * acknowledged by the in-sync replicas. Keys and values as {@link KafkaBroker#produce}'s:
     * {@link KafkaBroker#key(int)}, {@link KafkaBroker#value(int, int)}.
     */
    public void produce(String topic, int partition, int count, int valueSize) {
        KafkaProducer<byte[], byte[]> shared = producer();
        List<Future<RecordMetadata>> sends = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            sends.add(shared.send(new ProducerRecord<>(topic, partition, KafkaBroker.key(i), KafkaBroker.value(i, valueSize))));
        }
        shared.flush();
        sends.forEach(KafkaCluster::await);
    }

    /** Closes the clients, kills every node and deletes the cluster's files. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        long started = System.nanoTime();
        // Bounded: a producer with records for a dead leader would otherwise wait out its delivery timeout.
        if (producer != null) {
            producer.close(Duration.ofSeconds(5));
        }
        if (admin != null) {
            admin.close(Duration.ofSeconds(5));
        }
        destroyAll();
        try {
            Runtime.getRuntime().removeShutdownHook(shutdownHook);
        } catch (IllegalStateException shuttingDown) {
            // The hook is running or about to.
        }
        log.info("Kafka cluster closed in {} ms", millisSince(started));
    }

    // Also the shutdown hook: no clients, no locks, just the processes and the files.
    private void destroyAll() {
        nodes.values().forEach(NodeProcess::kill);
        deleteQuietly(rootDir);
    }

    private NodeProcess node(int nodeId) {
        NodeProcess node = nodes.get(nodeId);
        if (node == null) {
            throw new IllegalArgumentException("No node " + nodeId + "; brokers are " + brokerIds
                    + " and the controller is " + CONTROLLER_ID);
        }
        return node;
    }

    /**
     * Waits until each node is ready (see {@link #restart}), failing fast with the end of its log if its
     * process exits.
     */
    private static void awaitReady(Collection<NodeProcess> starting) {
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        List<NodeProcess> waiting = new ArrayList<>(starting);
        while (!waiting.isEmpty()) {
            for (NodeProcess node : waiting) {
                if (!node.isAlive()) {
                    throw new IllegalStateException("Kafka node " + node.id + " exited with " + node.exitValue()
                            + " while starting\n" + node.logTail());
                }
            }
            waiting.removeIf(NodeProcess::hasStarted);
            if (waiting.isEmpty()) {
                return;
            }
            if (System.nanoTime() > deadline) {
                NodeProcess node = waiting.get(0);
                throw new IllegalStateException("Kafka node " + node.id + " not ready after " + READY_TIMEOUT
                        + "\n" + node.logTail());
            }
            sleep(POLL_INTERVAL);
        }
    }

    private static int nodeId(Node node) {
        return node == null || node.isEmpty() ? -1 : node.id();
    }

    private static List<Integer> ids(List<Node> nodes) {
        return nodes.stream().map(KafkaCluster::nodeId).toList();
    }

    /** Options for a cluster; {@link #start()} formats fresh temporary directories and starts every node. */
    public static final class Builder {
        private int brokers = 3;
        private final Map<Integer, String> racks = new HashMap<>();
        private final Map<String, String> serverProperties = new LinkedHashMap<>();
        private final Map<Integer, Map<String, String>> nodeProperties = new HashMap<>();

        private Builder() {
        }

        /** The number of brokers, {@code 1..N} (3 by default). */
        public Builder brokers(int count) {
            if (count < 1) {
                throw new IllegalArgumentException("A cluster needs at least one broker");
            }
            brokers = count;
            return this;
        }

        /** The broker's {@code broker.rack} ({@code rack-<nodeId>} by default; null for none). */
        public Builder rack(int nodeId, String rack) {
            racks.put(nodeId, rack);
            return this;
        }

        /** The racks of brokers {@code 1, 2, ...} in order. */
        public Builder racks(String... racks) {
            for (int i = 0; i < racks.length; i++) {
                rack(i + 1, racks[i]);
            }
            return this;
        }

        /**
         * Sets (or overrides) a server property of every node, the controller included. Listener, quorum,
         * role, node id and log directory properties are owned by this class.
         */
        public Builder serverProperty(String key, Object value) {
            // As strings: KafkaConfig rejects an Integer where it expects a short.
            serverProperties.put(key, String.valueOf(value));
            return this;
        }

        /** Sets (or overrides) a server property of one node, after those set for every node. */
        public Builder serverProperty(int nodeId, String key, Object value) {
            nodeProperties.computeIfAbsent(nodeId, id -> new LinkedHashMap<>()).put(key, String.valueOf(value));
            return this;
        }

        public KafkaCluster start() {
            long started = System.nanoTime();
            List<Integer> brokerIds = IntStream.rangeClosed(1, brokers).boxed().toList();
            for (int nodeId : racks.keySet()) {
                if (!brokerIds.contains(nodeId)) {
                    throw new IllegalArgumentException("A rack for node " + nodeId + ", which is not a broker of " + brokerIds);
                }
            }
            for (int nodeId : nodeProperties.keySet()) {
                if (nodeId != CONTROLLER_ID && !brokerIds.contains(nodeId)) {
                    throw new IllegalArgumentException("Server properties for node " + nodeId + ", which is neither a broker of "
                            + brokerIds + " nor the controller " + CONTROLLER_ID);
                }
            }
            Path rootDir = null;
            Map<Integer, NodeProcess> nodes = new LinkedHashMap<>();
            try {
                rootDir = Files.createTempDirectory("lanes-kafka-cluster-");
                List<Integer> nodeIds = new ArrayList<>();
                nodeIds.add(CONTROLLER_ID);
                nodeIds.addAll(brokerIds);
                Map<Integer, Integer> ports = freePorts(nodeIds);
                String voters = CONTROLLER_ID + "@" + LOOPBACK + ":" + ports.get(CONTROLLER_ID);
                String clusterId = Uuid.randomUuid().toString();
                for (int nodeId : nodeIds) {
                    Path dir = Files.createDirectory(rootDir.resolve("node-" + nodeId));
                    Map<String, String> props = nodeProperties(nodeId, ports.get(nodeId), voters, dir.resolve("data"));
                    nodes.put(nodeId, NodeProcess.create(nodeId, dir, ports.get(nodeId), props, clusterId));
                }
                KafkaCluster cluster = new KafkaCluster(rootDir, nodes, brokerIds);
                try {
                    // All at once: the brokers retry the controller until it is up.
                    nodes.values().forEach(NodeProcess::launch);
                    awaitReady(nodes.values());
                } catch (RuntimeException e) {
                    cluster.close();
                    throw e;
                }
                log.info("Kafka cluster of {} brokers started at {} in {} ms", brokers, cluster.bootstrapServers(),
                        millisSince(started));
                return cluster;
            } catch (IOException e) {
                nodes.values().forEach(NodeProcess::kill);
                deleteQuietly(rootDir);
                throw new IllegalStateException("Kafka cluster did not start", e);
            }
        }

        private Map<String, String> nodeProperties(int nodeId, int port, String voters, Path dataDir) {
            int replicationFactor = Math.min(3, brokers);
            int minInSync = Math.min(2, brokers);
            Map<String, String> props = new LinkedHashMap<>();
            props.put("broker.heartbeat.interval.ms", "500");
            props.put("broker.session.timeout.ms", "3000");
            props.put("default.replication.factor", String.valueOf(replicationFactor));
            props.put("min.insync.replicas", String.valueOf(minInSync));
            props.put("offsets.topic.replication.factor", String.valueOf(replicationFactor));
            props.put("offsets.topic.num.partitions", "5");
            props.put("transaction.state.log.replication.factor", String.valueOf(replicationFactor));
            props.put("transaction.state.log.min.isr", String.valueOf(minInSync));
            props.put("transaction.state.log.num.partitions", "5");
            props.put("share.coordinator.state.topic.replication.factor", String.valueOf(replicationFactor));
            props.put("share.coordinator.state.topic.min.isr", String.valueOf(minInSync));
            props.put("share.coordinator.state.topic.num.partitions", "5");
            props.put("auto.leader.rebalance.enable", "false");
            props.put("unclean.leader.election.interval.ms", "1000");
            props.put("group.initial.rebalance.delay.ms", "0");
            props.put("group.consumer.heartbeat.interval.ms", "500");
            props.put("group.consumer.min.heartbeat.interval.ms", "500");
            props.put("group.consumer.session.timeout.ms", "6000");
            props.put("group.consumer.min.session.timeout.ms", "2000");
            // The log cleaner's default 128 MiB dedupe buffer is heap a small broker JVM does not have.
            props.put("log.cleaner.dedupe.buffer.size", String.valueOf(2 * 1024 * 1024));
            props.putAll(serverProperties);
            props.putAll(nodeProperties.getOrDefault(nodeId, Map.of()));

            props.put("node.id", String.valueOf(nodeId));
            props.put("controller.quorum.voters", voters);
            props.put("controller.listener.names", CONTROLLER);
            props.put("listener.security.protocol.map", INTERNAL + ":PLAINTEXT," + CONTROLLER + ":PLAINTEXT");
            props.put("log.dirs", dataDir.toString());
            if (nodeId == CONTROLLER_ID) {
                props.put("process.roles", "controller");
                props.put("listeners", CONTROLLER + "://" + LOOPBACK + ":" + port);
            } else {
                props.put("process.roles", "broker");
                props.put("listeners", INTERNAL + "://" + LOOPBACK + ":" + port);
                props.put("advertised.listeners", INTERNAL + "://" + LOOPBACK + ":" + port);
                props.put("inter.broker.listener.name", INTERNAL);
                String rack = racks.containsKey(nodeId) ? racks.get(nodeId) : "rack-" + nodeId;
                if (rack != null) {
                    props.put("broker.rack", rack);
                }
            }
            return props;
        }
    }

    /**
     * Free ports on 127.0.0.1, one per node, all held until all are chosen so no two nodes get the same.
     * Chosen by the kernel (bind to port 0): since Linux 4.6 those are even ports, while outgoing connections
     * take odd ones first, so a client connection is unlikely to sit on a node's port while it restarts.
     */
    private static Map<Integer, Integer> freePorts(List<Integer> nodeIds) throws IOException {
        List<ServerSocket> sockets = new ArrayList<>();
        try {
            Map<Integer, Integer> ports = new HashMap<>();
            for (int nodeId : nodeIds) {
                ServerSocket socket = new ServerSocket(0, 1, InetAddress.getByName(LOOPBACK));
                sockets.add(socket);
                ports.put(nodeId, socket.getLocalPort());
            }
            return ports;
        } finally {
            sockets.forEach(socket -> Utils.closeQuietly(socket, "port probe"));
        }
    }

    /**
     * One node: its files, its fixed port, and its current child process (replaced by each {@link #launch()}).
     * Process methods are thread-safe, so the shutdown hook may kill a process another thread is starting.
     */
    private static final class NodeProcess {
        final int id;
        final int port;
        private final Path dir;
        private final Path config;
        private final Path logFile;
        private volatile Process process;
        // How far into the log the current launch's output has been searched for its "started" line.
        private long scanned;

        private NodeProcess(int id, int port, Path dir) {
            this.id = id;
            this.port = port;
            this.dir = dir;
            this.config = dir.resolve("server.properties");
            this.logFile = dir.resolve("node.log");
        }

        /** Writes the node's files and formats its data directory. */
        static NodeProcess create(int id, Path dir, int port, Map<String, String> props, String clusterId) throws IOException {
            NodeProcess node = new NodeProcess(id, port, dir);
            List<String> lines = new ArrayList<>();
            props.forEach((key, value) -> lines.add(key + "=" + value));
            Files.write(node.config, lines);
            // Everything at INFO to the child's stdout (node.log) but the config dumps of every start.
            Files.writeString(dir.resolve("logback.xml"), """
                    <configuration>
                      <appender name="OUT" class="ch.qos.logback.core.ConsoleAppender">
                        <encoder><pattern>%d{HH:mm:ss.SSS} %-5level [%thread] %logger{36} - %msg%n</pattern></encoder>
                      </appender>
                      <logger name="org.apache.kafka.common.config.AbstractConfig" level="WARN"/>
                      <root level="INFO"><appender-ref ref="OUT"/></root>
                    </configuration>
                    """);
            String dataDir = props.get("log.dirs");
            try {
                new Formatter()
                        .setPrintStream(new PrintStream(OutputStream.nullOutputStream()))
                        .setNodeId(id)
                        .setClusterId(clusterId)
                        .setDirectories(List.of(dataDir))
                        .setMetadataLogDirectory(dataDir)
                        .setControllerListenerName(CONTROLLER)
                        .run();
            } catch (Exception e) {
                throw new IOException("Could not format " + dataDir + " for node " + id, e);
            }
            return node;
        }

        String address() {
            return LOOPBACK + ":" + port;
        }

        void launch() {
            List<String> command = List.of(
                    Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                    "-Xmx384m",
                    // Serial GC and C1 only: class loading and compiling, not throughput, is what a test broker
                    // spends its CPU on; on 2 cores C1 alone starts a cluster in about 2/3 of the time.
                    "-XX:+UseSerialGC",
                    "-XX:TieredStopAtLevel=1",
                    "-XX:+ExitOnOutOfMemoryError",
                    "-Djava.awt.headless=true",
                    "-Dlogback.configurationFile=" + dir.resolve("logback.xml"),
                    "-cp", System.getProperty("java.class.path"),
                    NodeMain.class.getName(),
                    config.toString());
            try {
                scanned = Files.exists(logFile) ? Files.size(logFile) : 0;
                process = new ProcessBuilder(command)
                        .redirectErrorStream(true)
                        .redirectOutput(Redirect.appendTo(logFile.toFile()))
                        .start();
            } catch (IOException e) {
                throw new IllegalStateException("Could not start Kafka node " + id, e);
            }
        }

        /**
         * Whether the current launch has logged that it started. {@code KafkaRaftServer} logs it once startup is
         * done: a broker's only after the controller has unfenced it and its listener takes requests.
         */
        boolean hasStarted() {
            String started = "[KafkaRaftServer nodeId=" + id + "] Kafka Server started";
            try (FileChannel log = FileChannel.open(logFile, StandardOpenOption.READ)) {
                long size = log.size();
                if (size <= scanned) {
                    return false;
                }
                ByteBuffer unread = ByteBuffer.allocate((int) (size - scanned));
                while (unread.hasRemaining() && log.read(unread, scanned + unread.position()) > 0) {
                    // Reads on until the buffer is full or the end of the file.
                }
                if (new String(unread.array(), 0, unread.position(), StandardCharsets.UTF_8).contains(started)) {
                    return true;
                }
                // Overlapping by the marker's length: a line may have been half written.
                scanned = Math.max(scanned, scanned + unread.position() - started.length());
                return false;
            } catch (IOException e) {
                return false; // no log yet
            }
        }

        boolean isAlive() {
            Process current = process;
            return current != null && current.isAlive();
        }

        int exitValue() {
            return process.exitValue();
        }

        /** SIGTERM, then waits; true if it exited in time, else SIGKILL and false. */
        boolean stop(Duration timeout) {
            Process current = process;
            if (current == null || !current.isAlive()) {
                return true;
            }
            // SIGTERM through the handle: Process.destroy() also closes the child's stdin, which NodeMain
            // takes for the death of this JVM and halts, skipping the controlled shutdown.
            current.toHandle().destroy();
            if (waitFor(current, timeout)) {
                return true;
            }
            kill();
            return false;
        }

        /** SIGKILL, and waits until the process is gone (and its sockets with it). */
        void kill() {
            Process current = process;
            if (current != null && current.isAlive()) {
                current.destroyForcibly();
                waitFor(current, STOP_TIMEOUT);
            }
        }

        String logTail() {
            try {
                String text = Files.readString(logFile, StandardCharsets.UTF_8);
                return "--- end of " + logFile + " ---\n"
                        + (text.length() <= LOG_TAIL_CHARS ? text : text.substring(text.length() - LOG_TAIL_CHARS));
            } catch (IOException e) {
                return "(no log at " + logFile + ": " + e + ")";
            }
        }

        private static boolean waitFor(Process process, Duration timeout) {
            try {
                return process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return !process.isAlive();
            }
        }
    }

    /**
     * The main class of a node's JVM: {@code kafka.Kafka} plus a thread that halts the node when its stdin
     * (a pipe from this JVM) closes. That happens when this JVM dies in a way that runs no shutdown hook,
     * SIGKILL or a crash, which would otherwise leave brokers running with their ports and heap taken (their
     * files do stay behind in the temporary directory).
     */
    static final class NodeMain {
        private NodeMain() {
        }

        public static void main(String[] args) {
            Thread parentWatch = new Thread(() -> {
                try {
                    while (System.in.read() >= 0) {
                        // Nothing is ever written; only the end of the stream matters.
                    }
                } catch (IOException e) {
                    // As good as the end of the stream.
                }
                Runtime.getRuntime().halt(1);
            }, "parent-watch");
            parentWatch.setDaemon(true);
            parentWatch.start();
            kafka.Kafka.main(args);
        }
    }

    private static long millisSince(long nanoTime) {
        return (System.nanoTime() - nanoTime) / 1_000_000;
    }

    private static <T> T await(Future<T> future) {
        return TestKitSupport.await(future, READY_TIMEOUT);
    }
}
