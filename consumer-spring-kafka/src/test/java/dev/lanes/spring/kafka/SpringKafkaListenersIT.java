package dev.lanes.spring.kafka;

import dev.lanes.consumer.LanesConsumer;
import dev.lanes.consumer.testing.KafkaBroker;
import dev.lanes.consumer.testing.KafkaBrokerExtension;
import io.micrometer.core.instrument.MeterRegistry;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.springframework.boot.SpringBootConfiguration;
import org.springframework.boot.autoconfigure.EnableAutoConfiguration;
import org.springframework.boot.health.contributor.Health;
import org.springframework.boot.health.contributor.HealthIndicator;
import org.springframework.boot.health.contributor.Status;
import org.springframework.boot.kafka.autoconfigure.ConcurrentKafkaListenerContainerFactoryConfigurer;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.context.annotation.Bean;
import org.springframework.kafka.annotation.KafkaListener;
import org.springframework.kafka.config.ConcurrentKafkaListenerContainerFactory;
import org.springframework.kafka.config.KafkaListenerEndpointRegistry;
import org.springframework.kafka.core.ConsumerFactory;
import org.springframework.kafka.listener.AbstractConsumerSeekAware;
import org.springframework.kafka.listener.ContainerProperties.AckMode;
import org.springframework.kafka.listener.DefaultErrorHandler;
import org.springframework.kafka.listener.MessageListenerContainer;
import org.springframework.kafka.support.Acknowledgment;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;

import static dev.lanes.spring.kafka.SpringKafkaApps.committed;
import static dev.lanes.spring.kafka.SpringKafkaApps.produce;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Plain {@code @KafkaListener}s of a Boot application, switched to Lanes by the one property: record and
 * batch listeners, manual immediate acknowledgements, seeks, pause and resume, meters and health.
 */
class SpringKafkaListenersIT {

    @RegisterExtension
    static final KafkaBrokerExtension BROKER = new KafkaBrokerExtension();

    private static final Duration WAIT = Duration.ofSeconds(30);
    private static ConfigurableApplicationContext context;
    private static Listeners listeners;
    private static SeekingListener seeking;
    /** What the container of the "async" listener met outside listener calls (a failed commit would be here). */
    static final List<Exception> ASYNC_CONTAINER_ERRORS = new CopyOnWriteArrayList<>();

    @BeforeAll
    static void start() {
        KafkaBroker broker = BROKER.broker();
        for (String topic : List.of("records", "batches", "manual", "seeking", "pausable", "rebalance", "async")) {
            broker.createTopic(topic, 1);
        }
        produce(broker, "records", "r0", "r1", "r2", "r3", "r4", "r5", "r6", "r7", "r8", "r9");
        produce(broker, "batches", "b0", "b1", "b2", "b3", "b4", "b5", "b6", "b7", "b8", "b9");
        produce(broker, "seeking", "s0", "s1", "s2", "s3", "s4");
        context = SpringKafkaApps.start(broker, App.class, "spring.kafka.consumer.max-poll-records=4");
        listeners = context.getBean(Listeners.class);
        seeking = context.getBean(SeekingListener.class);
    }

    @AfterAll
    static void stop() {
        if (context != null) {
            context.close();
        }
    }

    @Test
    void recordListenerGetsEveryRecordInOrderAndTheContainerCommitsThem() {
        await().atMost(WAIT).untilAsserted(() -> assertThat(listeners.records)
                .containsExactly("r0", "r1", "r2", "r3", "r4", "r5", "r6", "r7", "r8", "r9"));
        assertThat(listeners.consumers.get("records")).isInstanceOf(LanesConsumer.class);
        await().atMost(WAIT).untilAsserted(() -> assertThat(committed(BROKER.broker(), "records")).containsEntry(0, 10L));
    }

    @Test
    void batchListenerGetsPollsOfAtMostMaxPollRecords() {
        await().atMost(WAIT).untilAsserted(() -> assertThat(listeners.batchValues)
                .containsExactly("b0", "b1", "b2", "b3", "b4", "b5", "b6", "b7", "b8", "b9"));
        assertThat(listeners.consumers.get("batches")).isInstanceOf(LanesConsumer.class);
        assertThat(listeners.batchSizes).allSatisfy(size -> assertThat(size).isBetween(1, 4));
        await().atMost(WAIT).untilAsserted(() -> assertThat(committed(BROKER.broker(), "batches")).containsEntry(0, 10L));
    }

