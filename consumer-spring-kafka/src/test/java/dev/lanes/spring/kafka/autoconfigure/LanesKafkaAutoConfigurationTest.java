package dev.lanes.spring.kafka.autoconfigure;

import dev.lanes.spring.actuate.LanesActuatorAutoConfiguration;
import dev.lanes.spring.autoconfigure.LanesAutoConfiguration;
import dev.lanes.spring.kafka.LanesContainerConsumers;
import dev.lanes.spring.kafka.LanesKafkaConsumerFactory;
import dev.lanes.spring.kafka.actuate.LanesKafkaHealthAutoConfiguration;
import dev.lanes.spring.kafka.actuate.LanesKafkaHealthIndicator;
import dev.lanes.spring.kafka.metrics.LanesKafkaMetricsAutoConfiguration;
import dev.lanes.spring.kafka.metrics.LanesKafkaMetricsBinding;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.apache.kafka.common.config.ConfigException;
import org.junit.jupiter.api.Test;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.health.contributor.HealthIndicator;
import org.springframework.boot.kafka.autoconfigure.DefaultKafkaConsumerFactoryCustomizer;
import org.springframework.boot.kafka.autoconfigure.KafkaAutoConfiguration;
import org.springframework.boot.kafka.autoconfigure.KafkaConnectionDetails;
import org.springframework.boot.kafka.autoconfigure.metrics.KafkaMetricsAutoConfiguration;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.kafka.config.ConcurrentKafkaListenerContainerFactory;
import org.springframework.kafka.core.ConsumerFactory;
import org.springframework.kafka.core.DefaultKafkaConsumerFactory;
import org.springframework.kafka.core.MicrometerConsumerListener;

import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

class LanesKafkaAutoConfigurationTest {

    private final ApplicationContextRunner runner = new ApplicationContextRunner()
            .withConfiguration(AutoConfigurations.of(LanesKafkaAutoConfiguration.class, KafkaAutoConfiguration.class,
                    LanesKafkaMetricsAutoConfiguration.class, KafkaMetricsAutoConfiguration.class,
                    LanesKafkaHealthAutoConfiguration.class, LanesAutoConfiguration.class,
                    LanesActuatorAutoConfiguration.class))
            .withPropertyValues("spring.kafka.bootstrap-servers=127.0.0.1:9", "spring.kafka.consumer.group-id=orders");

    private static Map<String, Object> configs(ConsumerFactory<?, ?> factory) {
        return factory.getConfigurationProperties();
    }

    @Test
    void withoutThePropertyTheApplicationKeepsSpringBootsConsumerFactory() {
        runner.run(context -> {
            assertThat(context).hasNotFailed();
            assertThat(context.getBean(ConsumerFactory.class)).isExactlyInstanceOf(DefaultKafkaConsumerFactory.class);
            assertThat(context).doesNotHaveBean(LanesContainerConsumers.class);
        });
    }

    @Test
    void withThePropertyTheListenerContainerFactoryUsesLanes() {
        runner.withPropertyValues("lanes.spring-kafka.enabled=true").run(context -> {
            assertThat(context).hasNotFailed();
            ConsumerFactory<?, ?> factory = context.getBean(ConsumerFactory.class);
            assertThat(factory).isInstanceOf(LanesKafkaConsumerFactory.class);
            assertThat(context.getBean("kafkaConsumerFactory")).isSameAs(factory);
            assertThat(context.getBean("kafkaListenerContainerFactory", ConcurrentKafkaListenerContainerFactory.class)
                    .getConsumerFactory()).isSameAs(factory);
            assertThat(factory.getConfigurationProperties())
                    .containsEntry("bootstrap.servers", List.of("127.0.0.1:9"))
                    .containsEntry("group.id", "orders");
            assertThat(List.<Object>copyOf(factory.getListeners())).contains(context.getBean(LanesContainerConsumers.class));
        });
    }

    @Test
    void connectionDetailsGiveTheBootstrapServers() {
        runner.withPropertyValues("lanes.spring-kafka.enabled=true")
                .withBean(KafkaConnectionDetails.class, () -> () -> List.of("127.0.0.1:19092"))
                .run(context -> assertThat(configs(context.getBean(ConsumerFactory.class)))
                        .containsEntry("bootstrap.servers", List.of("127.0.0.1:19092")));
    }

