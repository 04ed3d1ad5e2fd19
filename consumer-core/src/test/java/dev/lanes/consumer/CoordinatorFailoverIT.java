package dev.lanes.consumer;

import dev.lanes.consumer.testing.ConsumerImplementation;
import dev.lanes.consumer.testing.KafkaCluster;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.time.Duration;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;

import static dev.lanes.consumer.testing.TestConsumers.consumerConfig;
import static dev.lanes.consumer.testing.TestConsumers.lanesMetricOrZero;
import static dev.lanes.consumer.testing.TestConsumers.pollRecords;
import static dev.lanes.consumer.testing.TestConsumers.waitUntil;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * The broker hosting a group's coordinator goes away (controlled shutdown, or killed) while a member runs,
 * on a three-broker cluster; the same scenario runs on Lanes and on KafkaConsumer. The member commits
 * against the new coordinator right away, keeps its membership and its partitions, goes on consuming, and
 * closes at once. Times are printed; the bounds asserted are loose (the machines are shared).
 */
class CoordinatorFailoverIT {

    private static final int PARTITIONS = 3;
    private static final AtomicInteger SEQUENCE = new AtomicInteger();
    private static KafkaCluster cluster;

    enum Departure { STOPPED, KILLED }

    @BeforeAll
    static void startCluster() {
        cluster = KafkaCluster.start();
    }

    @AfterAll
    static void stopCluster() {
        if (cluster != null) {
            cluster.close();
        }
    }

    static Stream<Arguments> scenarios() {
        return Stream.of(Departure.values()).flatMap(departure -> Stream.of(ConsumerImplementation.values())
                .map(implementation -> Arguments.of(implementation, departure)));
    }

    @ParameterizedTest(name = "{0}, coordinator {1}")
    @MethodSource("scenarios")
    void aMemberCommitsAgainstTheNewCoordinatorKeepsItsPartitionsAndClosesAtOnce(ConsumerImplementation implementation,
                                                                                 Departure departure) throws Exception {
        String name = "failover-" + implementation.id() + "-" + departure.name().toLowerCase() + "-" + SEQUENCE.incrementAndGet();
        String topic = name;
        String group = name + "-group";
        cluster.createTopic(topic, PARTITIONS, 3);
        for (int partition = 0; partition < PARTITIONS; partition++) {
            cluster.produce(topic, partition, 20, 50);
        }
        Map<String, Object> config = consumerConfig(cluster.bootstrapServers(), group, name);
        config.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        Lost lost = new Lost();
        int down = -1;
        Consumer<byte[], byte[]> consumer = implementation.create(config);
        try {
            consumer.subscribe(List.of(topic), lost);
            assertThat(pollRecords(consumer, 20 * PARTITIONS, Duration.ofSeconds(30))).hasSize(20 * PARTITIONS);
            consumer.commitSync(Duration.ofSeconds(10));
            down = cluster.coordinator(group);
            assertThat(down).as("the group's coordinator").isPositive();

            if (departure == Departure.STOPPED) {
                cluster.stop(down);
            } else {
                cluster.kill(down);
            }
            Map<TopicPartition, OffsetAndMetadata> offsets = new HashMap<>();
            for (TopicPartition partition : consumer.assignment()) {
                offsets.put(partition, new OffsetAndMetadata(consumer.position(partition)));
            }
            long start = System.nanoTime();
            consumer.commitSync(offsets, Duration.ofSeconds(15));
            long commitMs = millisSince(start);
            double heartbeatsAfterCommit = lanesMetricOrZero(consumer, "heartbeat-total");

            for (int partition = 0; partition < PARTITIONS; partition++) {
                cluster.produce(topic, partition, 10, 50);
            }
            assertThat(pollRecords(consumer, 10 * PARTITIONS, Duration.ofSeconds(30))).as("consuming goes on")
                    .hasSize(10 * PARTITIONS);
            assertThat(consumer.assignment()).as("the member keeps its partitions").hasSize(PARTITIONS);
            assertThat(lost.count.get()).as("never fenced").isZero();
            if (implementation == ConsumerImplementation.LANES) {
                waitUntil(Duration.ofSeconds(5), () -> {
                    consumer.poll(Duration.ofMillis(50));
                    return lanesMetricOrZero(consumer, "heartbeat-total") >= heartbeatsAfterCommit + 2;
                }, "heartbeats answered by the new coordinator");
            }
            // Right after a move, the new coordinator can briefly answer an admin's offset listing with nothing.
            waitUntil(Duration.ofSeconds(15), () -> offsets.entrySet().stream()
                    .allMatch(entry -> committed(group, entry.getKey()) >= entry.getValue().offset()),
                    "the offsets committed through the new coordinator are listed");

            long closeStart = System.nanoTime();
            consumer.close(Duration.ofSeconds(30));
            long closeMs = millisSince(closeStart);
            System.out.printf("coordinator failover (%s, broker %d %s): commitSync %d ms, close %d ms, "
                    + "new coordinator %d%n", implementation, down, departure, commitMs, closeMs, cluster.coordinator(group));
            assertThat(commitMs).as("commitSync(15 s) succeeds well before its deadline").isLessThan(10_000);
            assertThat(closeMs).as("close(30 s) with nothing owed").isLessThan(10_000);
        } finally {
            consumer.close(Duration.ZERO);
            if (down > 0) {
                cluster.restart(down);
                cluster.waitForInSync(Duration.ofSeconds(60));
            }
        }
    }

    private static long committed(String group, TopicPartition partition) {
        try {
            OffsetAndMetadata committed = cluster.admin().listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata()
                    .get(30, TimeUnit.SECONDS).get(partition);
            return committed == null ? -1 : committed.offset();
        } catch (Exception e) {
            throw new IllegalStateException("Could not list the offsets of group " + group, e);
        }
    }

    private static long millisSince(long startNanos) {
        return (System.nanoTime() - startNanos) / 1_000_000;
    }

    /** Counts onPartitionsLost calls: a member that kept its membership through the move never sees one. */
    private static final class Lost implements ConsumerRebalanceListener {
        final AtomicInteger count = new AtomicInteger();

        @Override
        public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
        }

        @Override
        public void onPartitionsAssigned(Collection<TopicPartition> partitions) {
        }

        @Override
        public void onPartitionsLost(Collection<TopicPartition> partitions) {
            count.incrementAndGet();
        }
    }
}
