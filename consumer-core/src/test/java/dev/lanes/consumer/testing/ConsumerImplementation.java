package dev.lanes.consumer.testing;

import dev.lanes.consumer.LanesConsumer;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

import java.util.HashMap;
import java.util.Map;

/**
 * The consumers a parity test runs the same scenario on: Lanes, and Kafka's own {@link KafkaConsumer} with the
 * consumer group protocol (KIP-848), the behaviour Lanes promises to keep. Use it as the source of a
 * parameterized test, and assert the same thing of both.
 */
public enum ConsumerImplementation {

    LANES {
        @Override
        public Consumer<byte[], byte[]> create(Map<String, Object> config) {
            return new LanesConsumer<>(config, new ByteArrayDeserializer(), new ByteArrayDeserializer());
        }
    },
    KAFKA_CONSUMER {
        @Override
        public Consumer<byte[], byte[]> create(Map<String, Object> config) {
            Map<String, Object> withProtocol = new HashMap<>(config);
            withProtocol.keySet().removeIf(key -> key.startsWith("lanes."));
            withProtocol.put(ConsumerConfig.GROUP_PROTOCOL_CONFIG, "consumer");
            return new KafkaConsumer<>(withProtocol, new ByteArrayDeserializer(), new ByteArrayDeserializer());
        }
    };

    /** A consumer of byte arrays with these settings ({@code lanes.*} settings apply to Lanes only). */
    public abstract Consumer<byte[], byte[]> create(Map<String, Object> config);

    /** A name to tell groups, topics and client ids of the two runs apart. */
    public String id() {
        return name().toLowerCase(java.util.Locale.ROOT).replace('_', '-');
    }
}
