package dev.lanes.spring.listener;

import dev.lanes.consumer.testing.KafkaBroker;
import dev.lanes.consumer.testing.KafkaBrokerExtension;
import dev.lanes.consumer.LanesConsumer;
import dev.lanes.spring.DeadLetterPublisher;
import dev.lanes.spring.LanesConsumerFactory;
import dev.lanes.spring.LanesListener;
import dev.lanes.spring.LanesListenerContainer;
import dev.lanes.spring.LanesListenerContainerRegistry;
import dev.lanes.spring.ListenerConsumer;
import dev.lanes.spring.actuate.ConsumerDescriptor;
import dev.lanes.spring.actuate.LanesHealthIndicator;
import dev.lanes.spring.autoconfigure.LanesAutoConfiguration;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.springframework.boot.WebApplicationType;
import org.springframework.boot.autoconfigure.ImportAutoConfiguration;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.boot.health.contributor.Status;
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
import java.util.stream.IntStream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

@ExtendWith(OutputCaptureExtension.class)
class LanesListenerIT {

    @RegisterExtension
    static final KafkaBrokerExtension BROKER = new KafkaBrokerExtension();

    static final List<String> singles = new CopyOnWriteArrayList<>();
    static final List<Integer> batchSizes = new CopyOnWriteArrayList<>();
    static final List<String> batchValues = new CopyOnWriteArrayList<>();
    static final List<String> failingSeen = new CopyOnWriteArrayList<>();
    static final AtomicInteger failingAttempts = new AtomicInteger();
    static final List<String> poisonSeen = new CopyOnWriteArrayList<>();
    static final List<String> replacedSeen = new CopyOnWriteArrayList<>();
    static final List<String> stayDeadSeen = new CopyOnWriteArrayList<>();
    static final List<String> backOffSeen = new CopyOnWriteArrayList<>();

    @Test
    void listenersReceiveRecordsCommitOnShutdownDeadLetterFailuresAndPoisonPills() throws Exception {
        KafkaBroker broker = BROKER.broker();
        for (String topic : List.of("singles", "batches", "failing", "failing.DLT", "poison", "poison.DLT")) {
            broker.createTopic(topic, 1);
        }
        produce("singles", "a", "b", "c");
        produce("batches", "1", "2", "3", "4", "5");
        produce("failing", "ok-1", "boom", "ok-2");
        produce("poison", "p-1", "POISON", "p-2");

        ConfigurableApplicationContext context = app(broker,
                "lanes.consumer.listener.retry.attempts=2",
                "lanes.consumer.listener.retry.back-off=100ms",
                "lanes.consumer.listener.dead-letter.enabled=true");
        try {
            await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
                assertThat(singles).containsExactly("a", "b", "c");
                assertThat(batchValues).containsExactly("1", "2", "3", "4", "5");
                assertThat(failingSeen).contains("ok-1", "ok-2");
                assertThat(poisonSeen).containsExactly("p-1", "p-2");
            });
            assertThat(failingAttempts.get()).isEqualTo(3);
            assertThat(Thread.getAllStackTraces().keySet()).extracting(Thread::getName)
                    .contains("lanes-listener-singles-0", "lanes-listener-batches-0");

            List<ConsumerRecord<byte[], byte[]>> dead = readAll("failing.DLT", 1);
            assertThat(dead).hasSize(1);
            ConsumerRecord<byte[], byte[]> letter = dead.get(0);
            assertThat(text(letter.value())).isEqualTo("boom");
            assertThat(text(letter.key())).isEqualTo("key-boom");
            assertThat(header(letter, "origin")).isEqualTo("test");
            assertThat(header(letter, DeadLetterPublisher.EXCEPTION_FQCN)).isEqualTo(IllegalStateException.class.getName());
            assertThat(header(letter, DeadLetterPublisher.EXCEPTION_MESSAGE)).isEqualTo("cannot process boom");
            assertThat(header(letter, DeadLetterPublisher.ORIGINAL_TOPIC)).isEqualTo("failing");
            assertThat(letter.headers().lastHeader(DeadLetterPublisher.ORIGINAL_PARTITION).value()).isEqualTo(new byte[4]);
            assertThat(ByteBuffer.wrap(letter.headers().lastHeader(DeadLetterPublisher.ORIGINAL_OFFSET).value()).getLong()).isEqualTo(1);

