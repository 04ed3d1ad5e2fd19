package dev.lanes.spring.kafka.actuate;

import dev.lanes.spring.LanesListenerContainerRegistry;
import dev.lanes.spring.actuate.LanesHealthIndicator;
import dev.lanes.spring.kafka.LanesContainerConsumers;
import dev.lanes.spring.kafka.autoconfigure.LanesKafkaAutoConfiguration;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.health.autoconfigure.contributor.ConditionalOnEnabledHealthIndicator;
import org.springframework.boot.health.contributor.HealthIndicator;
import org.springframework.context.annotation.Bean;

/**
 * The {@code lanes} health indicator for the consumers of spring-kafka listener containers. It takes the
 * name of the starter's indicator ({@code lanesHealthIndicator}, which then backs off) and reports the
 * {@code @LanesListener} containers too, if the application has any.
 */
@AutoConfiguration(after = LanesKafkaAutoConfiguration.class,
        afterName = "dev.lanes.spring.autoconfigure.LanesAutoConfiguration",
        beforeName = "dev.lanes.spring.actuate.LanesActuatorAutoConfiguration")
@ConditionalOnClass(HealthIndicator.class)
@ConditionalOnBean(LanesContainerConsumers.class)
@ConditionalOnEnabledHealthIndicator("lanes")
public class LanesKafkaHealthAutoConfiguration {

    @Bean(name = "lanesHealthIndicator")
    public LanesKafkaHealthIndicator lanesHealthIndicator(LanesContainerConsumers consumers,
                                                          ObjectProvider<LanesListenerContainerRegistry> lanesListeners) {
        LanesListenerContainerRegistry registry = lanesListeners.getIfUnique();
        return new LanesKafkaHealthIndicator(consumers, registry == null ? null : new LanesHealthIndicator(registry));
    }
}
