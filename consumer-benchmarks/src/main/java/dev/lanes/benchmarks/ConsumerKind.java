package dev.lanes.benchmarks;

import dev.lanes.consumer.LanesConsumer;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** The three consumers compared, each built from the same settings. */
public enum ConsumerKind {
    /** dev.lanes.consumer.LanesConsumer (KIP-848 groups). */
    LANES("Lanes"),
    /** kafka-clients KafkaConsumer with group.protocol=classic (ClassicKafkaConsumer). */
    CLASSIC("Classic"),
    /** kafka-clients KafkaConsumer with group.protocol=consumer (AsyncKafkaConsumer). */
    ASYNC("Async");

    private final String label;

    ConsumerKind(String label) {
        this.label = label;
    }

    public String label() {
        return label;
    }

    public String key() {
        return name().toLowerCase(Locale.ROOT);
    }

    static List<String> names() {
        return Arrays.stream(values()).map(ConsumerKind::key).toList();
    }

    /**
     * Creates the consumer. {@code settings} are common consumer settings; the classic-only
     * {@code heartbeat.interval.ms} is applied to the classic consumer only (the others learn the interval
     * from the broker).
     */
    public Consumer<byte[], byte[]> create(Map<String, Object> settings, int classicHeartbeatIntervalMs) {
        Map<String, Object> configs = new HashMap<>(settings);
        configs.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        configs.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        return switch (this) {
            case LANES -> new LanesConsumer<>(configs, new ByteArrayDeserializer(), new ByteArrayDeserializer());
            case CLASSIC -> {
                configs.put(ConsumerConfig.GROUP_PROTOCOL_CONFIG, "classic");
                if (configs.containsKey(ConsumerConfig.GROUP_ID_CONFIG)) {
                    configs.put(ConsumerConfig.HEARTBEAT_INTERVAL_MS_CONFIG, classicHeartbeatIntervalMs);
                }
                yield new KafkaConsumer<>(configs, new ByteArrayDeserializer(), new ByteArrayDeserializer());
            }
            case ASYNC -> {
                configs.put(ConsumerConfig.GROUP_PROTOCOL_CONFIG, "consumer");
                yield new KafkaConsumer<>(configs, new ByteArrayDeserializer(), new ByteArrayDeserializer());
            }
        };
    }
}
