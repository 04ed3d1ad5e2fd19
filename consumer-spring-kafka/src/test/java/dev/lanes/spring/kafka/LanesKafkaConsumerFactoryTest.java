package dev.lanes.spring.kafka;

import dev.lanes.consumer.LanesConsumer;
import org.apache.kafka.clients.consumer.CloseOptions;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.common.config.ConfigException;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.junit.jupiter.api.Test;
import org.springframework.kafka.core.ConsumerFactory;

import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.CopyOnWriteArrayList;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class LanesKafkaConsumerFactoryTest {

    private static Map<String, Object> configs() {
        Map<String, Object> configs = new HashMap<>();
        // Nothing listens there; the consumers below never need the broker.
        configs.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, "127.0.0.1:9");
        configs.put(ConsumerConfig.GROUP_ID_CONFIG, "g");
        configs.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class);
        configs.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class);
        return configs;
    }

    @Test
    void classicGroupProtocolFailsNamingTheSetting() {
        Map<String, Object> configs = configs();
        configs.put(ConsumerConfig.GROUP_PROTOCOL_CONFIG, "CLASSIC");
        assertThatThrownBy(() -> new LanesKafkaConsumerFactory<String, String>(configs))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("group.protocol")
                .hasMessageContaining("consumer group protocol (KIP-848)");
    }

    @Test
    void classicOnlySettingsFailNamingEachOne() {
        Map<String, Object> configs = configs();
        configs.put(ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG, "10000");
        configs.put(ConsumerConfig.PARTITION_ASSIGNMENT_STRATEGY_CONFIG,
                "org.apache.kafka.clients.consumer.CooperativeStickyAssignor");
        assertThatThrownBy(() -> new LanesKafkaConsumerFactory<String, String>(configs))
                .isInstanceOf(ConfigException.class)
                .hasMessageStartingWith("partition.assignment.strategy, session.timeout.ms cannot be set with Lanes");
    }

    @Test
    void consumerGroupProtocolIsAccepted() {
        Map<String, Object> configs = configs();
        configs.put(ConsumerConfig.GROUP_PROTOCOL_CONFIG, "consumer");
        assertThat(new LanesKafkaConsumerFactory<String, String>(configs).getConfigurationProperties())
                .containsEntry(ConsumerConfig.GROUP_PROTOCOL_CONFIG, "consumer");
    }

    @Test
    void badLanesSettingFailsAtCreationNamingTheKey() {
        Map<String, Object> configs = configs();
        configs.put("lanes.user.lane.capacity", "lots");
        assertThatThrownBy(() -> new LanesKafkaConsumerFactory<String, String>(configs))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("lanes.user.lane.capacity");
    }

    @Test
    void classicOnlySettingInAListenersOwnPropertiesFailsItsConsumer() {
        LanesKafkaConsumerFactory<String, String> factory = new LanesKafkaConsumerFactory<>(configs());
        Properties overrides = new Properties();
        overrides.setProperty(ConsumerConfig.HEARTBEAT_INTERVAL_MS_CONFIG, "3000");
        assertThatThrownBy(() -> factory.createConsumer("g", "listener", "-0", overrides))
                .isInstanceOf(ConfigException.class)
                .hasMessageStartingWith("heartbeat.interval.ms cannot be set with Lanes");
    }

    @Test
    void consumersAreLanesConsumersWithGroupAndClientIdsAsSpringKafkaBuildsThem() {
        LanesKafkaConsumerFactory<String, String> factory = new LanesKafkaConsumerFactory<>(configs());
        Properties overrides = new Properties();
        overrides.setProperty(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, "7");
        try (Consumer<String, String> consumer = factory.createConsumer("orders", "orders-listener", "-1", overrides)) {
            assertThat(consumer).isInstanceOf(LanesConsumer.class);
            LanesConsumer<?, ?> lanes = (LanesConsumer<?, ?>) consumer;
            assertThat(lanes.clientId()).isEqualTo("orders-listener-1");
            assertThat(lanes.groupId()).contains("orders");
            assertThat(factory.consumers()).containsExactly((LanesConsumer<String, String>) consumer);
        }
        assertThat(factory.consumers()).isEmpty();
    }

    @Test
    void listenersAreToldOfAddsAndRemovesOnce() {
        LanesKafkaConsumerFactory<String, String> factory = new LanesKafkaConsumerFactory<>(configs());
        factory.setBeanName("myFactory");
        List<String> events = new CopyOnWriteArrayList<>();
        factory.addListener(new ConsumerFactory.Listener<>() {
            @Override
            public void consumerAdded(String id, Consumer<String, String> consumer) {
                events.add("added " + id + " " + (consumer instanceof LanesConsumer));
            }

            @Override
            public void consumerRemoved(String id, Consumer<String, String> consumer) {
                events.add("removed " + id);
            }
        });
        Consumer<String, String> consumer = factory.createConsumer("g", "c", null, null);
        consumer.close(CloseOptions.timeout(Duration.ofSeconds(5)));
        consumer.close();
        assertThat(events).containsExactly("added myFactory.c true", "removed myFactory.c");
    }

    @Test
    void postProcessorsWrapTheConsumer() {
        LanesKafkaConsumerFactory<String, String> factory = new LanesKafkaConsumerFactory<>(configs());
        List<Consumer<String, String>> seen = new CopyOnWriteArrayList<>();
        factory.addPostProcessor(consumer -> {
            seen.add(consumer);
            return consumer;
        });
        try (Consumer<String, String> consumer = factory.createConsumer()) {
            assertThat(seen).containsExactly(consumer);
            assertThat(consumer).isInstanceOf(LanesConsumer.class);
        }
    }

    @Test
    void deserializersGivenToTheFactoryAreConfiguredAndUsed() {
        List<Boolean> configured = new CopyOnWriteArrayList<>();
        StringDeserializer key = new StringDeserializer() {
            @Override
            public void configure(Map<String, ?> configs, boolean isKey) {
                configured.add(isKey);
            }
        };
        Map<String, Object> configs = configs();
        configs.remove(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG);
        LanesKafkaConsumerFactory<String, String> factory = new LanesKafkaConsumerFactory<>(configs, key, null);
        try (Consumer<String, String> consumer = factory.createConsumer()) {
            assertThat(consumer).isInstanceOf(LanesConsumer.class);
        }
        assertThat(configured).containsExactly(true);
        assertThat(factory.getKeyDeserializer()).isSameAs(key);
    }
}
