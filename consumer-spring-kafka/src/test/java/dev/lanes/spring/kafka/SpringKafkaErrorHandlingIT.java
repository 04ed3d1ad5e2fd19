package dev.lanes.spring.kafka;

import dev.lanes.consumer.LanesConsumer;
import dev.lanes.consumer.testing.KafkaBroker;
import dev.lanes.consumer.testing.KafkaBrokerExtension;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.Serializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.springframework.boot.SpringBootConfiguration;
import org.springframework.boot.autoconfigure.EnableAutoConfiguration;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.context.annotation.Bean;
import org.springframework.kafka.annotation.KafkaListener;
import org.springframework.kafka.core.KafkaTemplate;
import org.springframework.kafka.listener.DeadLetterPublishingRecoverer;
import org.springframework.kafka.listener.DefaultErrorHandler;
import org.springframework.kafka.support.KafkaHeaders;
import org.springframework.kafka.support.serializer.DeserializationException;
import org.springframework.util.backoff.FixedBackOff;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;

import static dev.lanes.spring.kafka.SpringKafkaApps.committed;
import static dev.lanes.spring.kafka.SpringKafkaApps.header;
import static dev.lanes.spring.kafka.SpringKafkaApps.produce;
import static dev.lanes.spring.kafka.SpringKafkaApps.readAll;
import static dev.lanes.spring.kafka.SpringKafkaApps.text;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * spring-kafka's error handling on Lanes consumers: DefaultErrorHandler retries, then the
 * DeadLetterPublishingRecoverer publishes the failed record; poison pills caught by ErrorHandlingDeserializer
 * go to their dead-letter topic at once. Nothing blocks the partition, and every offset is committed.
 */
class SpringKafkaErrorHandlingIT {

    @RegisterExtension
    static final KafkaBrokerExtension BROKER = new KafkaBrokerExtension();

