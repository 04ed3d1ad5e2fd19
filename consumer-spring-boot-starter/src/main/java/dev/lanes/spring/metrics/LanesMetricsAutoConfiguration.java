package dev.lanes.spring.metrics;

import dev.lanes.spring.LanesConsumerFactory;
import dev.lanes.spring.autoconfigure.LanesProperties;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.config.MeterFilter;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.context.annotation.Bean;
import org.springframework.core.env.Environment;

/**
 * Micrometer meters for every Lanes consumer of the context's consumer factories; active only with
 * Micrometer on the class path and a {@link MeterRegistry} bean. Lanes' own meters are {@code lanes.consumer.*};
 * the standard Kafka consumer metrics are also bound as {@code kafka.consumer.*} with Micrometer's
 * {@code KafkaClientMetrics}, unless {@code lanes.consumer.kafka-client-metrics.enabled} is false.
 */
@AutoConfiguration(afterName = {
        "dev.lanes.spring.autoconfigure.LanesAutoConfiguration",
        "org.springframework.boot.micrometer.metrics.autoconfigure.MetricsAutoConfiguration",
        "org.springframework.boot.micrometer.metrics.autoconfigure.CompositeMeterRegistryAutoConfiguration",
        "org.springframework.boot.micrometer.metrics.autoconfigure.export.simple.SimpleMetricsExportAutoConfiguration",
        "org.springframework.boot.micrometer.metrics.autoconfigure.export.prometheus.PrometheusMetricsExportAutoConfiguration"})
@ConditionalOnClass({MeterRegistry.class, LanesConsumerFactory.class})
@ConditionalOnBean(MeterRegistry.class)
public class LanesMetricsAutoConfiguration {

    static final String KAFKA_CLIENT_METRICS_PROPERTY = "lanes.consumer.kafka-client-metrics.enabled";

    @Bean
    @ConditionalOnMissingBean
    public LanesConsumerMetricsBinding lanesConsumerMetricsBinding(MeterRegistry meterRegistry,
                                                                   ObjectProvider<LanesConsumerFactory<?, ?>> factories,
                                                                   ObjectProvider<LanesProperties> properties,
                                                                   Environment environment) {
        // The bound (and checked) property when the starter's properties exist, the raw one otherwise.
        LanesProperties lanes = properties.getIfAvailable();
        boolean kafkaClientMetrics = lanes != null ? lanes.getKafkaClientMetrics().isEnabled()
                : environment.getProperty(KAFKA_CLIENT_METRICS_PROPERTY, Boolean.class, true);
        return new LanesConsumerMetricsBinding(meterRegistry, factories, kafkaClientMetrics);
    }

    /**
     * KafkaClientMetrics binds every metric of a consumer's registry, Lanes' own group too; those are already
     * {@code lanes.consumer.*} meters, so their {@code kafka.lanes.consumer.*} copies are left out.
     */
    @Bean
    @ConditionalOnProperty(name = KAFKA_CLIENT_METRICS_PROPERTY, havingValue = "true", matchIfMissing = true)
    public MeterFilter lanesKafkaClientMetricsFilter() {
        return MeterFilter.denyNameStartsWith("kafka.lanes.");
    }
}
