package dev.lanes.spring.metrics;

import dev.lanes.spring.LanesConsumerFactory;
import io.micrometer.core.instrument.MeterRegistry;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.context.annotation.Bean;

/**
 * Micrometer meters for every Lanes consumer of the context's consumer factories; active only with
 * Micrometer on the class path and a {@link MeterRegistry} bean.
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

    @Bean
    @ConditionalOnMissingBean
    public LanesConsumerMetricsBinding lanesConsumerMetricsBinding(MeterRegistry meterRegistry,
                                                                   ObjectProvider<LanesConsumerFactory<?, ?>> factories) {
        return new LanesConsumerMetricsBinding(meterRegistry, factories);
    }
}