    @Test
    void manualImmediateAcknowledgementCommitsExactlyWhatWasAcknowledged() throws Exception {
        produce(BROKER.broker(), "manual", "m0", "m1", "hold-2", "m3");
        await().atMost(WAIT).untilAsserted(() -> assertThat(listeners.manual).containsExactly("m0", "m1", "hold-2", "m3"));
        assertThat(listeners.consumers.get("manual")).isInstanceOf(LanesConsumer.class);
        // m3 is acknowledged after hold-2 was not: MANUAL_IMMEDIATE commits m3's offset as given (4).
        await().atMost(WAIT).untilAsserted(() -> assertThat(committed(BROKER.broker(), "manual")).containsEntry(0, 4L));
        assertThat(listeners.manualCommitsSeen).containsExactly(1L, 2L, 4L);
    }

    @Test
    void consumerSeekAwareListenerSeeksOnAssignmentAndLater() {
        await().atMost(WAIT).untilAsserted(() -> assertThat(seeking.values).containsExactly("s3", "s4"));
        seeking.seekToBeginning();
        await().atMost(WAIT).untilAsserted(() -> assertThat(seeking.values)
                .containsExactly("s3", "s4", "s0", "s1", "s2", "s3", "s4"));
        assertThat(seeking.consumer).isInstanceOf(LanesConsumer.class);
    }

    @Test
    void pauseAndResumeThroughTheEndpointRegistry() throws Exception {
        produce(BROKER.broker(), "pausable", "before");
        await().atMost(WAIT).untilAsserted(() -> assertThat(listeners.pausable).containsExactly("before"));
        LanesConsumer<?, ?> consumer = (LanesConsumer<?, ?>) listeners.consumers.get("pausable");

        MessageListenerContainer container = context.getBean(KafkaListenerEndpointRegistry.class).getListenerContainer("pausable");
        container.pause();
        await().atMost(WAIT).until(container::isContainerPaused);
        assertThat(consumer.pausedSnapshot()).containsExactly(new TopicPartition("pausable", 0));
        produce(BROKER.broker(), "pausable", "p1", "p2");
        Thread.sleep(1500);
        assertThat(listeners.pausable).containsExactly("before");

        container.resume();
        await().atMost(WAIT).untilAsserted(() -> assertThat(listeners.pausable).containsExactly("before", "p1", "p2"));
        assertThat(consumer.pausedSnapshot()).isEmpty();
        assertThat(container.isContainerPaused()).isFalse();
    }

    @Test
    void asyncCommitsMeetingBackPressureAreCommittedNotDropped() {
        KafkaBroker broker = BROKER.broker();
        broker.produce("async", 0, 200, 8);
        await().atMost(WAIT).untilAsserted(() -> assertThat(listeners.async).hasSize(200));
        LanesConsumer<?, ?> consumer = (LanesConsumer<?, ?>) listeners.consumers.get("async");
        await().atMost(WAIT).untilAsserted(() -> assertThat(committed(broker, "async")).containsEntry(0, 200L));
        assertThat(listeners.async).doesNotHaveDuplicates();
        assertThat(ASYNC_CONTAINER_ERRORS).isEmpty();
        // A commitAsync per record into a user lane of one: some were refused and committed synchronously.
        double rejections = context.getBean(MeterRegistry.class).find("lanes.consumer.back.pressure.rejections")
                .tag("listener.id", "async").functionCounter().count();
        assertThat(rejections).isPositive();
        assertThat(consumer.isBackgroundThreadAlive()).isTrue();
    }

    @Test
    void enforceRebalanceLeavesTheAssignmentAsTheCoordinatorHasIt() {
        produce(BROKER.broker(), "rebalance", "e0");
        await().atMost(WAIT).untilAsserted(() -> assertThat(listeners.rebalance).containsExactly("e0"));
        LanesConsumer<?, ?> consumer = (LanesConsumer<?, ?>) listeners.consumers.get("rebalance");
        String membership = listeners.rebalanceMembership.get(0);

        // KIP-848 has no member-triggered rebalance: the container asks, the consumer logs and goes on.
        context.getBean(KafkaListenerEndpointRegistry.class).getListenerContainer("rebalance").enforceRebalance();
        produce(BROKER.broker(), "rebalance", "e1", "e2");
        await().atMost(WAIT).untilAsserted(() -> assertThat(listeners.rebalance).containsExactly("e0", "e1", "e2"));
        assertThat(listeners.rebalanceMembership).containsOnly(membership);
        assertThat(consumer.assignmentSnapshot()).containsExactly(new TopicPartition("rebalance", 0));
        assertThat(consumer.isBackgroundThreadAlive()).isTrue();
    }

