package dev.lanes.spring.kafka.actuate;

import dev.lanes.consumer.LanesConsumer;
import dev.lanes.spring.kafka.LanesContainerConsumers;
import dev.lanes.spring.kafka.LanesKafkaConsumerFactory;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.assertj.core.api.InstanceOfAssertFactories;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.health.contributor.Health;
import org.springframework.boot.health.contributor.HealthIndicator;
import org.springframework.boot.health.contributor.Status;

import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.mockito.Mockito.mock;
import static org.mockito.Mockito.when;

class LanesKafkaHealthIndicatorTest {

    @SuppressWarnings("unchecked")
    private static LanesContainerConsumers tracking(LanesKafkaConsumerFactory<String, String> factory) {
        ObjectProvider<LanesKafkaConsumerFactory<?, ?>> factories = mock(ObjectProvider.class);
        when(factories.orderedStream()).thenAnswer(invocation -> Stream.of(factory));
        LanesContainerConsumers consumers = new LanesContainerConsumers(factories);
        consumers.afterSingletonsInstantiated();
        return consumers;
    }

    private static LanesKafkaConsumerFactory<String, String> factory() {
        return new LanesKafkaConsumerFactory<>(Map.of("bootstrap.servers", "127.0.0.1:9", "group.id", "g",
                "key.deserializer", StringDeserializer.class, "value.deserializer", StringDeserializer.class));
    }

    @Test
    void upWithEveryLiveConsumerOfTheFactoryAndNoneWhenClosed() {
        LanesKafkaConsumerFactory<String, String> factory = factory();
        LanesContainerConsumers consumers = tracking(factory);
        LanesKafkaHealthIndicator indicator = new LanesKafkaHealthIndicator(consumers, null);
        try (Consumer<String, String> consumer = factory.createConsumer("g", "direct", null, null)) {
            Health health = indicator.health();
            assertThat(health.getStatus()).isEqualTo(Status.UP);
            assertThat(details(health)).containsOnlyKeys(((LanesConsumer<?, ?>) consumer).clientId());
            assertThat(details(health).get("direct")).containsEntry("listenerId", "none")
                    .containsEntry("backgroundThreadAlive", true);
        }
        assertThat(details(indicator.health())).isEmpty();
    }

    @Test
    void theLanesListenerContainersHealthIsMergedIn() {
        HealthIndicator lanesListeners = mock(HealthIndicator.class);
        when(lanesListeners.health()).thenReturn(Health.down()
                .withDetail("failures", List.of(Map.of("listenerId", "native", "cause", "background thread stopped")))
                .withDetail("consumers", Map.of("native-0", Map.of("listenerId", "native")))
                .build());
        LanesKafkaHealthIndicator indicator = new LanesKafkaHealthIndicator(tracking(factory()), lanesListeners);

        Health health = indicator.health();

        assertThat(health.getStatus()).isEqualTo(Status.DOWN);
        assertThat(details(health)).containsOnlyKeys("native-0");
        assertThat(health.getDetails().get("failures")).asInstanceOf(InstanceOfAssertFactories.LIST)
                .singleElement().isEqualTo(Map.of("listenerId", "native", "cause", "background thread stopped"));
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Map<String, Object>> details(Health health) {
        return (Map<String, Map<String, Object>>) health.getDetails().get("consumers");
    }
}
