package dev.lanes.spring.kafka;

import dev.lanes.consumer.LanesConsumer;
import dev.lanes.consumer.testing.KafkaBroker;
import dev.lanes.consumer.testing.KafkaBrokerExtension;
import org.apache.kafka.clients.admin.AlterConfigOp;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.config.ConfigResource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.springframework.boot.SpringBootConfiguration;
import org.springframework.boot.autoconfigure.EnableAutoConfiguration;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.context.annotation.Bean;
import org.springframework.kafka.annotation.KafkaListener;
import org.springframework.kafka.config.KafkaListenerEndpointRegistry;
import org.springframework.kafka.listener.ConcurrentMessageListenerContainer;

import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;

import static dev.lanes.spring.kafka.SpringKafkaApps.committed;
import static dev.lanes.spring.kafka.SpringKafkaApps.produce;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Listener containers starting, stopping and working slowly on Lanes: a concurrent container shut down
 * gracefully in the middle of a backlog and started again neither loses nor re-reads a record, and a
 * listener much slower than the group's session timeout keeps its membership.
 */
class SpringKafkaContainerLifecycleIT {

    @RegisterExtension
    static final KafkaBrokerExtension BROKER = new KafkaBrokerExtension();

    private static final Duration WAIT = Duration.ofSeconds(60);
    static final List<String> ordersSeen = new CopyOnWriteArrayList<>();
    static final Set<Consumer<?, ?>> ordersConsumers = ConcurrentHashMap.newKeySet();
    static final List<String> slowSeen = new CopyOnWriteArrayList<>();
    static final List<String> slowMembership = new CopyOnWriteArrayList<>();

    @Test
    void concurrentContainerShutDownGracefullyAndRestartedLosesAndRereadsNothing() throws Exception {
        KafkaBroker broker = BROKER.broker();
        broker.createTopic("orders", 3);
        for (int partition = 0; partition < 3; partition++) {
            broker.produce("orders", partition, 150, 16);
        }

        try (ConfigurableApplicationContext first = SpringKafkaApps.start(broker, OrdersApp.class,
                "spring.kafka.consumer.max-poll-records=10")) {
            await().atMost(WAIT).until(() -> ordersSeen.size() >= 150);
            ConcurrentMessageListenerContainer<?, ?> container = (ConcurrentMessageListenerContainer<?, ?>)
                    first.getBean(KafkaListenerEndpointRegistry.class).getListenerContainer("orders");
            assertThat(container.getContainers()).hasSize(3);
            assertThat(first.getBean(LanesContainerConsumers.class).consumers())
                    .hasSize(3).allSatisfy((consumer, listenerId) -> assertThat(listenerId).isEqualTo("orders"));
        }
        // Graceful shutdown: every record handed to the listener was committed, nothing more.
        int seenBeforeRestart = ordersSeen.size();
        assertThat(seenBeforeRestart).isLessThan(450);
        assertThat(committed(broker, "orders").values().stream().mapToLong(Long::longValue).sum())
                .isEqualTo(seenBeforeRestart);
        assertThat(ordersConsumers).isNotEmpty().allSatisfy(consumer -> assertThat(consumer).isInstanceOf(LanesConsumer.class));

        for (int partition = 0; partition < 3; partition++) {
            produce(broker, "orders", partition, "late-" + partition);
        }
        try (ConfigurableApplicationContext second = SpringKafkaApps.start(broker, OrdersApp.class,
                "spring.kafka.consumer.max-poll-records=10")) {
            await().atMost(WAIT).until(() -> ordersSeen.size() >= 453);
            assertThat(second.getBean(LanesContainerConsumers.class).consumers()).hasSize(3);
            Thread.sleep(500);
        }
        assertThat(ordersConsumers).allSatisfy(consumer -> assertThat(consumer).isInstanceOf(LanesConsumer.class));
        assertThat(new HashSet<>(ordersSeen)).hasSize(ordersSeen.size());
        assertThat(ordersSeen).hasSize(453);
        assertThat(committed(broker, "orders")).isEqualTo(Map.of(0, 151L, 1, 151L, 2, 151L));
    }

    @Test
    void listenerSlowerThanTheSessionTimeoutKeepsItsMembership() throws Exception {
        KafkaBroker broker = BROKER.broker();
        broker.createTopic("slow", 1);
        // The broker's floor: a member silent for 2 s is fenced.
        broker.admin().incrementalAlterConfigs(Map.of(new ConfigResource(ConfigResource.Type.GROUP, "slow"),
                List.of(new AlterConfigOp(new ConfigEntry("consumer.session.timeout.ms", "2000"), AlterConfigOp.OpType.SET))))
                .all().get();
        produce(broker, "slow", "s0", "s1", "s2");

        try (ConfigurableApplicationContext context = SpringKafkaApps.start(broker, SlowApp.class)) {
            await().atMost(WAIT).until(() -> slowSeen.size() >= 3);
            await().atMost(WAIT).untilAsserted(() -> assertThat(committed(broker, "slow")).containsEntry(0, 3L));
            assertThat(context.getBean(SlowListener.class).consumer).isInstanceOf(LanesConsumer.class);
        }
        assertThat(slowSeen).containsExactly("s0", "s1", "s2");
        // Same member, same epoch: never fenced, never reassigned, although each record took 3 s.
        assertThat(slowMembership).hasSize(3).containsOnly(slowMembership.get(0));
    }

    @SpringBootConfiguration
    @EnableAutoConfiguration
    static class OrdersApp {

        @Bean
        OrdersListener ordersListener() {
            return new OrdersListener();
        }
    }

    static class OrdersListener {

        @KafkaListener(id = "orders", topics = "orders", concurrency = "3")
        void listen(ConsumerRecord<String, String> record, Consumer<?, ?> consumer) throws InterruptedException {
            ordersConsumers.add(consumer);
            ordersSeen.add(record.partition() + "@" + record.offset());
            Thread.sleep(5);
        }
    }

    @SpringBootConfiguration
    @EnableAutoConfiguration
    static class SlowApp {

        @Bean
        SlowListener slowListener() {
            return new SlowListener();
        }
    }

    static class SlowListener {
        volatile Consumer<?, ?> consumer;

        @KafkaListener(id = "slow", topics = "slow", properties = "max.poll.records=1")
        void listen(String value, Consumer<?, ?> consumer) throws InterruptedException {
            this.consumer = consumer;
            slowMembership.add(consumer.groupMetadata().memberId() + "/" + consumer.groupMetadata().generationId());
            Thread.sleep(3000);
            slowSeen.add(value);
        }
    }
}
