package dev.lanes.benchmarks;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.common.Uuid;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * A single-node KRaft broker (combined broker and controller) in a child JVM, so that its CPU is not mixed
 * with the consumers'. Listens on 127.0.0.1 on free ports, keeps its data in a temporary directory, and is
 * stopped (SIGTERM, then SIGKILL) and cleaned up by {@link #close()}, which a shutdown hook also calls.
 */
public final class BrokerProcess implements AutoCloseable {

    private static final long READY_TIMEOUT_MS = 60_000;

    private final Path dir;
    private final int port;
    private final Process process;
    private final Thread shutdownHook;
    private volatile boolean closed;

    private BrokerProcess(Path dir, int port, Process process) {
        this.dir = dir;
        this.port = port;
        this.process = process;
        this.shutdownHook = new Thread(this::stop, "bench-broker-shutdown");
        Runtime.getRuntime().addShutdownHook(shutdownHook);
    }

    /**
     * Formats the storage and starts the broker with this JVM's classpath (which holds kafka_2.13 and
     * logback), then waits until it answers DescribeCluster.
     *
     * @param extraProperties broker settings added to (or overriding) the single-node defaults
     */
    public static BrokerProcess start(Map<String, String> extraProperties, String brokerHeap) throws Exception {
        Path dir = Files.createTempDirectory("lanes-bench-broker-");
        int port = freePort();
        int controllerPort = freePort();
        List<String> lines = new ArrayList<>(List.of(
                "process.roles=broker,controller",
                "node.id=1",
                "controller.quorum.voters=1@127.0.0.1:" + controllerPort,
                "controller.listener.names=CONTROLLER",
                "listeners=PLAINTEXT://127.0.0.1:" + port + ",CONTROLLER://127.0.0.1:" + controllerPort,
                "advertised.listeners=PLAINTEXT://127.0.0.1:" + port,
                "inter.broker.listener.name=PLAINTEXT",
                "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
                "log.dirs=" + dir.resolve("data"),
                "num.partitions=6",
                "auto.create.topics.enable=false",
                "offsets.topic.replication.factor=1",
                "offsets.topic.num.partitions=1",
                "transaction.state.log.replication.factor=1",
                "transaction.state.log.min.isr=1",
                "share.coordinator.state.topic.replication.factor=1",
                "share.coordinator.state.topic.min.isr=1",
                "group.initial.rebalance.delay.ms=0"));
        extraProperties.forEach((key, value) -> lines.add(key + "=" + value));
        Path properties = dir.resolve("server.properties");
        Files.write(properties, lines);
        Path logback = dir.resolve("broker-logback.xml");
        Files.writeString(logback, """
                <configuration>
                  <appender name="FILE" class="ch.qos.logback.core.FileAppender">
                    <file>%s</file>
                    <encoder><pattern>%%d{HH:mm:ss.SSS} %%-5level [%%thread] %%logger{36} - %%msg%%n</pattern></encoder>
                  </appender>
                  <logger name="org.apache.kafka" level="WARN"/>
                  <logger name="kafka" level="WARN"/>
                  <logger name="state.change.logger" level="WARN"/>
                  <root level="INFO"><appender-ref ref="FILE"/></root>
                </configuration>
                """.formatted(dir.resolve("broker.log")));

        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        String classpath = System.getProperty("java.class.path");
        List<String> jvm = List.of(java, "-Xms" + brokerHeap, "-Xmx" + brokerHeap, "-XX:+UseG1GC",
                "-Djava.awt.headless=true", "-Dlogback.configurationFile=" + logback, "-cp", classpath);

        List<String> format = new ArrayList<>(jvm);
        format.addAll(List.of("kafka.tools.StorageTool", "format", "-t", Uuid.randomUuid().toString(),
                "-c", properties.toString()));
        Process formatting = new ProcessBuilder(format).redirectErrorStream(true)
                .redirectOutput(dir.resolve("format.out").toFile()).start();
        if (!formatting.waitFor(60, TimeUnit.SECONDS) || formatting.exitValue() != 0) {
            formatting.destroyForcibly();
            String out = Files.exists(dir.resolve("format.out")) ? Files.readString(dir.resolve("format.out")) : "";
            deleteRecursively(dir);
            throw new IllegalStateException("kafka.tools.StorageTool format failed:\n" + out);
        }

        List<String> server = new ArrayList<>(jvm);
        server.addAll(List.of("kafka.Kafka", properties.toString()));
        Process process = new ProcessBuilder(server).redirectErrorStream(true)
                .redirectOutput(dir.resolve("broker.out").toFile()).start();
        BrokerProcess broker = new BrokerProcess(dir, port, process);
        try {
            broker.awaitReady();
        } catch (Exception e) {
            String out = Files.exists(dir.resolve("broker.out")) ? Files.readString(dir.resolve("broker.out")) : "";
            broker.close();
            throw new IllegalStateException("broker did not start: " + e + "\n" + tail(out, 4000), e);
        }
        return broker;
    }

    private void awaitReady() throws Exception {
        long deadline = System.currentTimeMillis() + READY_TIMEOUT_MS;
        try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers(),
                AdminClientConfig.CLIENT_ID_CONFIG, "bench-admin-ready"))) {
            while (true) {
                if (!process.isAlive()) {
                    throw new IllegalStateException("broker process exited with " + process.exitValue());
                }
                try {
                    if (!admin.describeCluster().nodes().get(2, TimeUnit.SECONDS).isEmpty()) {
                        return;
                    }
                } catch (Exception e) {
                    if (System.currentTimeMillis() > deadline) {
                        throw e;
                    }
                }
                Thread.sleep(200);
            }
        }
    }

    public String bootstrapServers() {
        return "127.0.0.1:" + port;
    }

    public long pid() {
        return process.pid();
    }

    public Path directory() {
        return dir;
    }

    @Override
    public void close() {
        stop();
        try {
            Runtime.getRuntime().removeShutdownHook(shutdownHook);
        } catch (IllegalStateException shuttingDown) {
            // Called from the hook itself or during shutdown.
        }
    }

    private synchronized void stop() {
        if (closed) {
            return;
        }
        closed = true;
        process.destroy();
        try {
            if (!process.waitFor(15, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                process.waitFor(10, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
        }
        deleteRecursively(dir);
    }

    /** A port free on 127.0.0.1 right now (and, once returned, with nothing listening on it). */
    public static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
            socket.setReuseAddress(true);
            return socket.getLocalPort();
        }
    }

    private static String tail(String text, int chars) {
        return text.length() <= chars ? text : text.substring(text.length() - chars);
    }

    static void deleteRecursively(Path dir) {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> paths = Files.walk(dir)) {
            paths.sorted(Comparator.reverseOrder()).forEach(path -> {
                try {
                    Files.deleteIfExists(path);
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            });
        } catch (IOException | UncheckedIOException e) {
            System.err.println("could not delete " + dir + ": " + e);
        }
    }
}
