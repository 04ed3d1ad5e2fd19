package dev.lanes.consumer;

import dev.lanes.consumer.testing.ConsumerImplementation;
import dev.lanes.consumer.testing.KafkaBrokerExtension;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static dev.lanes.consumer.testing.TestConsumers.consumerConfig;
import static dev.lanes.consumer.testing.TestConsumers.pollRecords;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * A caught-up consumer commits what it just processed: the commit shares the broker's connection with
 * the fetches (R6), yet must not wait behind a fetch long-polling for data that is not there. A fetch's
 * wait is bounded by the next heartbeat (500 ms on the test broker), so waiting behind one costs hundreds
 * of milliseconds, against about 10 ms for a commit on a free connection. The same loop runs on
 * KafkaConsumer (which uses a separate coordinator connection) for comparison.
 */
class CommitLatencyIT {

    @RegisterExtension
    static final KafkaBrokerExtension BROKER = new KafkaBrokerExtension();

    private static final int FETCH_MAX_WAIT_MS = 2_000;
    private static final int COMMITS = 15;
    /** Ten times the target median of 20 ms, still far below a wait behind a long poll. */
    private static final long MEDIAN_BOUND_MS = 200;

    @ParameterizedTest
    @EnumSource(ConsumerImplementation.class)
    void aCaughtUpConsumersCommitDoesNotWaitBehindAFetchLongPoll(ConsumerImplementation implementation) {
        String topic = "commit-latency-" + implementation.id();
        BROKER.broker().createTopic(topic, 1);
        Map<String, Object> config = consumerConfig(BROKER.broker().bootstrapServers(), topic + "-group", null);
        config.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        config.put(ConsumerConfig.FETCH_MAX_WAIT_MS_CONFIG, FETCH_MAX_WAIT_MS);
        List<Long> latencies = new ArrayList<>();
        try (Consumer<byte[], byte[]> consumer = implementation.create(config)) {
            consumer.subscribe(List.of(topic));
            for (int i = 0; i < COMMITS + 1; i++) {
                BROKER.broker().produce(topic, 0, 1, 20);
                assertThat(pollRecords(consumer, 1, Duration.ofSeconds(20))).hasSize(1);
                long start = System.nanoTime();
                consumer.commitSync(Duration.ofSeconds(10));
                if (i > 0) { // the first commit also finds the coordinator
                    latencies.add((System.nanoTime() - start) / 1_000_000);
                }
            }
        }
        latencies.sort(null);
        long median = latencies.get(latencies.size() / 2);
        System.out.printf("commit latency when caught up (%s, fetch.max.wait.ms %d): median %d ms, max %d ms, all %s%n",
                implementation, FETCH_MAX_WAIT_MS, median, latencies.get(latencies.size() - 1), latencies);
        assertThat(median).as("median commitSync latency, far below a long poll").isLessThan(MEDIAN_BOUND_MS);
    }
}
