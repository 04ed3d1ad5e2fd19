package dev.lanes.benchmarks;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * One KRaft node of the benchmark's cluster in a child JVM, so that its CPU is not mixed with the consumers'.
 * Keeps its data in its own directory, and is stopped (SIGTERM, then SIGKILL) and cleaned up by
 * {@link #close()}, which a shutdown hook also calls. {@link BrokerCluster} chooses the node's settings and
 * waits for the nodes to form a cluster.
 */
final class BrokerProcess implements AutoCloseable {

    private final int nodeId;
    private final Path dir;
    private final Process process;
    private final Thread shutdownHook;
    private volatile boolean closed;

    private BrokerProcess(int nodeId, Path dir, Process process) {
        this.nodeId = nodeId;
        this.dir = dir;
        this.process = process;
        this.shutdownHook = new Thread(this::stop, "bench-broker-shutdown-" + nodeId);
        Runtime.getRuntime().addShutdownHook(shutdownHook);
    }

    /**
     * Writes {@code serverProperties} to {@code dir}, formats the node's storage for {@code clusterId} and starts
     * {@code kafka.Kafka} with this JVM's classpath (which holds kafka_2.13 and logback). Returns once the process
     * runs, not once it serves.
     */
    static BrokerProcess launch(int nodeId, Path dir, List<String> serverProperties, String clusterId, String heap)
            throws IOException, InterruptedException {
        Files.createDirectories(dir);
        Path properties = dir.resolve("server.properties");
        Files.write(properties, serverProperties);
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
        List<String> jvm = List.of(java, "-Xms" + heap, "-Xmx" + heap, "-XX:+UseG1GC",
                "-Djava.awt.headless=true", "-Dlogback.configurationFile=" + logback, "-cp", classpath);

        List<String> format = new ArrayList<>(jvm);
        format.addAll(List.of("kafka.tools.StorageTool", "format", "-t", clusterId, "-c", properties.toString()));
        Process formatting = new ProcessBuilder(format).redirectErrorStream(true)
                .redirectOutput(dir.resolve("format.out").toFile()).start();
        if (!formatting.waitFor(60, TimeUnit.SECONDS) || formatting.exitValue() != 0) {
            formatting.destroyForcibly();
            throw new IllegalStateException("kafka.tools.StorageTool format of node " + nodeId + " failed:\n"
                    + outputTail(dir.resolve("format.out")));
        }

        List<String> server = new ArrayList<>(jvm);
        server.addAll(List.of("kafka.Kafka", properties.toString()));
        Process process = new ProcessBuilder(server).redirectErrorStream(true)
                .redirectOutput(dir.resolve("broker.out").toFile()).start();
        return new BrokerProcess(nodeId, dir, process);
    }

    int nodeId() {
        return nodeId;
    }

    long pid() {
        return process.pid();
    }

    /** Throws, with the end of the node's output, when its process has exited. */
    void checkAlive() {
        if (!process.isAlive()) {
            throw new IllegalStateException("broker node " + nodeId + " exited with " + process.exitValue() + ":\n"
                    + outputTail(dir.resolve("broker.out")));
        }
    }

    /** The end of the node's own output, for an error message. */
    String outputTail() {
        return outputTail(dir.resolve("broker.out"));
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
    static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
            socket.setReuseAddress(true);
            return socket.getLocalPort();
        }
    }

    private static String outputTail(Path file) {
        try {
            String text = Files.exists(file) ? Files.readString(file) : "";
            return text.length() <= 4000 ? text : text.substring(text.length() - 4000);
        } catch (IOException e) {
            return "(" + file + " unreadable: " + e + ")";
        }
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