            List<ConsumerRecord<byte[], byte[]>> poison = readAll("poison.DLT", 1);
            assertThat(poison).hasSize(1);
            assertThat(text(poison.get(0).value())).isEqualTo("POISON");
            assertThat(ByteBuffer.wrap(poison.get(0).headers().lastHeader(DeadLetterPublisher.ORIGINAL_OFFSET).value()).getLong()).isEqualTo(1);
            assertThat(header(poison.get(0), DeadLetterPublisher.EXCEPTION_MESSAGE)).contains("poison pill");
        } finally {
            context.close();
        }

        assertThat(committed("singles-group", "singles")).isEqualTo(3);
        assertThat(committed("batches-group", "batches")).isEqualTo(5);
        assertThat(committed("failing-group", "failing")).isEqualTo(3);
        assertThat(committed("poison-group", "poison")).isEqualTo(3);
        assertThat(batchSizes.stream().mapToInt(Integer::intValue).sum()).isEqualTo(5);
    }

    @Test
    void aBadPropertyFailsStartupWithTheAnalyzersMessage(CapturedOutput output) {
        assertThatThrownBy(() -> app(BROKER.broker(), "lanes.consumer.user-lane-capacity=0").close())
                .hasStackTraceContaining("lanes.consumer.user-lane-capacity");
        assertThat(output).contains("APPLICATION FAILED TO START")
                .contains("Property: lanes.consumer.user-lane-capacity")
                .contains("[1,...,1048576]");
    }

    @Test
    void aConsumerWhoseBackgroundThreadDiesIsReplacedAndResumesFromTheCommittedOffsets() throws Exception {
        KafkaBroker broker = BROKER.broker();
        broker.createTopic("replaced", 1);
        List<String> before = values("before-", 20);
        List<String> after = values("after-", 10);
        produce("replaced", before.toArray(String[]::new));

        ConfigurableApplicationContext context = app(ReplaceApp.class, broker, "lanes.consumer.listener.replace-back-off=3s");
        try {
            LanesListenerContainerRegistry registry = context.getBean(LanesListenerContainerRegistry.class);
            LanesListenerContainer container = registry.container("replaced").orElseThrow();
            LanesHealthIndicator health = new LanesHealthIndicator(registry);
            List<Consumer<?, ?>> created = new CopyOnWriteArrayList<>();
            List<Consumer<?, ?>> closed = new CopyOnWriteArrayList<>();
            context.getBean(LanesConsumerFactory.class).addListener(new LanesConsumerFactory.ConsumerLifecycleListener() {
                @Override
                public void consumerCreated(String listenerId, LanesConsumer<?, ?> consumer) {
                    created.add(consumer);
                }

                @Override
                public void consumerClosed(String listenerId, LanesConsumer<?, ?> consumer) {
                    closed.add(consumer);
                }
            });
            await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
                assertThat(replacedSeen).containsExactlyElementsOf(before);
                assertThat(committed("replaced-group", "replaced")).isEqualTo(20);
            });
            ListenerConsumer<?, ?> first = container.consumers().get(0);

            backgroundThread(first.clientId()).interrupt();

            // DOWN while the slot waits out the back-off, with the failed consumer still shown.
            await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> {
                assertThat(first.diagnostics().backgroundFailure()).isPresent();
                assertThat(closed).contains(first.consumer());
                assertThat(container.consumers()).containsExactly(first);
                assertThat(health.health(true).getStatus()).isEqualTo(Status.DOWN);
            });
            // Then a fresh consumer, created (meters bound) through the factory, and UP again.
            await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> {
                assertThat(container.consumers()).hasSize(1).doesNotContain(first);
                assertThat(created).containsExactly(container.consumers().get(0).consumer());
                assertThat(ConsumerDescriptor.isBroken(container.consumers().get(0))).isFalse();
                assertThat(health.health(true).getStatus()).isEqualTo(Status.UP);
            });
            assertThat(container.isRunning()).isTrue();
            assertThat(container.consumers().get(0).clientId()).isEqualTo(first.clientId());
            assertThat(threadNames()).contains("lanes-listener-replaced-0");

            produce("replaced", after.toArray(String[]::new));
            await().atMost(Duration.ofSeconds(60)).untilAsserted(() ->
                    assertThat(replacedSeen).hasSize(before.size() + after.size()));
            // Everything committed before the failure stayed consumed: nothing was delivered twice.
            List<String> all = new ArrayList<>(before);
            all.addAll(after);
            assertThat(replacedSeen).containsExactlyElementsOf(all);
        } finally {
            context.close();
        }
        assertThat(committed("replaced-group", "replaced")).isEqualTo(30);
    }

    @Test
    void withoutReplacementTheSlotOfAFailedConsumerStaysDead() throws Exception {
        KafkaBroker broker = BROKER.broker();
        broker.createTopic("stay-dead", 1);
        produce("stay-dead", "d-1", "d-2", "d-3");

        ConfigurableApplicationContext context = app(StayDeadApp.class, broker,
                "lanes.consumer.listener.replace-failed-consumers=false",
                "lanes.consumer.listener.replace-back-off=200ms");
        try {
            LanesListenerContainerRegistry registry = context.getBean(LanesListenerContainerRegistry.class);
            LanesListenerContainer container = registry.container("stay-dead").orElseThrow();
            await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
                assertThat(stayDeadSeen).containsExactly("d-1", "d-2", "d-3");
                assertThat(committed("stay-dead-group", "stay-dead")).isEqualTo(3);
            });
            ListenerConsumer<?, ?> first = container.consumers().get(0);

            backgroundThread(first.clientId()).interrupt();

            await().atMost(Duration.ofSeconds(10)).untilAsserted(() ->
                    assertThat(threadNames()).doesNotContain("lanes-listener-stay-dead-0"));
            produce("stay-dead", "d-4");
            Thread.sleep(2_000);
            assertThat(stayDeadSeen).containsExactly("d-1", "d-2", "d-3");
            assertThat(container.consumers()).containsExactly(first);
            assertThat(new LanesHealthIndicator(registry).health(true).getStatus()).isEqualTo(Status.DOWN);
        } finally {
            context.close();
        }
        assertThat(committed("stay-dead-group", "stay-dead")).isEqualTo(3);
    }

    @Test
    void stoppingTheContainerEndsTheBackOffBeforeAReplacementAtOnce() throws Exception {
        KafkaBroker broker = BROKER.broker();
        broker.createTopic("backoff", 1);
        produce("backoff", "b-1");

        ConfigurableApplicationContext context = app(BackOffApp.class, broker, "lanes.consumer.listener.replace-back-off=1m");
        try {
            LanesListenerContainer container = context.getBean(LanesListenerContainerRegistry.class).container("backoff").orElseThrow();
            await().atMost(Duration.ofSeconds(30)).until(() -> backOffSeen.contains("b-1"));
            ListenerConsumer<?, ?> first = container.consumers().get(0);

            backgroundThread(first.clientId()).interrupt();
            await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(ConsumerDescriptor.isBroken(first)).isTrue());
            Thread.sleep(1_000); // the listener thread has noticed and is waiting out the back-off

            long started = System.nanoTime();
            container.stop();
            assertThat(Duration.ofNanos(System.nanoTime() - started)).isLessThan(Duration.ofSeconds(3));
            assertThat(container.isRunning()).isFalse();
            assertThat(threadNames()).doesNotContain("lanes-listener-backoff-0");
        } finally {
            context.close();
        }
    }

    private static Thread backgroundThread(String clientId) {
        String name = "lanes-consumer-network-thread | " + clientId;
        return Thread.getAllStackTraces().keySet().stream()
                .filter(thread -> thread.getName().equals(name))
                .findFirst()
                .orElseThrow(() -> new AssertionError("no thread named " + name));
    }

    private static List<String> threadNames() {
        return Thread.getAllStackTraces().keySet().stream().filter(Thread::isAlive).map(Thread::getName).toList();
    }

    private static List<String> values(String prefix, int count) {
        return IntStream.rangeClosed(1, count).mapToObj(n -> prefix + n).toList();
    }

    private static ConfigurableApplicationContext app(KafkaBroker broker, String... extra) {
        return app(App.class, broker, extra);
    }

    private static ConfigurableApplicationContext app(Class<?> source, KafkaBroker broker, String... extra) {
        List<String> properties = new ArrayList<>(List.of(
                "lanes.consumer.bootstrap-servers=" + broker.bootstrapServers(),
                "lanes.consumer.auto-offset-reset=earliest",
                "lanes.consumer.poll-timeout=200ms",
                "lanes.consumer.shutdown-timeout=10s",
                "lanes.consumer.value-deserializer=" + PoisonAwareDeserializer.class.getName()));
        properties.addAll(List.of(extra));
        return new SpringApplicationBuilder(source)
                .web(WebApplicationType.NONE)
                .properties(properties.toArray(String[]::new))
                .run();
    }

    private static void produce(String topic, String... values) throws Exception {
        try (var producer = BROKER.broker().producer()) {
            for (String value : values) {
                ProducerRecord<byte[], byte[]> record = new ProducerRecord<>(topic, 0, bytes("key-" + value), bytes(value));
                record.headers().add("origin", bytes("test"));
                producer.send(record).get();
            }
        }
    }

    private static long committed(String group, String topic) throws Exception {
        Map<TopicPartition, OffsetAndMetadata> offsets = BROKER.broker().admin()
                .listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata().get();
        OffsetAndMetadata offset = offsets.get(new TopicPartition(topic, 0));
        return offset == null ? -1 : offset.offset();
    }

    private static List<ConsumerRecord<byte[], byte[]>> readAll(String topic, int expected) {
        Map<String, Object> config = new HashMap<>();
        config.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, BROKER.broker().bootstrapServers());
        config.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class);
        config.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class);
        List<ConsumerRecord<byte[], byte[]>> records = new ArrayList<>();
        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(config)) {
            TopicPartition partition = new TopicPartition(topic, 0);
            consumer.assign(List.of(partition));
            consumer.seekToBeginning(List.of(partition));
            long deadline = System.nanoTime() + Duration.ofSeconds(15).toNanos();
            while (records.size() < expected && System.nanoTime() < deadline) {
                consumer.poll(Duration.ofMillis(200)).forEach(records::add);
            }
        }
        return records;
    }

    private static String header(ConsumerRecord<?, ?> record, String key) {
        Header header = record.headers().lastHeader(key);
        return header == null ? null : text(header.value());
    }

    private static byte[] bytes(String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }

    private static String text(byte[] bytes) {
        return bytes == null ? null : new String(bytes, StandardCharsets.UTF_8);
    }

    /** A String deserializer that fails on the value "POISON". */
    public static class PoisonAwareDeserializer implements Deserializer<String> {
        private final StringDeserializer delegate = new StringDeserializer();

        @Override
        public String deserialize(String topic, byte[] data) {
            String value = delegate.deserialize(topic, data);
            if ("POISON".equals(value)) {
                throw new IllegalArgumentException("poison pill");
            }
            return value;
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

    @Configuration(proxyBeanMethods = false)
    @ImportAutoConfiguration(LanesAutoConfiguration.class)
    static class ReplaceApp {
        @Bean
        ReplacedListener replacedListener() {
            return new ReplacedListener();
        }
    }

    static class ReplacedListener {
        @LanesListener(id = "replaced", topics = "replaced", groupId = "replaced-group")
        void replaced(String value) {
            replacedSeen.add(value);
        }
    }

    @Configuration(proxyBeanMethods = false)
    @ImportAutoConfiguration(LanesAutoConfiguration.class)
    static class StayDeadApp {
        @Bean
        StayDeadListener stayDeadListener() {
            return new StayDeadListener();
        }
    }

    static class StayDeadListener {
        @LanesListener(id = "stay-dead", topics = "stay-dead", groupId = "stay-dead-group")
        void stayDead(String value) {
            stayDeadSeen.add(value);
        }
    }

    @Configuration(proxyBeanMethods = false)
    @ImportAutoConfiguration(LanesAutoConfiguration.class)
    static class BackOffApp {
        @Bean
        BackOffListener backOffListener() {
            return new BackOffListener();
        }
    }

    static class BackOffListener {
        @LanesListener(id = "backoff", topics = "backoff", groupId = "backoff-group")
        void backOff(String value) {
            backOffSeen.add(value);
        }
    }

    static class Listeners {
        @LanesListener(id = "singles", topics = "singles", groupId = "singles-group")
        void single(ConsumerRecord<String, String> record) {
            singles.add(record.value());
        }

        @LanesListener(id = "batches", topics = "batches", groupId = "batches-group")
        void batch(List<ConsumerRecord<String, String>> records) {
            batchSizes.add(records.size());
            records.forEach(record -> batchValues.add(record.value()));
        }

        @LanesListener(id = "failing", topics = "failing", groupId = "failing-group")
        void failing(String value) {
            if (value.equals("boom")) {
                failingAttempts.incrementAndGet();
                throw new IllegalStateException("cannot process boom");
            }
            failingSeen.add(value);
        }

        @LanesListener(id = "poison", topics = "poison", groupId = "poison-group")
        void poison(String value) {
            poisonSeen.add(value);
        }
    }
}