    @Test
    void kafkaClientMetricsAndLanesMetersAndHealthCoverEachContainersConsumer() {
        await().atMost(WAIT).untilAsserted(() -> assertThat(listeners.records).hasSize(10));
        LanesConsumer<?, ?> consumer = (LanesConsumer<?, ?>) listeners.consumers.get("records");
        MeterRegistry registry = context.getBean(MeterRegistry.class);

        // Spring Boot's KafkaClientMetrics, bound through the factory's listener: the standard consumer metrics, as
        // for a KafkaConsumer (lag per partition above all); Lanes' own group only once, as lanes.consumer.*.
        await().atMost(WAIT).untilAsserted(() -> {
            assertThat(registry.find("kafka.consumer.request.total").tag("client.id", consumer.clientId())
                    .functionCounter().count()).isPositive();
            // (Per-topic and per-partition meters appear when KafkaClientMetrics next looks for new metrics.)
            assertThat(registry.find("kafka.consumer.fetch.manager.records.consumed.total")
                    .tag("client.id", consumer.clientId()).functionCounters())
                    .singleElement().satisfies(counter -> assertThat(counter.count()).isGreaterThanOrEqualTo(10));
            assertThat(registry.find("kafka.consumer.fetch.manager.records.lag.max").tag("client.id", consumer.clientId())
                    .meters()).isNotEmpty();
        });
        assertThat(registry.getMeters()).noneMatch(meter -> meter.getId().getName().startsWith("kafka.lanes."));

        // Lanes' own meters, tagged with the listener id.
        assertThat(registry.find("lanes.consumer.lane.queue.time").tag("listener.id", "records")
                .tag("client.id", consumer.clientId()).timers()).hasSize(2);
        await().atMost(WAIT).untilAsserted(() -> assertThat(registry.find("lanes.consumer.records.consumed")
                .tag("listener.id", "records").functionCounter().count()).isGreaterThanOrEqualTo(10));
        assertThat(registry.find("lanes.consumer.member.state").tag("listener.id", "batches").tag("state", "STABLE")
                .gauge()).isNotNull();

        LanesContainerConsumers containerConsumers = context.getBean(LanesContainerConsumers.class);
        assertThat(containerConsumers.listenerId(consumer)).contains("records");
        assertThat(containerConsumers.consumers().values())
                .containsExactlyInAnyOrder("records", "batches", "manual", "seeking", "pausable", "rebalance", "async");

        Health health = context.getBean("lanesHealthIndicator", HealthIndicator.class).health();
        assertThat(health.getStatus()).isEqualTo(Status.UP);
        @SuppressWarnings("unchecked")
        Map<String, Map<String, Object>> details = (Map<String, Map<String, Object>>) health.getDetails().get("consumers");
        assertThat(details.get(consumer.clientId())).containsEntry("listenerId", "records")
                .containsEntry("backgroundThreadAlive", true);
    }

    @SpringBootConfiguration
    @EnableAutoConfiguration
    static class App {

        @Bean
        Listeners listeners() {
            return new Listeners();
        }

        @Bean
        SeekingListener seekingListener() {
            return new SeekingListener();
        }

        @Bean
        ConcurrentKafkaListenerContainerFactory<Object, Object> manualImmediateFactory(
                ConcurrentKafkaListenerContainerFactoryConfigurer configurer, ConsumerFactory<Object, Object> consumerFactory) {
            ConcurrentKafkaListenerContainerFactory<Object, Object> factory = new ConcurrentKafkaListenerContainerFactory<>();
            configurer.configure(factory, consumerFactory);
            factory.getContainerProperties().setAckMode(AckMode.MANUAL_IMMEDIATE);
            return factory;
        }

