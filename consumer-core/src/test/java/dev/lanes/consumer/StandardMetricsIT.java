package dev.lanes.consumer;

import dev.lanes.consumer.testing.ConsumerImplementation;
import dev.lanes.consumer.testing.KafkaBrokerExtension;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.common.Metric;
import org.apache.kafka.common.MetricName;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.time.Duration;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.stream.Collectors;

import static dev.lanes.consumer.testing.TestConsumers.consumerConfig;
import static dev.lanes.consumer.testing.TestConsumers.pollRecords;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * The standard consumer metrics, side by side with KafkaConsumer ({@code group.protocol=consumer}): both consume
 * the same records on the same broker, and every metric KafkaConsumer registers in {@code consumer-metrics},
 * {@code consumer-fetch-manager-metrics} and {@code consumer-coordinator-metrics} must exist on Lanes with the
 * same name, group and tags. The list comes from the KafkaConsumer on the classpath, so this stays true when
 * kafka-clients moves. Values are checked for plausibility.
 */
class StandardMetricsIT {

    private static final Set<String> STANDARD_GROUPS =
            Set.of("consumer-metrics", "consumer-fetch-manager-metrics", "consumer-coordinator-metrics");
    private static final String TOPIC = "standard-metrics";
    private static final int PARTITIONS = 3;
    private static final int RECORDS = 300;

    @RegisterExtension
    static final KafkaBrokerExtension BROKER = new KafkaBrokerExtension();

    private static final Map<ConsumerImplementation, Map<String, Double>> VALUES = new EnumMap<>(ConsumerImplementation.class);

    @BeforeAll
    static void consumeOnBoth() {
        BROKER.broker().createTopic(TOPIC, PARTITIONS);
        for (int partition = 0; partition < PARTITIONS; partition++) {
            BROKER.broker().produce(TOPIC, partition, RECORDS / PARTITIONS, 100);
        }
        for (ConsumerImplementation implementation : ConsumerImplementation.values()) {
            Map<String, Object> config = consumerConfig(BROKER.broker().bootstrapServers(),
                    TOPIC + "-" + implementation.id(), TOPIC + "-" + implementation.id());
            config.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
            try (Consumer<byte[], byte[]> consumer = implementation.create(config)) {
                consumer.subscribe(List.of(TOPIC));
                assertThat(pollRecords(consumer, RECORDS, Duration.ofSeconds(30))).hasSize(RECORDS);
                consumer.commitSync();
                for (int i = 0; i < 5; i++) {
                    consumer.poll(Duration.ofMillis(100)); // caught up: lag falls to 0
                }
                VALUES.put(implementation, standardMetrics(consumer.metrics()));
            }
        }
    }

    /** Metrics of the standard groups by group, name and tags (the client id left out), with their values. */
    private static Map<String, Double> standardMetrics(Map<MetricName, ? extends Metric> metrics) {
        Map<String, Double> values = new TreeMap<>();
        metrics.forEach((name, metric) -> {
            if (STANDARD_GROUPS.contains(name.group())) {
                Object value = metric.metricValue();
                values.put(key(name), value instanceof Number number ? number.doubleValue() : Double.NaN);
            }
        });
        return values;
    }

    private static String key(MetricName name) {
        String tags = new TreeMap<>(name.tags()).entrySet().stream()
                .filter(tag -> !tag.getKey().equals("client-id"))
                .map(tag -> tag.getKey() + "=" + tag.getValue())
                .collect(Collectors.joining(",", "{", "}"));
        return name.group() + ":" + name.name() + tags;
    }

    @Test
    void everyStandardMetricOfKafkaConsumerExistsOnLanes() {
        Set<String> expected = VALUES.get(ConsumerImplementation.KAFKA_CONSUMER).keySet();
        Set<String> missing = new TreeSet<>(expected);
        missing.removeAll(VALUES.get(ConsumerImplementation.LANES).keySet());
        System.out.printf("standard metrics of KafkaConsumer: %d; missing on Lanes: %d%n%s%n", expected.size(),
                missing.size(), String.join("\n", missing));
        assertThat(expected).as("KafkaConsumer registers the standard metrics").hasSizeGreaterThan(50);
        assertThat(missing).as("standard metrics missing on Lanes").isEmpty();
    }

