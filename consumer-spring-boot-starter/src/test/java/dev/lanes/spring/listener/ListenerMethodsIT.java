package dev.lanes.spring.listener;

import dev.lanes.consumer.testing.KafkaBrokerExtension;
import dev.lanes.spring.Acknowledgment;
import dev.lanes.spring.LanesHeaders;
import dev.lanes.spring.LanesListener;
import dev.lanes.spring.autoconfigure.LanesAutoConfiguration;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.springframework.boot.WebApplicationType;
import org.springframework.boot.autoconfigure.ImportAutoConfiguration;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.messaging.handler.annotation.Header;
import org.springframework.messaging.handler.annotation.Headers;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** Listener methods written as spring-kafka users write them, against a real broker. */
class ListenerMethodsIT {

    @RegisterExtension
    static final KafkaBrokerExtension BROKER = new KafkaBrokerExtension();

    static final List<String> seen = new CopyOnWriteArrayList<>();
    static final List<Order> orders = new CopyOnWriteArrayList<>();
    static final List<List<Order>> orderBatches = new CopyOnWriteArrayList<>();
    static final List<String> acked = new CopyOnWriteArrayList<>();
    static final List<Object> consumerCalls = new CopyOnWriteArrayList<>();
    static final List<String> immediate = new CopyOnWriteArrayList<>();
    static final List<Long> batchOffsets = new CopyOnWriteArrayList<>();
    static final java.util.concurrent.CountDownLatch holdY = new java.util.concurrent.CountDownLatch(1);

    public record Order(String id, int quantity) {
    }

    @Test
    void headersConversionAcknowledgmentAndTheConsumer() throws Exception {
        for (String topic : List.of("headers", "json", "json-batch", "acks", "immediate")) {
            BROKER.broker().createTopic(topic, 1);
        }
        try (var producer = BROKER.broker().producer()) {
            ProducerRecord<byte[], byte[]> traced = new ProducerRecord<>("headers", 0, 1_000L, bytes("k1"), bytes("v1"));
            traced.headers().add("trace", bytes("t-1")).add("attempt", bytes("3"));
            producer.send(traced).get();
            producer.send(new ProducerRecord<>("json", 0, null, bytes("{\"id\":\"o-1\",\"quantity\":2}"))).get();
            producer.send(new ProducerRecord<>("json-batch", 0, null, bytes("{\"id\":\"b-1\",\"quantity\":1}"))).get();
            producer.send(new ProducerRecord<>("json-batch", 0, null, bytes("{\"id\":\"b-2\",\"quantity\":5}"))).get();
            for (String value : List.of("a", "b", "c", "d")) {
                producer.send(new ProducerRecord<>("acks", 0, null, bytes(value))).get();
            }
            for (String value : List.of("x", "y", "z")) {
                producer.send(new ProducerRecord<>("immediate", 0, null, bytes(value))).get();
            }
        }
        ConfigurableApplicationContext context = new SpringApplicationBuilder(App.class).web(WebApplicationType.NONE).properties(
                "lanes.consumer.bootstrap-servers=" + BROKER.broker().bootstrapServers(),
                "lanes.consumer.auto-offset-reset=earliest",
                "lanes.consumer.poll-timeout=200ms",
                "lanes.consumer.listener.retry.attempts=0",
                "lanes.consumer.listeners.acks.commit-mode=manual",
                "lanes.consumer.listeners.immediate.commit-mode=manual-immediate").run();
        try {
            await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
                assertThat(seen).containsExactly("v1|t-1|3|headers|0|0|k1|1000|absent|t-1|methods-group");
                assertThat(orders).containsExactly(new Order("o-1", 2));
                assertThat(orderBatches.stream().flatMap(List::stream).toList())
                        .containsExactly(new Order("b-1", 1), new Order("b-2", 5));
                assertThat(batchOffsets).containsExactly(0L, 1L);
                assertThat(acked).containsExactly("a", "b", "c", "d");
            });
            assertThat(consumerCalls).containsExactly(Set.of(new TopicPartition("headers", 0)), UnsupportedOperationException.class);
            await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(committed("acks")).isEqualTo(2));
            // manual-immediate: "x" is committed while the listener still holds "y", in the same poll.
            await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> assertThat(committed("immediate")).isEqualTo(1));
            holdY.countDown();
            await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> assertThat(committed("immediate")).isEqualTo(3));
            assertThat(immediate).containsExactly("x", "y:released", "z");
        } finally {
            context.close();
        }
        // Only what the listener acknowledged (up to "b") is committed, at shutdown too.
        assertThat(committed("acks")).isEqualTo(2);
    }

    private static long committed(String topic) throws Exception {
        Map<TopicPartition, OffsetAndMetadata> offsets = BROKER.broker().admin()
                .listConsumerGroupOffsets("methods-group").partitionsToOffsetAndMetadata().get();
        OffsetAndMetadata offset = offsets.get(new TopicPartition(topic, 0));
        return offset == null ? -1 : offset.offset();
    }

    private static byte[] bytes(String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }

    static class Listeners {
        @LanesListener(id = "headers", topics = "headers", groupId = "methods-group")
        void headers(String value, @Header("trace") String trace, @Header("attempt") int attempt,
                     @Header(LanesHeaders.RECEIVED_TOPIC) String topic, @Header(LanesHeaders.RECEIVED_PARTITION) int partition,
                     @Header(LanesHeaders.OFFSET) long offset, @Header(LanesHeaders.RECEIVED_KEY) String key,
                     @Header(LanesHeaders.RECEIVED_TIMESTAMP) long timestamp,
                     @Header(name = "missing", defaultValue = "absent") String missing,
                     @Headers Map<String, Object> headers, Consumer<String, String> consumer) {
            consumerCalls.add(consumer.assignment());
            try {
                consumer.poll(Duration.ZERO);
            } catch (UnsupportedOperationException e) {
                consumerCalls.add(e.getClass());
            }
            seen.add(String.join("|", value, trace, String.valueOf(attempt), topic, String.valueOf(partition),
                    String.valueOf(offset), key, String.valueOf(timestamp), missing,
                    new String((byte[]) headers.get("trace"), StandardCharsets.UTF_8), (String) headers.get(LanesHeaders.GROUP_ID)));
        }

        @LanesListener(id = "json", topics = "json", groupId = "methods-group")
        void json(Order order) {
            orders.add(order);
        }

        @LanesListener(id = "json-batch", topics = "json-batch", groupId = "methods-group")
        void jsonBatch(List<Order> batch, @Header(LanesHeaders.OFFSET) List<Long> offsets) {
            orderBatches.add(batch);
            batchOffsets.addAll(offsets);
        }

        @LanesListener(id = "immediate", topics = "immediate", groupId = "methods-group")
        void immediate(String value, Acknowledgment acknowledgment) throws InterruptedException {
            if (value.equals("y")) {
                value = holdY.await(30, java.util.concurrent.TimeUnit.SECONDS) ? "y:released" : "y:timed-out";
            }
            immediate.add(value);
            acknowledgment.acknowledge();
        }

        @LanesListener(id = "acks", topics = "acks", groupId = "methods-group")
        void acks(String value, Acknowledgment acknowledgment) {
            acked.add(value);
            if (value.equals("b")) {
                acknowledgment.acknowledge();
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
