package dev.lanes.spring.listener;

import dev.lanes.consumer.testing.KafkaBrokerExtension;
import dev.lanes.spring.BatchListenerFailedException;
import dev.lanes.spring.DeadLetterPublisher;
import dev.lanes.spring.LanesListener;
import dev.lanes.spring.autoconfigure.LanesAutoConfiguration;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.record.TimestampType;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.LongSerializer;
import org.apache.kafka.common.serialization.Serializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.springframework.boot.WebApplicationType;
import org.springframework.boot.autoconfigure.ImportAutoConfiguration;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** Dead letters as spring-kafka's tooling reads them, and the retry rules that lead there, against a real broker. */
@ExtendWith(OutputCaptureExtension.class)
class DeadLetterIT {

    @RegisterExtension
    static final KafkaBrokerExtension BROKER = new KafkaBrokerExtension();

    static final AtomicInteger orderAttempts = new AtomicInteger();
    static final AtomicInteger castAttempts = new AtomicInteger();
    static final List<Long> batchOffsetsSeen = new CopyOnWriteArrayList<>();
    static final List<String> done = new CopyOnWriteArrayList<>();

    @Test
    void deadLettersCarrySpringKafkasHeadersOnTheSamePartitionOfATopicCreatedLikeTheOriginal(CapturedOutput output) throws Exception {
        BROKER.broker().createTopic("orders", 3);
        BROKER.broker().createTopic("casts", 1);
        BROKER.broker().createTopic("batch", 1);
        long timestamp = System.currentTimeMillis() - 60_000;
        try (var producer = BROKER.broker().producer()) {
            producer.send(new ProducerRecord<>("orders", 2, timestamp, bytes("order-key"), bytes("41"))).get();
            producer.send(new ProducerRecord<>("orders", 2, timestamp, bytes("order-key"), bytes("42"))).get();
            producer.send(new ProducerRecord<>("casts", 0, bytes("k"), bytes("7"))).get();
            for (int i = 0; i < 5; i++) {
                producer.send(new ProducerRecord<>("batch", 0, bytes("b" + i), bytes("b" + i))).get();
            }
        }

        ConfigurableApplicationContext context = new SpringApplicationBuilder(App.class).web(WebApplicationType.NONE).properties(
                "lanes.consumer.bootstrap-servers=" + BROKER.broker().bootstrapServers(),
                "lanes.consumer.auto-offset-reset=earliest",
                "lanes.consumer.poll-timeout=200ms",
                "lanes.consumer.value-deserializer=" + OrderDeserializer.class.getName(),
                "lanes.consumer.listener.retry.attempts=2",
                "lanes.consumer.listener.retry.back-off=20ms",
                "lanes.consumer.listener.retry.multiplier=2",
                "lanes.consumer.listener.dead-letter.enabled=true",
                "lanes.consumer.listener.dead-letter.value-serializer=" + OrderSerializer.class.getName()).run();
        try {
            await().atMost(Duration.ofSeconds(30)).untilAsserted(() ->
                    assertThat(done).contains("order-42", "batch-b3", "batch-b4"));
            List<ConsumerRecord<byte[], byte[]>> letters = readAll("orders.DLT", 3, 1);
            assertThat(letters).hasSize(1);
            ConsumerRecord<byte[], byte[]> letter = letters.get(0);
            assertThat(letter.partition()).isEqualTo(2);
            assertThat(text(letter.key())).isEqualTo("order-key");
            assertThat(text(letter.value())).isEqualTo("order#41");
            assertThat(text(header(letter, DeadLetterPublisher.ORIGINAL_TOPIC))).isEqualTo("orders");
            assertThat(ByteBuffer.wrap(header(letter, DeadLetterPublisher.ORIGINAL_PARTITION)).getInt()).isEqualTo(2);
            assertThat(ByteBuffer.wrap(header(letter, DeadLetterPublisher.ORIGINAL_OFFSET)).getLong()).isEqualTo(0);
            assertThat(ByteBuffer.wrap(header(letter, DeadLetterPublisher.ORIGINAL_TIMESTAMP)).getLong()).isEqualTo(timestamp);
            assertThat(text(header(letter, DeadLetterPublisher.ORIGINAL_TIMESTAMP_TYPE))).isEqualTo(TimestampType.CREATE_TIME.toString());
            assertThat(text(header(letter, DeadLetterPublisher.ORIGINAL_CONSUMER_GROUP))).isEqualTo("orders-group");
            assertThat(text(header(letter, DeadLetterPublisher.EXCEPTION_FQCN))).isEqualTo(IllegalStateException.class.getName());
            assertThat(text(header(letter, DeadLetterPublisher.EXCEPTION_MESSAGE))).isEqualTo("order 41 is odd");
            assertThat(text(header(letter, DeadLetterPublisher.EXCEPTION_STACKTRACE)))
                    .startsWith("java.lang.IllegalStateException: order 41 is odd").contains("Listeners.orders");
            assertThat(orderAttempts.get()).isEqualTo(3);
            assertThat(BROKER.broker().admin().describeTopics(List.of("orders.DLT")).allTopicNames().get()
                    .get("orders.DLT").partitions()).hasSize(3);
            assertThat(output).contains("Created dead-letter topic orders.DLT with 3 partition(s), as many as orders has");

            // Not retried: a ClassCastException cannot go better the second time.
            List<ConsumerRecord<byte[], byte[]>> casts = readAll("casts.DLT", 1, 1);
            assertThat(casts).hasSize(1);
            assertThat(castAttempts.get()).isEqualTo(1);
            assertThat(text(header(casts.get(0), DeadLetterPublisher.EXCEPTION_FQCN))).isEqualTo(ClassCastException.class.getName());

            // Only the record the batch listener named is a dead letter; those after it are processed.
            List<ConsumerRecord<byte[], byte[]>> batchLetters = readAll("batch.DLT", 1, 1);
            assertThat(batchLetters).extracting(record -> text(record.value())).containsExactly("order#b2");
            assertThat(done).contains("batch-b0", "batch-b1", "batch-b3", "batch-b4").doesNotContain("batch-b2");
        } finally {
            context.close();
        }
    }