    @Test
    void clientInstanceIdAnswersAsKafkaConsumersDoes() {
        Map<ConsumerImplementation, List<String>> outcomes = new EnumMap<>(ConsumerImplementation.class);
        for (ConsumerImplementation implementation : ConsumerImplementation.values()) {
            List<String> outcome = new java.util.ArrayList<>();
            for (boolean push : List.of(true, false)) {
                Map<String, Object> config = consumerConfig(BROKER.broker().bootstrapServers(), null,
                        "instance-id-" + implementation.id() + "-" + push);
                config.put(ConsumerConfig.ENABLE_METRICS_PUSH_CONFIG, push);
                try (Consumer<byte[], byte[]> consumer = implementation.create(config)) {
                    consumer.assign(List.of(new org.apache.kafka.common.TopicPartition(TOPIC, 0)));
                    consumer.poll(Duration.ofMillis(200)); // connects
                    try {
                        org.apache.kafka.common.Uuid id = consumer.clientInstanceId(Duration.ofSeconds(3));
                        outcome.add("push " + push + ": " + (id == null ? "null" : "an id"));
                    } catch (RuntimeException e) {
                        outcome.add("push " + push + ": " + e.getClass().getSimpleName());
                    }
                }
            }
            outcomes.put(implementation, outcome);
        }
        System.out.printf("clientInstanceId: %s%n", outcomes);
        assertThat(outcomes.get(ConsumerImplementation.LANES)).as("Lanes against KafkaConsumer")
                .isEqualTo(outcomes.get(ConsumerImplementation.KAFKA_CONSUMER));
    }

    @Test
    void theStandardMetricsOfLanesHavePlausibleValues() {
        Map<String, Double> lanes = VALUES.get(ConsumerImplementation.LANES);
        Map<String, Double> kafka = VALUES.get(ConsumerImplementation.KAFKA_CONSUMER);
        kafka.keySet().forEach(key -> System.out.printf("%s: Lanes %s, KafkaConsumer %s%n", key, lanes.get(key), kafka.get(key)));
        // The largest lag seen in the window: the backlog when the partitions were first fetched.
        assertThat(lanes.get("consumer-fetch-manager-metrics:records-lag-max{}")).isBetween(0.0, (double) RECORDS / PARTITIONS);
        for (int partition = 0; partition < PARTITIONS; partition++) {
            String tags = "{partition=" + partition + ",topic=" + TOPIC + "}";
            assertThat(lanes.get("consumer-fetch-manager-metrics:records-lag" + tags)).as("lag of " + partition).isEqualTo(0.0);
            assertThat(lanes.get("consumer-fetch-manager-metrics:records-lead" + tags)).as("lead of " + partition)
                    .isEqualTo((double) RECORDS / PARTITIONS);
        }
        assertThat(lanes.get("consumer-fetch-manager-metrics:records-consumed-total{}")).isEqualTo((double) RECORDS);
        assertThat(lanes.get("consumer-fetch-manager-metrics:records-consumed-total{topic=" + TOPIC + "}")).isEqualTo((double) RECORDS);
        assertThat(lanes.get("consumer-fetch-manager-metrics:bytes-consumed-total{}")).isGreaterThan(RECORDS * 100.0);
        assertThat(lanes.get("consumer-fetch-manager-metrics:fetch-total{}")).isPositive();
        assertThat(lanes.get("consumer-fetch-manager-metrics:fetch-rate{}")).isPositive();
        assertThat(lanes.get("consumer-fetch-manager-metrics:fetch-latency-max{}")).isPositive();
        assertThat(lanes.get("consumer-coordinator-metrics:commit-total{}")).isGreaterThanOrEqualTo(1.0);
        assertThat(lanes.get("consumer-coordinator-metrics:commit-latency-max{}")).isPositive();
        assertThat(lanes.get("consumer-coordinator-metrics:heartbeat-total{}")).isGreaterThanOrEqualTo(1.0);
        assertThat(lanes.get("consumer-coordinator-metrics:rebalance-total{}")).isGreaterThanOrEqualTo(1.0);
        assertThat(lanes.get("consumer-metrics:last-poll-seconds-ago{}")).isBetween(0.0, 30.0);
        assertThat(lanes.get("consumer-metrics:time-between-poll-max{}")).isPositive();
        assertThat(lanes.get("consumer-metrics:poll-idle-ratio-avg{}")).isBetween(0.0, 1.0);
        assertThat(lanes.get("consumer-metrics:commit-sync-time-ns-total{}")).isPositive();
    }
}
