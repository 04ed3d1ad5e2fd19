package dev.lanes.consumer.testing;

import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.Metric;
import org.apache.kafka.common.MetricName;
import org.apache.kafka.common.serialization.StringDeserializer;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalDouble;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

/**
 * Set-up shared by the tests that run consumers against a {@link KafkaBroker}: consumer settings,
 * records produced to every partition, polling until records arrive or a condition holds, and metric
 * values read by name. The methods keep no state; a consumer passed in is used on the calling thread.
 */
public final class TestConsumers {

    /** The metric group of Lanes' own metrics. */
    public static final String LANES_METRIC_GROUP = "lanes-consumer-metrics";

    private static final Duration POLL_TIMEOUT = Duration.ofMillis(200);
    private static final long CONDITION_CHECK_MILLIS = 20;

    private TestConsumers() {
    }

    /** Settings that reach {@code bootstrapServers} and start at the earliest offset; group and client id only when not null. */
    public static Map<String, Object> consumerConfig(String bootstrapServers, String group, String clientId) {
        Map<String, Object> config = new HashMap<>();
        config.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
        config.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        if (group != null) {
            config.put(ConsumerConfig.GROUP_ID_CONFIG, group);
        }
        if (clientId != null) {
            config.put(ConsumerConfig.CLIENT_ID_CONFIG, clientId);
        }
        return config;
    }

    /** {@link #consumerConfig} with String key and value deserializers. */
    public static Map<String, Object> stringConsumerConfig(String bootstrapServers, String group, String clientId) {
        Map<String, Object> config = consumerConfig(bootstrapServers, group, clientId);
        config.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        config.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        return config;
    }

    /** {@link #stringConsumerConfig} with auto-commit off when there is a group: the test commits itself. */
    public static Map<String, Object> manualCommitConfig(String bootstrapServers, String group, String clientId) {
        Map<String, Object> config = stringConsumerConfig(bootstrapServers, group, clientId);
        if (group != null) {
            config.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        }
        return config;
    }

    /** {@link #consumerConfig} for a group member that auto-commits every second; its deserializers go to its constructor. */
    public static Map<String, Object> autoCommitConfig(String bootstrapServers, String group, String clientId) {
        Map<String, Object> config = consumerConfig(bootstrapServers, group, clientId);
        config.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, true);
        config.put(ConsumerConfig.AUTO_COMMIT_INTERVAL_MS_CONFIG, 1000);
        return config;
    }

    /** Sends {@code perPartition} records of {@code valueSize} bytes to each of partitions 0 to {@code partitions - 1}, waiting for every ack. */
    public static void produceToEveryPartition(KafkaBroker broker, String topic, int partitions, int perPartition, int valueSize) {
        for (int partition = 0; partition < partitions; partition++) {
            broker.produce(topic, partition, perPartition, valueSize);
        }
    }

    /** Has the broker create its offsets topic (it does on the first coordinator lookup), so a consumer's first lookup finds a coordinator. */
    public static void createOffsetsTopic(KafkaBroker broker) throws Exception {
        broker.admin().listConsumerGroupOffsets("warm-up").partitionsToOffsetAndMetadata().get(30, TimeUnit.SECONDS);
    }

    /** Polls 200 ms at a time until at least {@code count} records arrived or {@code timeout} passed; returns all it received. */
    public static <K, V> List<ConsumerRecord<K, V>> pollRecords(Consumer<K, V> consumer, int count, Duration timeout) {
        List<ConsumerRecord<K, V>> records = new ArrayList<>();
        long deadline = System.nanoTime() + timeout.toNanos();
        while (records.size() < count && System.nanoTime() < deadline) {
            consumer.poll(POLL_TIMEOUT).forEach(records::add);
        }
        return records;
    }

    /** Checks {@code condition} every 20 ms until it holds; throws an AssertionError naming {@code what} after {@code timeout}. */
    public static void waitUntil(Duration timeout, BooleanSupplier condition, String what) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("Timed out after " + timeout.toMillis() + " ms waiting for: " + what);
            }
            sleep(CONDITION_CHECK_MILLIS);
        }
    }

    /** Sleeps; an interrupt keeps the thread's interrupt status and ends the caller with an IllegalStateException. */
    public static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** The value of the first metric of {@code group} named {@code name} whose tags include {@code tags}; 0 when there is none yet. */
    public static double metricOrZero(Consumer<?, ?> consumer, String group, String name, Map<String, String> tags) {
        return find(consumer, group, name, tags).orElse(0.0);
    }

    /** The value of the first Lanes metric named {@code name}, whatever its tags; 0 when there is none yet. */
    public static double lanesMetricOrZero(Consumer<?, ?> consumer, String name) {
        return metricOrZero(consumer, LANES_METRIC_GROUP, name, Map.of());
    }

    /** How many requests of {@code api} the consumer has sent ({@code requests-sent-total}); 0 before the first. */
    public static double requestsSent(Consumer<?, ?> consumer, String api) {
        return metricOrZero(consumer, LANES_METRIC_GROUP, "requests-sent-total", Map.of("api", api));
    }

    /** The value of the first Lanes metric named {@code name}, whatever its tags; throws an AssertionError when there is none. */
    public static double lanesMetric(Consumer<?, ?> consumer, String name) {
        return find(consumer, LANES_METRIC_GROUP, name, Map.of())
                .orElseThrow(() -> new AssertionError("no metric " + LANES_METRIC_GROUP + "/" + name));
    }

    private static OptionalDouble find(Consumer<?, ?> consumer, String group, String name, Map<String, String> tags) {
        for (Map.Entry<MetricName, ? extends Metric> entry : consumer.metrics().entrySet()) {
            MetricName metricName = entry.getKey();
            if (metricName.group().equals(group) && metricName.name().equals(name)
                    && metricName.tags().entrySet().containsAll(tags.entrySet())) {
                return OptionalDouble.of(((Number) entry.getValue().metricValue()).doubleValue());
            }
        }
        return OptionalDouble.empty();
    }
}
