package dev.lanes.spring.actuate;

import dev.lanes.spring.LanesListenerContainerRegistry;
import org.springframework.boot.actuate.autoconfigure.endpoint.condition.ConditionalOnAvailableEndpoint;
import org.springframework.boot.actuate.endpoint.annotation.Endpoint;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.health.autoconfigure.contributor.ConditionalOnEnabledHealthIndicator;
import org.springframework.boot.health.contributor.HealthIndicator;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/**
 * Actuator support for the listener containers: the {@code lanes} health indicator (with
 * spring-boot-health, unless {@code management.health.lanes.enabled=false}) and the {@code lanes}
 * endpoint (when exposed).
 */
@AutoConfiguration(afterName = "dev.lanes.spring.autoconfigure.LanesAutoConfiguration")
@ConditionalOnClass({Endpoint.class, ConditionalOnAvailableEndpoint.class, LanesListenerContainerRegistry.class})
@ConditionalOnBean(LanesListenerContainerRegistry.class)
public class LanesActuatorAutoConfiguration {

    @Configuration(proxyBeanMethods = false)
    @ConditionalOnClass(HealthIndicator.class)
    @ConditionalOnEnabledHealthIndicator("lanes")
    static class LanesHealthConfiguration {

        @Bean
        @ConditionalOnMissingBean(value = LanesHealthIndicator.class, name = "lanesHealthIndicator")
        LanesHealthIndicator lanesHealthIndicator(LanesListenerContainerRegistry registry) {
            return new LanesHealthIndicator(registry);
        }
    }

    @Configuration(proxyBeanMethods = false)
    @ConditionalOnAvailableEndpoint(LanesEndpoint.class)
    static class LanesEndpointConfiguration {

        @Bean
        @ConditionalOnMissingBean
        LanesEndpoint lanesEndpoint(LanesListenerContainerRegistry registry) {
            return new LanesEndpoint(registry);
        }
    }
}