    @Test
    void aValueWithNoSerializerIsRefusedWithTheSettingToSetNeverWrittenAsText() {
        DefaultDeadLetterSerializer serializer = new DefaultDeadLetterSerializer("lanes.consumer.listener.dead-letter.value-serializer");
        assertThat(serializer.serialize("t", 42L)).isEqualTo(new LongSerializer().serialize("t", 42L));
        assertThat(serializer.serialize("t", "text")).isEqualTo(bytes("text"));
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> serializer.serialize("t", new Order("1")))
                .hasMessageContaining("Cannot write a " + Order.class.getName())
                .hasMessageContaining("set lanes.consumer.listener.dead-letter.value-serializer");
    }

    private static List<ConsumerRecord<byte[], byte[]>> readAll(String topic, int partitions, int expected) {
        Map<String, Object> config = new HashMap<>();
        config.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, BROKER.broker().bootstrapServers());
        config.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class);
        config.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class);
        List<ConsumerRecord<byte[], byte[]>> records = new ArrayList<>();
        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(config)) {
            List<TopicPartition> all = new ArrayList<>();
            for (int p = 0; p < partitions; p++) {
                all.add(new TopicPartition(topic, p));
            }
            consumer.assign(all);
            consumer.seekToBeginning(all);
            long deadline = System.nanoTime() + Duration.ofSeconds(15).toNanos();
            while (records.size() < expected && System.nanoTime() < deadline) {
                consumer.poll(Duration.ofMillis(200)).forEach(records::add);
            }
        }
        return records;
    }

    private static byte[] header(ConsumerRecord<?, ?> record, String key) {
        Header header = record.headers().lastHeader(key);
        return header == null ? null : header.value();
    }

    private static byte[] bytes(String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }

    private static String text(byte[] bytes) {
        return bytes == null ? null : new String(bytes, StandardCharsets.UTF_8);
    }

    /** A value type of the application's own, which only a configured serializer can write. */
    public record Order(String id) {
    }

    public static class OrderDeserializer implements Deserializer<Order> {
        @Override
        public Order deserialize(String topic, byte[] data) {
            return new Order(text(data));
        }
    }

    public static class OrderSerializer implements Serializer<Order> {
        @Override
        public byte[] serialize(String topic, Order data) {
            return bytes("order#" + data.id());
        }
    }

    static class Listeners {
        @LanesListener(id = "orders", topics = "orders", groupId = "orders-group")
        void orders(Order order) {
            if (Long.parseLong(order.id()) % 2 == 1) {
                orderAttempts.incrementAndGet();
                throw new IllegalStateException("order " + order.id() + " is odd");
            }
            done.add("order-" + order.id());
        }

        @LanesListener(id = "casts", topics = "casts", groupId = "casts-group")
        void casts(Order order) {
            castAttempts.incrementAndGet();
            Object value = order.id();
            done.add("cast-" + (Integer) value);
        }

        @LanesListener(id = "batch", topics = "batch", groupId = "batch-group")
        void batch(List<ConsumerRecord<String, Order>> records) {
            for (int i = 0; i < records.size(); i++) {
                Order order = records.get(i).value();
                if (order.id().equals("b2")) {
                    throw new BatchListenerFailedException("b2 failed", new IllegalArgumentException("b2"), i);
                }
                batchOffsetsSeen.add(records.get(i).offset());
                done.add("batch-" + order.id());
            }
        }
    }

    @Configuration(proxyBeanMethods = false)
    @ImportAutoConfiguration(LanesAutoConfiguration.class)
    static class App {
        @Bean
        Listeners listeners() {
            return new Listeners();
        }
    }
}
