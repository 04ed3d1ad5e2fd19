package dev.lanes.consumer.testing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.tuple;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.TopicPartitionInfo;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** One cluster for the class; every test leaves all brokers running and in sync for the next. */
class KafkaClusterIT {

    private static final Duration IN_SYNC_TIMEOUT = Duration.ofSeconds(30);

    private static KafkaCluster cluster;

    @BeforeAll
    static void startCluster() {
        long started = System.nanoTime();
        cluster = KafkaCluster.builder().rack(3, "eu-west-1c").start();
        System.out.printf("KafkaClusterIT: cluster started in %d ms%n", (System.nanoTime() - started) / 1_000_000);
    }

    @AfterAll
    static void closeCluster() {
        if (cluster != null) {
            cluster.close();
        }
    }

    @AfterEach
    void restartEveryBrokerThatIsDown() {
        for (int broker : cluster.brokerIds()) {
            if (!cluster.isRunning(broker)) {
                cluster.restart(broker);
            }
        }
        cluster.waitForInSync(IN_SYNC_TIMEOUT);
    }

    @Test
    void everyBrokerListensOnLoopbackOnlyAndReportsItsRack() throws Exception {
        Collection<Node> nodes = cluster.admin().describeCluster().nodes().get();

        assertThat(nodes).extracting(Node::id, Node::host, Node::rack).containsExactlyInAnyOrder(
                tuple(1, "127.0.0.1", "rack-1"),
                tuple(2, "127.0.0.1", "rack-2"),
                tuple(3, "127.0.0.1", "eu-west-1c"));
        assertThat(cluster.bootstrapServers().split(",")).hasSize(3).allSatisfy(server ->
                assertThat(server).startsWith("127.0.0.1:"));

        // What the sockets are bound to, not only what the brokers advertise.
        assumeTrue(Files.isReadable(Path.of("/proc/net/tcp")), "no /proc/net/tcp to read listening sockets from");
        for (Node node : nodes) {
            assertThat(listeningAddresses(node.port())).containsExactly("127.0.0.1");
        }
    }

    @Test
    void killingTheLeaderMovesLeadershipAndAcksAllWritesGoOnWithTwoInSyncReplicas() throws Exception {
        String topic = "kill-leader";
        TopicPartition partition = new TopicPartition(topic, 0);
        cluster.createTopic(topic, 1, 3);
        cluster.produce(topic, 0, 10, 100);
        int killed = cluster.leader(partition);

        cluster.kill(killed);
        long killedAt = System.nanoTime();

        assertThat(cluster.isRunning(killed)).isFalse();
        await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(50)).until(() -> {
            int leader = cluster.leader(partition);
            return leader >= 0 && leader != killed;
        });
        System.out.printf("KafkaClusterIT: new leader %d %d ms after leader %d was killed%n",
                cluster.leader(partition), (System.nanoTime() - killedAt) / 1_000_000, killed);
        assertThat(isr(partition)).hasSize(2).doesNotContain(killed);
        cluster.produce(topic, 0, 10, 100);

        long restartedAt = System.nanoTime();
        cluster.restart(killed);
        cluster.waitForInSync(IN_SYNC_TIMEOUT);
        System.out.printf("KafkaClusterIT: killed broker %d restarted and in sync in %d ms%n",
                killed, (System.nanoTime() - restartedAt) / 1_000_000);

