package dev.lanes.consumer;

import dev.lanes.consumer.testing.ConsumerImplementation;
import dev.lanes.consumer.testing.KafkaCluster;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.LogTruncationException;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static dev.lanes.consumer.testing.TestConsumers.consumerConfig;
import static dev.lanes.consumer.testing.TestConsumers.pollRecords;
import static dev.lanes.consumer.testing.TestConsumers.waitUntil;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Log truncation (KIP-320), side by side with KafkaConsumer: consumers read records that only the leader has, the
 * leader dies, and a follower that missed them is elected uncleanly and takes new records at the same offsets.
 * Every consumer whose position lies past the divergence must notice, however it got the position: by consuming
 * (the leader's epoch changes under it), from a committed offset that carries a leader epoch, or from a
 * {@code seek(partition, OffsetAndMetadata)} with one. With a reset policy it reads the new records from the first
 * divergent offset (skipping them would lose them); with {@code auto.offset.reset=none} poll() throws
 * LogTruncationException naming that offset.
 */
class LogTruncationIT {

    private static final int COMMON = 50;
    private static final int LOST = 30;
    private static final int NEW = 30;
    private static final AtomicInteger SEQUENCE = new AtomicInteger();
    private static KafkaCluster cluster;

    @BeforeAll
    static void startCluster() {
        cluster = KafkaCluster.builder().brokers(2).start();
    }

    @AfterAll
    static void stopCluster() {
        if (cluster != null) {
            cluster.close();
        }
    }

    @ParameterizedTest
    @EnumSource(ConsumerImplementation.class)
    void aTruncatedLogIsNoticedAndItsNewRecordsAreNotSkipped(ConsumerImplementation implementation) throws Exception {
        String topic = "truncation-" + implementation.id() + "-" + SEQUENCE.incrementAndGet();
        String group = topic + "-group";
        TopicPartition partition = new TopicPartition(topic, 0);
        int leader = 1;
        int follower = 2;
        cluster.admin().createTopics(List.of(new NewTopic(topic, Map.of(0, List.of(leader, follower)))
                .configs(Map.of("unclean.leader.election.enable", "true", "min.insync.replicas", "1"))))
                .all().get(30, TimeUnit.SECONDS);
        waitUntil(Duration.ofSeconds(30), () -> cluster.leader(partition) == leader, "broker 1 leads");

        try (KafkaProducer<byte[], byte[]> producer = cluster.newProducer(Map.of("acks", "1", "retries", 5));
             Consumer<byte[], byte[]> resetting = implementation.create(config(topic, "earliest", null, "resetting"));
             Consumer<byte[], byte[]> strict = implementation.create(config(topic, "none", null, "strict"))) {
            for (Consumer<byte[], byte[]> consumer : List.of(resetting, strict)) {
                consumer.assign(List.of(partition));
                consumer.seek(partition, 0);
            }
            send(producer, topic, "common", COMMON);
            cluster.waitForInSync(Duration.ofSeconds(30));
            for (Consumer<byte[], byte[]> consumer : List.of(resetting, strict)) {
                assertThat(pollRecords(consumer, COMMON, Duration.ofSeconds(20))).hasSize(COMMON);
            }

            cluster.stop(follower);
            send(producer, topic, "lost", LOST); // on the leader only
            OffsetAndMetadata pastTheDivergence = null;
            for (Consumer<byte[], byte[]> consumer : List.of(resetting, strict)) {
                List<ConsumerRecord<byte[], byte[]>> lost = pollRecords(consumer, LOST, Duration.ofSeconds(20));
                assertThat(lost).hasSize(LOST);
                assertThat(consumer.position(partition)).isEqualTo(COMMON + LOST);
                pastTheDivergence = new OffsetAndMetadata(COMMON + LOST, lost.get(LOST - 1).leaderEpoch(), "");
            }
            assertThat(pastTheDivergence.leaderEpoch()).as("records carry their leader epoch").isPresent();

            cluster.kill(leader);
            cluster.restart(follower);
            waitUntil(Duration.ofSeconds(60), () -> cluster.leader(partition) == follower,
                    "the follower that missed the last records is elected uncleanly");
            send(producer, topic, "new", NEW); // the same offsets as the lost records, other data

            // Positions reached by consuming: the leader changed under them.
            assertReadsTheNewRecords(resetting, partition, implementation + ", consumed, earliest");
            assertThrowsTruncationAt(strict, partition, implementation + ", consumed, none");

            // A position given by seek(partition, OffsetAndMetadata) with the epoch of the record before it.
            try (Consumer<byte[], byte[]> seeking = implementation.create(config(topic, "none", null, "seeking"))) {
                seeking.assign(List.of(partition));
                seeking.seek(partition, pastTheDivergence);
                assertThrowsTruncationAt(seeking, partition, implementation + ", seek with epoch, none");
            }

            // A committed offset with that epoch (committed before the truncation, say). The old leader comes
            // back first, as a follower of the truncated log, so that the group's offsets topic has its replicas.
            cluster.restart(leader);
            cluster.waitForInSync(Duration.ofSeconds(60));
            try (Consumer<byte[], byte[]> fromCommitted = implementation.create(config(topic, "earliest", group, "committed"))) {
                fromCommitted.assign(List.of(partition));
                fromCommitted.commitSync(Map.of(partition, pastTheDivergence));
                assertThat(fromCommitted.committed(Set.of(partition)).get(partition).leaderEpoch())
                        .as("commits carry the leader epoch").isEqualTo(pastTheDivergence.leaderEpoch());
                assertReadsTheNewRecords(fromCommitted, partition, implementation + ", committed offset, earliest");
            }
        } finally {
            for (int broker : List.of(leader, follower)) {
                if (!cluster.isRunning(broker)) {
                    cluster.restart(broker);
                }
            }
            cluster.waitForInSync(Duration.ofSeconds(60));
        }
    }

    private static Map<String, Object> config(String topic, String reset, String group, String role) {
        Map<String, Object> config = consumerConfig(cluster.bootstrapServers(), group, topic + "-" + role);
        config.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, reset);
        config.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        // In about one run of ten, a request of Lanes' to the broker just elected uncleanly stayed unanswered (the
        // check in flight when the consumer closed, 24 s later; cause not found). A request that gets no answer is
        // given up after request.timeout.ms and sent again: 5 s here, within the test's 20 s, on both consumers.
        config.put(ConsumerConfig.REQUEST_TIMEOUT_MS_CONFIG, 5_000);
        return config;
    }

    private static void assertReadsTheNewRecords(Consumer<byte[], byte[]> consumer, TopicPartition partition, String scenario) {
        List<String> values = new ArrayList<>();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (values.size() < NEW && System.nanoTime() < deadline) {
            for (ConsumerRecord<byte[], byte[]> record : consumer.poll(Duration.ofMillis(200))) {
                values.add(new String(record.value(), StandardCharsets.UTF_8));
            }
        }
        System.out.printf("log truncation (%s): received %d of %d new records%n", scenario, values.size(), NEW);
        assertThat(values).as(scenario + ": every new record, none skipped").hasSize(NEW)
                .allMatch(value -> value.startsWith("new-"));
        assertThat(consumer.position(partition)).as(scenario).isEqualTo(COMMON + NEW);
    }

    private static void assertThrowsTruncationAt(Consumer<byte[], byte[]> consumer, TopicPartition partition, String scenario) {
        LogTruncationException truncation = null;
        int received = 0;
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (truncation == null && System.nanoTime() < deadline) {
            try {
                received += consumer.poll(Duration.ofMillis(200)).count();
            } catch (LogTruncationException e) {
                truncation = e;
            }
        }
        System.out.printf("log truncation (%s): %d records, exception %s%n", scenario, received,
                truncation == null ? "none" : truncation.divergentOffsets());
        assertThat(received).as(scenario + ": nothing read past the divergence").isZero();
        assertThat(truncation).as(scenario + ": LogTruncationException").isNotNull();
        assertThat(truncation.divergentOffsets()).as(scenario).containsKey(partition);
        assertThat(truncation.divergentOffsets().get(partition).offset()).as(scenario).isEqualTo(COMMON);
    }

    private static void send(KafkaProducer<byte[], byte[]> producer, String topic, String prefix, int count) throws Exception {
        for (int i = 0; i < count; i++) {
            producer.send(new ProducerRecord<>(topic, 0, null, (prefix + "-" + i).getBytes(StandardCharsets.UTF_8)))
                    .get(30, TimeUnit.SECONDS);
        }
    }
}