    @Test
    void lanesSettingsComeFromSpringKafkaPropertiesAndLanesConsumerWhichWins() {
        runner.withPropertyValues("lanes.spring-kafka.enabled=true",
                        "spring.kafka.consumer.properties[lanes.user.lane.capacity]=64",
                        "spring.kafka.consumer.properties[lanes.fetch.buffer.max.bytes]=1000",
                        "lanes.consumer.fetch-buffer-max-bytes=2MB",
                        "lanes.consumer.bootstrap-servers=10.0.0.1:9092",
                        "lanes.consumer.group-id=not-this-one")
                .run(context -> {
                    Map<String, Object> configs = configs(context.getBean(ConsumerFactory.class));
                    assertThat(configs)
                            .containsEntry("lanes.user.lane.capacity", "64")
                            .containsEntry("lanes.fetch.buffer.max.bytes", 2L * 1024 * 1024)
                            .containsEntry("bootstrap.servers", List.of("127.0.0.1:9"))
                            .containsEntry("group.id", "orders");
                });
    }

    @Test
    void customizersApplyAndBootsKafkaClientMetricsListenerIsAdded() {
        runner.withPropertyValues("lanes.spring-kafka.enabled=true")
                .withBean(MeterRegistry.class, SimpleMeterRegistry::new)
                .withBean(DefaultKafkaConsumerFactoryCustomizer.class,
                        () -> factory -> factory.updateConfigs(Map.of("client.id", "customized")))
                .run(context -> {
                    ConsumerFactory<?, ?> factory = context.getBean(ConsumerFactory.class);
                    assertThat(factory.getConfigurationProperties()).containsEntry("client.id", "customized");
                    assertThat(factory.getListeners()).hasAtLeastOneElementOfType(MicrometerConsumerListener.class);
                    assertThat(context).hasSingleBean(LanesKafkaMetricsBinding.class);
                });
    }

    @Test
    void classicGroupProtocolFailsStartUpNamingTheSetting() {
        runner.withPropertyValues("lanes.spring-kafka.enabled=true",
                        "spring.kafka.consumer.properties[group.protocol]=classic")
                .run(context -> assertThat(context).getFailure()
                        .rootCause().isInstanceOf(ConfigException.class).hasMessageContaining("group.protocol"));
    }

    @Test
    void classicOnlySettingFailsStartUpNamingIt() {
        runner.withPropertyValues("lanes.spring-kafka.enabled=true", "spring.kafka.consumer.heartbeat-interval=3s")
                .run(context -> assertThat(context).getFailure()
                        .rootCause().isInstanceOf(ConfigException.class)
                        .hasMessageStartingWith("heartbeat.interval.ms cannot be set with Lanes"));
    }

    @Test
    void anApplicationsOwnConsumerFactoryIsKept() {
        runner.withPropertyValues("lanes.spring-kafka.enabled=true")
                .withBean("myFactory", ConsumerFactory.class, () -> new DefaultKafkaConsumerFactory<>(Map.of()))
                .run(context -> {
                    assertThat(context).hasSingleBean(ConsumerFactory.class);
                    assertThat(context.getBean(ConsumerFactory.class)).isExactlyInstanceOf(DefaultKafkaConsumerFactory.class);
                });
    }

    @Test
    void theLanesHealthIndicatorCoversSpringKafkaConsumersAndReplacesTheStartersOne() {
        runner.withPropertyValues("lanes.spring-kafka.enabled=true").run(context -> {
            assertThat(context).hasSingleBean(HealthIndicator.class);
            assertThat(context.getBean("lanesHealthIndicator")).isInstanceOf(LanesKafkaHealthIndicator.class);
        });
        runner.run(context -> assertThat(context.getBean("lanesHealthIndicator"))
                .isNotInstanceOf(LanesKafkaHealthIndicator.class));
    }

    @Test
    void theLanesHealthCanBeSwitchedOff() {
        runner.withPropertyValues("lanes.spring-kafka.enabled=true", "management.health.lanes.enabled=false")
                .run(context -> assertThat(context).doesNotHaveBean(LanesKafkaHealthIndicator.class));
    }
}