    @Test
    void failedRecordsAndPoisonPillsEndOnTheirDeadLetterTopicsWithKafkaDltHeaders() {
        KafkaBroker broker = BROKER.broker();
        for (String topic : List.of("failing", "failing-dlt", "poison", "poison-dlt")) {
            broker.createTopic(topic, 1);
        }
        produce(broker, "failing", "ok-1", "boom", "ok-2");
        produce(broker, "poison", "p-1", "POISON", "p-2");

        Listeners listeners;
        try (ConfigurableApplicationContext context = SpringKafkaApps.start(broker, App.class,
                "spring.kafka.producer.key-serializer=" + StringOrBytesSerializer.class.getName(),
                "spring.kafka.producer.value-serializer=" + StringOrBytesSerializer.class.getName(),
                "spring.kafka.consumer.value-deserializer=org.springframework.kafka.support.serializer.ErrorHandlingDeserializer",
                "spring.kafka.consumer.properties[spring.deserializer.value.delegate.class]=" + PoisonDeserializer.class.getName())) {
            listeners = context.getBean(Listeners.class);
            await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
                assertThat(listeners.failing).containsExactly("ok-1", "boom", "boom", "boom", "ok-2");
                assertThat(listeners.poison).containsExactly("p-1", "p-2");
                assertThat(committed(broker, "failing")).containsEntry(0, 3L);
                assertThat(committed(broker, "poison")).containsEntry(0, 3L);
            });
            assertThat(listeners.consumers.values()).hasSize(2).allSatisfy(consumer ->
                    assertThat(consumer).isInstanceOf(LanesConsumer.class));
        }

        List<ConsumerRecord<byte[], byte[]>> dead = readAll(broker, "failing-dlt", 1, false);
        assertThat(dead).hasSize(1);
        ConsumerRecord<byte[], byte[]> letter = dead.get(0);
        assertThat(text(letter.value())).isEqualTo("boom");
        assertThat(text(letter.key())).isEqualTo("key-boom");
        assertThat(header(letter, KafkaHeaders.DLT_ORIGINAL_TOPIC)).isEqualTo("failing");
        assertThat(intHeader(letter, KafkaHeaders.DLT_ORIGINAL_PARTITION)).isZero();
        assertThat(longHeader(letter, KafkaHeaders.DLT_ORIGINAL_OFFSET)).isEqualTo(1L);
        assertThat(header(letter, KafkaHeaders.DLT_ORIGINAL_CONSUMER_GROUP)).isEqualTo("failing");
        assertThat(header(letter, KafkaHeaders.DLT_EXCEPTION_CAUSE_FQCN)).isEqualTo(IllegalStateException.class.getName());
        assertThat(header(letter, KafkaHeaders.DLT_EXCEPTION_MESSAGE)).contains("cannot process boom");

        List<ConsumerRecord<byte[], byte[]>> poisoned = readAll(broker, "poison-dlt", 1, false);
        assertThat(poisoned).hasSize(1);
        ConsumerRecord<byte[], byte[]> pill = poisoned.get(0);
        assertThat(text(pill.value())).isEqualTo("POISON");
        assertThat(text(pill.key())).isEqualTo("key-POISON");
        assertThat(header(pill, KafkaHeaders.DLT_ORIGINAL_TOPIC)).isEqualTo("poison");
        assertThat(longHeader(pill, KafkaHeaders.DLT_ORIGINAL_OFFSET)).isEqualTo(1L);
        assertThat(header(pill, KafkaHeaders.DLT_EXCEPTION_CAUSE_FQCN)).isEqualTo(DeserializationException.class.getName());
        assertThat(header(pill, KafkaHeaders.DLT_EXCEPTION_MESSAGE)).isEqualTo("failed to deserialize");
        assertThat(header(pill, KafkaHeaders.DLT_EXCEPTION_STACKTRACE)).contains("poison pill at poison");
    }

    private static int intHeader(ConsumerRecord<?, ?> record, String name) {
        Header header = record.headers().lastHeader(name);
        return ByteBuffer.wrap(header.value()).getInt();
    }

    private static long longHeader(ConsumerRecord<?, ?> record, String name) {
        Header header = record.headers().lastHeader(name);
        return ByteBuffer.wrap(header.value()).getLong();
    }

    @SpringBootConfiguration
    @EnableAutoConfiguration
    static class App {

        @Bean
        Listeners listeners() {
            return new Listeners();
        }

        @Bean
        DefaultErrorHandler errorHandler(KafkaTemplate<Object, Object> template) {
            return new DefaultErrorHandler(new DeadLetterPublishingRecoverer(template), new FixedBackOff(50, 2));
        }
    }

    static class Listeners {
        final Map<String, Consumer<?, ?>> consumers = new ConcurrentHashMap<>();
        final List<String> failing = new CopyOnWriteArrayList<>();
        final List<String> poison = new CopyOnWriteArrayList<>();

        @KafkaListener(id = "failing", topics = "failing")
        void failing(String value, Consumer<?, ?> consumer) {
            consumers.put("failing", consumer);
            failing.add(value);
            if (value.equals("boom")) {
                throw new IllegalStateException("cannot process " + value);
            }
        }

        @KafkaListener(id = "poison", topics = "poison")
        void poison(String value, Consumer<?, ?> consumer) {
            consumers.put("poison", consumer);
            poison.add(value);
        }
    }

    /** A string deserializer that cannot read the value POISON. */
    public static class PoisonDeserializer implements Deserializer<String> {
        @Override
        public String deserialize(String topic, byte[] data) {
            String value = new String(data, StandardCharsets.UTF_8);
            if (value.equals("POISON")) {
                throw new IllegalArgumentException("poison pill at " + topic);
            }
            return value;
        }
    }

    /** Serializes strings as UTF-8 and passes raw bytes (a poison pill's value) through. */
    public static class StringOrBytesSerializer implements Serializer<Object> {
        @Override
        public byte[] serialize(String topic, Object data) {
            if (data == null || data instanceof byte[]) {
                return (byte[]) data;
            }
            return data.toString().getBytes(StandardCharsets.UTF_8);
        }
    }
}