        @Bean
        ConcurrentKafkaListenerContainerFactory<Object, Object> asyncCommitsFactory(
                ConcurrentKafkaListenerContainerFactoryConfigurer configurer, ConsumerFactory<Object, Object> consumerFactory) {
            ConcurrentKafkaListenerContainerFactory<Object, Object> factory = new ConcurrentKafkaListenerContainerFactory<>();
            configurer.configure(factory, consumerFactory);
            factory.getContainerProperties().setAckMode(AckMode.RECORD);
            factory.getContainerProperties().setSyncCommits(false);
            factory.setCommonErrorHandler(new DefaultErrorHandler() {
                @Override
                public void handleOtherException(Exception thrownException, Consumer<?, ?> consumer,
                                                 MessageListenerContainer container, boolean batchListener) {
                    ASYNC_CONTAINER_ERRORS.add(thrownException);
                    super.handleOtherException(thrownException, consumer, container, batchListener);
                }
            });
            return factory;
        }
    }

    static class Listeners {
        final Map<String, Consumer<?, ?>> consumers = new ConcurrentHashMap<>();
        final List<String> records = new CopyOnWriteArrayList<>();
        final List<Integer> batchSizes = new CopyOnWriteArrayList<>();
        final List<String> batchValues = new CopyOnWriteArrayList<>();
        final List<String> manual = new CopyOnWriteArrayList<>();
        final List<Long> manualCommitsSeen = new CopyOnWriteArrayList<>();
        final List<String> pausable = new CopyOnWriteArrayList<>();
        final List<String> rebalance = new CopyOnWriteArrayList<>();
        final List<Long> async = new CopyOnWriteArrayList<>();
        final List<String> rebalanceMembership = new CopyOnWriteArrayList<>();

        @KafkaListener(id = "records", topics = "records")
        void record(ConsumerRecord<String, String> record, Consumer<?, ?> consumer) {
            consumers.put("records", consumer);
            records.add(record.value());
        }

        @KafkaListener(id = "batches", topics = "batches", batch = "true")
        void batch(List<String> values, Consumer<?, ?> consumer) {
            consumers.put("batches", consumer);
            batchSizes.add(values.size());
            batchValues.addAll(values);
        }

        @KafkaListener(id = "manual", topics = "manual", containerFactory = "manualImmediateFactory")
        void manual(ConsumerRecord<String, String> record, Acknowledgment acknowledgment, Consumer<?, ?> consumer) {
            consumers.put("manual", consumer);
            manual.add(record.value());
            if (!record.value().startsWith("hold")) {
                acknowledgment.acknowledge();
                // MANUAL_IMMEDIATE: committed before acknowledge() returns (on the consumer's own thread).
                TopicPartition partition = new TopicPartition(record.topic(), record.partition());
                manualCommitsSeen.add(consumer.committed(java.util.Set.of(partition)).get(partition).offset());
            }
        }

        @KafkaListener(id = "pausable", topics = "pausable")
        void pausable(String value, Consumer<?, ?> consumer) {
            consumers.put("pausable", consumer);
            pausable.add(value);
        }

        @KafkaListener(id = "async", topics = "async", containerFactory = "asyncCommitsFactory",
                properties = "lanes.user.lane.capacity=1")
        void async(ConsumerRecord<String, String> record, Consumer<?, ?> consumer) {
            consumers.put("async", consumer);
            async.add(record.offset());
        }

        @KafkaListener(id = "rebalance", topics = "rebalance")
        void rebalance(String value, Consumer<?, ?> consumer) {
            consumers.put("rebalance", consumer);
            rebalanceMembership.add(consumer.groupMetadata().memberId() + "/" + consumer.groupMetadata().generationId());
            rebalance.add(value);
        }
    }

    static class SeekingListener extends AbstractConsumerSeekAware {
        final List<String> values = new CopyOnWriteArrayList<>();
        final AtomicBoolean firstAssignment = new AtomicBoolean(true);
        volatile Consumer<?, ?> consumer;

        @KafkaListener(id = "seeking", topics = "seeking")
        void listen(String value, Consumer<?, ?> consumer) {
            this.consumer = consumer;
            values.add(value);
        }

        @Override
        public void onPartitionsAssigned(Map<TopicPartition, Long> assignments, ConsumerSeekCallback callback) {
            super.onPartitionsAssigned(assignments, callback);
            if (firstAssignment.compareAndSet(true, false)) {
                assignments.keySet().forEach(partition -> callback.seek(partition.topic(), partition.partition(), 3));
            }
        }
    }
}
