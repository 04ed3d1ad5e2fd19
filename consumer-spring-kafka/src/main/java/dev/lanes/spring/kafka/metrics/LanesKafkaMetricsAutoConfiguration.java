package dev.lanes.spring.kafka.metrics;

import dev.lanes.spring.kafka.LanesContainerConsumers;
import dev.lanes.spring.kafka.autoconfigure.LanesKafkaAutoConfiguration;
import io.micrometer.core.instrument.MeterRegistry;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.context.annotation.Bean;

/**
 * The Lanes meters of the consumers of spring-kafka listener containers; active with Micrometer and a
 * {@link MeterRegistry} bean. (Kafka's own client meters come from Spring Boot's KafkaMetricsAutoConfiguration,
 * through the factory's listeners.)
 */
@AutoConfiguration(after = LanesKafkaAutoConfiguration.class, afterName = {
        "org.springframework.boot.micrometer.metrics.autoconfigure.MetricsAutoConfiguration",
        "org.springframework.boot.micrometer.metrics.autoconfigure.CompositeMeterRegistryAutoConfiguration",
        "org.springframework.boot.micrometer.metrics.autoconfigure.export.simple.SimpleMetricsExportAutoConfiguration",
        "org.springframework.boot.micrometer.metrics.autoconfigure.export.prometheus.PrometheusMetricsExportAutoConfiguration"})
@ConditionalOnClass(MeterRegistry.class)
@ConditionalOnBean({MeterRegistry.class, LanesContainerConsumers.class})
public class LanesKafkaMetricsAutoConfiguration {

    @Bean
    @ConditionalOnMissingBean
    public LanesKafkaMetricsBinding lanesKafkaMetricsBinding(MeterRegistry meterRegistry, LanesContainerConsumers consumers) {
        return new LanesKafkaMetricsBinding(meterRegistry, consumers);
    }
}
