package dev.lanes.spring.metrics;

import dev.lanes.consumer.LanesConsumer;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.config.MeterFilter;
import io.micrometer.core.instrument.config.MeterFilterReply;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.test.context.FilteredClassLoader;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;

import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

class LanesMetricsAutoConfigurationTest {

    private final ApplicationContextRunner runner = new ApplicationContextRunner()
            .withConfiguration(AutoConfigurations.of(LanesMetricsAutoConfiguration.class))
            .withBean(StubConsumerFactory.class, () -> new StubConsumerFactory(Map.of(
                    // Nothing listens there: the consumer only needs to exist, not to fetch.
                    ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, "127.0.0.1:1",
                    ConsumerConfig.CLIENT_ID_CONFIG, "auto-config-client",
                    ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName(),
                    ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName())));

    @Test
    void noMeterRegistryMeansNoBinding() {
        runner.run(context -> assertThat(context).doesNotHaveBean(LanesConsumerMetricsBinding.class));
    }

    @Test
    void withoutMicrometerOnTheClassPathThereIsNoBinding() {
        runner.withBean(SimpleMeterRegistry.class)
                .withClassLoader(new FilteredClassLoader(MeterRegistry.class))
                .run(context -> assertThat(context).doesNotHaveBean(LanesConsumerMetricsBinding.class));
    }

    @Test
    void aMeterRegistryBindsMetersToEveryConsumerCreatedAndRemovesThemOnClose() {
        runner.withBean(SimpleMeterRegistry.class).run(context -> {
            assertThat(context).hasSingleBean(LanesConsumerMetricsBinding.class);
            StubConsumerFactory factory = context.getBean(StubConsumerFactory.class);
            LanesConsumerMetricsBinding binding = context.getBean(LanesConsumerMetricsBinding.class);
            assertThat(factory.listeners).containsExactly(binding);

            MeterRegistry registry = context.getBean(MeterRegistry.class);
            LanesConsumer<String, String> consumer = factory.createConsumer("orders", Map.of());
            try {
                assertThat(registry.find("lanes.consumer.lane.capacity")
                        .tags("listener.id", "orders", "client.id", "auto-config-client", "lane", "user").gauge())
                        .isNotNull();
                assertThat(binding.binders()).containsOnlyKeys(consumer);
            } finally {
                factory.close("orders", consumer);
            }
            assertThat(registry.getMeters()).isEmpty();
            assertThat(binding.binders()).isEmpty();
        });
    }

    @Test
    void theStandardKafkaMetricsAreBoundWithKafkaClientMetricsAndLanesOwnGroupOnlyOnce() {
        runner.withBean(SimpleMeterRegistry.class).run(context -> {
            MeterRegistry registry = context.getBean(MeterRegistry.class);
            StubConsumerFactory factory = context.getBean(StubConsumerFactory.class);
            LanesConsumer<String, String> consumer = factory.createConsumer("orders", Map.of());
            try {
                assertThat(registry.find("kafka.consumer.fetch.manager.records.lag.max")
                        .tags("listener.id", "orders", "client.id", "auto-config-client").meter()).isNotNull();
                assertThat(registry.find("kafka.consumer.time.between.poll.avg").tags("listener.id", "orders")
                        .meter()).isNotNull();
                assertThat(registry.find("kafka.consumer.time.between.poll.avg").meter().getId().getTag("kafka.version"))
                        .as("from the app-info metrics").isNotEqualTo("unknown");
            } finally {
                factory.close("orders", consumer);
            }
            assertThat(registry.getMeters()).as("all removed on close").isEmpty();
            MeterFilter filter = context.getBean("lanesKafkaClientMetricsFilter", MeterFilter.class);
            assertThat(filter.accept(new Meter.Id("kafka.lanes.consumer.lane.size", Tags.empty(), null, null,
                    Meter.Type.GAUGE))).as("Lanes' own group is bound once, as lanes.consumer.*").isEqualTo(MeterFilterReply.DENY);
            assertThat(filter.accept(new Meter.Id("kafka.consumer.fetch.manager.fetch.rate", Tags.empty(), null, null,
                    Meter.Type.GAUGE))).isEqualTo(MeterFilterReply.NEUTRAL);
        });
    }

    @Test
    void aPropertyTurnsTheKafkaClientMetricsBindingOff() {
        runner.withBean(SimpleMeterRegistry.class)
                .withPropertyValues("lanes.consumer.kafka-client-metrics.enabled=false")
                .run(context -> {
                    MeterRegistry registry = context.getBean(MeterRegistry.class);
                    StubConsumerFactory factory = context.getBean(StubConsumerFactory.class);
                    LanesConsumer<String, String> consumer = factory.createConsumer("orders", Map.of());
                    try {
                        assertThat(registry.getMeters()).isNotEmpty()
                                .allMatch(meter -> meter.getId().getName().startsWith("lanes.consumer."));
                    } finally {
                        factory.close("orders", consumer);
                    }
                    assertThat(context).doesNotHaveBean("lanesKafkaClientMetricsFilter");
                });
    }

    @Test
    void aUserBindingReplacesTheDefault() {
        runner.withBean(SimpleMeterRegistry.class)
                .withBean("myBinding", LanesConsumerMetricsBinding.class,
                        () -> new LanesConsumerMetricsBinding(new SimpleMeterRegistry(), emptyProvider()))
                .run(context -> {
                    assertThat(context).hasSingleBean(LanesConsumerMetricsBinding.class);
                    assertThat(context).hasBean("myBinding");
                });
    }

    @SuppressWarnings("unchecked")
    private static <T> ObjectProvider<T> emptyProvider() {
        return new org.springframework.beans.factory.support.DefaultListableBeanFactory().getBeanProvider(
                (Class<T>) Object.class);
    }
}
