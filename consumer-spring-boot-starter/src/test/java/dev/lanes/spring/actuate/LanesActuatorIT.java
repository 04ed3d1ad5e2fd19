package dev.lanes.spring.actuate;

import dev.lanes.consumer.MemberState;
import dev.lanes.consumer.LanesConsumer;
import dev.lanes.consumer.testing.KafkaBrokerExtension;
import dev.lanes.spring.actuate.LanesEndpoint.ContainerDescriptor;
import dev.lanes.spring.actuate.LanesEndpoint.LanesDescriptor;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.springframework.boot.health.contributor.Health;
import org.springframework.boot.health.contributor.Status;

import java.time.Duration;
import java.util.List;
import java.util.Map;

import static dev.lanes.consumer.testing.TestConsumers.createOffsetsTopic;
import static dev.lanes.consumer.testing.TestConsumers.stringConsumerConfig;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** Health and the {@code lanes} endpoint over real consumers of a real broker. */
class LanesActuatorIT {

    @RegisterExtension
    static final KafkaBrokerExtension BROKER = new KafkaBrokerExtension();

    private static final String TOPIC = "watched";

    private LanesConsumer<String, String> consumer;
    private StubContainer container;
    private StubContainerRegistry registry;

    @BeforeAll
    static void topic() throws Exception {
        BROKER.broker().createTopic(TOPIC, 3);
        BROKER.broker().produce(TOPIC, 0, 10, 50);
        createOffsetsTopic(BROKER.broker());
    }

    @BeforeEach
    void consumerInAContainer() {
        consumer = new LanesConsumer<>(stringConsumerConfig(BROKER.broker().bootstrapServers(), "watchers", "watcher-0"));
        consumer.subscribe(List.of(TOPIC));
        await().atMost(Duration.ofSeconds(30)).until(() -> {
            consumer.poll(Duration.ofMillis(100));
            return consumer.memberState() == MemberState.STABLE && consumer.assignment().size() == 3;
        });
        container = new StubContainer("watch", "watchers", List.of(TOPIC), List.of(consumer));
        registry = new StubContainerRegistry(container);
    }

    @AfterEach
    void close() {
        consumer.close(Duration.ofSeconds(5));
    }

    @Test
    void healthIsUpWithDetailsPerConsumer() {
        Health health = new LanesHealthIndicator(registry).health(true);

        assertThat(health.getStatus()).isEqualTo(Status.UP);
        @SuppressWarnings("unchecked")
        Map<String, Map<String, Object>> consumers = (Map<String, Map<String, Object>>) health.getDetails().get("consumers");
        assertThat(consumers).containsOnlyKeys("watcher-0");
        Map<String, Object> details = consumers.get("watcher-0");
        assertThat(details).containsEntry("listenerId", "watch").containsEntry("memberState", "STABLE")
                .containsEntry("backgroundThreadAlive", true).containsKeys("backPressure", "lanes");
        assertThat(health.getDetails()).doesNotContainKey("failures");
    }

    @Test
    void healthGoesDownWhenTheBackgroundThreadIsKilled() {
        Thread background = Thread.getAllStackTraces().keySet().stream()
                .filter(thread -> thread.getName().equals(consumer.networkThreadName()))
                .findFirst().orElseThrow();
        background.interrupt();
        await().atMost(Duration.ofSeconds(10)).until(() -> !consumer.isBackgroundThreadAlive());

        Health health = new LanesHealthIndicator(registry).health(true);

        assertThat(health.getStatus()).isEqualTo(Status.DOWN);
        @SuppressWarnings("unchecked")
        List<Map<String, Object>> failures = (List<Map<String, Object>>) health.getDetails().get("failures");
        assertThat(failures).singleElement().satisfies(failure -> {
            assertThat(failure).containsEntry("listenerId", "watch").containsEntry("clientId", "watcher-0");
            assertThat((String) failure.get("cause")).contains("interrupted");
        });
    }

    @Test
    void endpointListsContainersAndTheirConsumers() {
        container.pause();
        LanesEndpoint endpoint = new LanesEndpoint(registry);

        LanesDescriptor lanes = endpoint.lanes();

        assertThat(lanes.containers()).containsOnlyKeys("watch");
        ContainerDescriptor watch = lanes.containers().get("watch");
        assertThat(watch.groupId()).isEqualTo("watchers");
        assertThat(watch.topics()).containsExactly(TOPIC);
        assertThat(watch.running()).isTrue();
        assertThat(watch.paused()).isTrue();
        assertThat(watch.consumers()).singleElement().satisfies(descriptor -> {
            assertThat(descriptor.clientId()).isEqualTo("watcher-0");
            assertThat(descriptor.groupId()).isEqualTo("watchers");
            assertThat(descriptor.memberState()).isEqualTo("STABLE");
            assertThat(descriptor.backgroundThreadAlive()).isTrue();
            assertThat(descriptor.backgroundFailure()).isNull();
            assertThat(descriptor.assignment()).hasSize(3);
            assertThat(descriptor.lanes()).containsOnlyKeys("system", "user");
            assertThat(descriptor.lanes().get("user").capacity()).isPositive();
            assertThat(descriptor.lanes().get("user").size()).isGreaterThanOrEqualTo(0);
            assertThat(descriptor.backPressure().rejections()).isZero();
            assertThat(descriptor.backPressure().fetchBufferBound()).isPositive();
            assertThat(descriptor.backPressure().fetchBufferBytes()).isGreaterThanOrEqualTo(0);
        });
        assertThat(endpoint.container("watch")).isEqualTo(watch);
        assertThat(endpoint.container("nope")).isNull();
    }
}