        assertThat(cluster.isRunning(killed)).isTrue();
        assertThat(isr(partition)).containsExactlyInAnyOrderElementsOf(cluster.brokerIds());
    }

    @Test
    void aStoppedBrokerHandsOverItsLeadershipAndTakesItBackAfterARestartAndAPreferredElection() {
        String topic = "stop-broker";
        TopicPartition partition = new TopicPartition(topic, 0);
        cluster.createTopic(topic, 3, 3);
        int stopped = cluster.leader(partition);

        long stoppingAt = System.nanoTime();
        cluster.stop(stopped);
        System.out.printf("KafkaClusterIT: broker %d stopped in %d ms%n", stopped, (System.nanoTime() - stoppingAt) / 1_000_000);

        assertThat(cluster.isRunning(stopped)).isFalse();
        // In a controlled shutdown the controller moves the leaderships before the broker exits.
        await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(50)).until(() -> {
            int leader = cluster.leader(partition);
            return leader >= 0 && leader != stopped;
        });
        System.out.printf("KafkaClusterIT: new leader %d %d ms after broker %d began to stop%n",
                cluster.leader(partition), (System.nanoTime() - stoppingAt) / 1_000_000, stopped);
        cluster.produce(topic, 0, 10, 100);

        cluster.restart(stopped);
        cluster.waitForInSync(IN_SYNC_TIMEOUT);
        // No automatic rebalance brings it back: only the election below.
        assertThat(cluster.leader(partition)).isNotEqualTo(stopped);
        cluster.electPreferredLeaders();

        assertThat(cluster.leader(partition)).isEqualTo(stopped);
    }

    @Test
    void aKip848GroupFindsItsCoordinatorAmongTheBrokersAndAnotherOneWhenThatOneIsKilled() throws Exception {
        String topic = "grouped";
        String group = "cluster-group";
        cluster.createTopic(topic, 2, 3);

        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(Map.of(
                ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, cluster.bootstrapServers(),
                ConsumerConfig.GROUP_ID_CONFIG, group,
                ConsumerConfig.GROUP_PROTOCOL_CONFIG, "consumer",
                ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class,
                ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class))) {
            consumer.subscribe(List.of(topic));
            long joining = System.nanoTime();
            await().atMost(Duration.ofSeconds(30)).until(() -> {
                consumer.poll(Duration.ofMillis(100));
                return consumer.assignment().size() == 2;
            });
            System.out.printf("KafkaClusterIT: group member assigned in %d ms%n", (System.nanoTime() - joining) / 1_000_000);

            int coordinator = cluster.coordinator(group);
            assertThat(cluster.brokerIds()).contains(coordinator);
            assertThat(coordinatorDescribed(group)).isEqualTo(coordinator);

            cluster.kill(coordinator);
            long killedAt = System.nanoTime();
            await().atMost(Duration.ofSeconds(15)).until(() -> {
                consumer.poll(Duration.ofMillis(100));
                int current = cluster.coordinator(group);
                return current >= 0 && current != coordinator;
            });
            System.out.printf("KafkaClusterIT: group moved from coordinator %d to %d in %d ms%n",
                    coordinator, cluster.coordinator(group), (System.nanoTime() - killedAt) / 1_000_000);
            // For about a second after a move the new coordinator answers GROUP_ID_NOT_FOUND for the group (4.1.2).
            await().atMost(Duration.ofSeconds(10)).ignoreExceptions().untilAsserted(() ->
                    assertThat(coordinatorDescribed(group)).isEqualTo(cluster.coordinator(group)));
            consumer.poll(Duration.ofMillis(100));
            assertThat(consumer.assignment()).hasSize(2);
        }
        assertThat(cluster.brokerIds()).contains(cluster.coordinator("a-group-nobody-joined"));
    }

    // What the brokers say, to check the cluster's computed answer against.
    private static int coordinatorDescribed(String group) throws Exception {
        return cluster.admin().describeConsumerGroups(List.of(group)).describedGroups().get(group)
                .get(30, TimeUnit.SECONDS).coordinator().id();
    }

    private static List<Integer> isr(TopicPartition partition) throws Exception {
        TopicPartitionInfo info = cluster.admin().describeTopics(List.of(partition.topic())).allTopicNames().get()
                .get(partition.topic()).partitions().get(partition.partition());
        return info.isr().stream().map(Node::id).toList();
    }

    /** The local addresses of the sockets listening on {@code port}, from the kernel's tables ("::" for the IPv6 wildcard). */
    private static List<String> listeningAddresses(int port) throws IOException {
        List<String> addresses = new ArrayList<>();
        for (String table : List.of("/proc/net/tcp", "/proc/net/tcp6")) {
            Path path = Path.of(table);
            if (!Files.isReadable(path)) {
                continue;
            }
            for (String line : Files.readAllLines(path)) {
                // sl local_address rem_address st ...; addresses are hex, IPv4 in little-endian byte order.
                String[] fields = line.trim().split("\\s+");
                if (fields.length < 4 || !fields[1].contains(":") || !"0A".equals(fields[3])) {
                    continue; // the header, or not LISTEN
                }
                String[] local = fields[1].split(":");
                if (Integer.parseInt(local[1], 16) == port) {
                    addresses.add(address(local[0]));
                }
            }
        }
        return addresses;
    }

    // Java listens on IPv6 sockets where it can, so 127.0.0.1 shows in tcp6 as the IPv4-mapped ::ffff:127.0.0.1.
    private static String address(String hex) {
        if (hex.length() == 8) {
            return ipv4(hex);
        }
        if (hex.startsWith("0000000000000000FFFF0000")) {
            return ipv4(hex.substring(24));
        }
        return hex.matches("0+") ? "::" : hex;
    }

    private static String ipv4(String littleEndianHex) {
        StringBuilder address = new StringBuilder();
        for (int i = 3; i >= 0; i--) {
            address.append(Integer.parseInt(littleEndianHex.substring(2 * i, 2 * i + 2), 16)).append(i > 0 ? "." : "");
        }
        return address.toString();
    }
}
