package dev.lanes.sample.broker;

import org.springframework.boot.EnvironmentPostProcessor;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.context.event.ApplicationFailedEvent;
import org.springframework.context.ApplicationListener;
import org.springframework.context.event.ContextClosedEvent;
import org.springframework.core.env.ConfigurableEnvironment;
import org.springframework.core.env.MapPropertySource;

import java.util.Map;

/**
 * Starts the embedded broker when {@code lanes.consumer.bootstrap-servers} is not set, before any bean
 * needs it, and points the consumer (and the load generator) at it. The broker stops, and its data is
 * removed, when the application context closes or fails to start.
 */
public class EmbeddedKafkaEnvironmentPostProcessor implements EnvironmentPostProcessor {

    static final String BOOTSTRAP_PROPERTY = "lanes.consumer.bootstrap-servers";

    @Override
    public void postProcessEnvironment(ConfigurableEnvironment environment, SpringApplication application) {
        if (environment.containsProperty(BOOTSTRAP_PROPERTY)
                || !environment.getProperty("sample.embedded-broker.enabled", Boolean.class, true)) {
            return;
        }
        EmbeddedKafkaBroker broker = EmbeddedKafkaBroker.start();
        environment.getPropertySources().addFirst(new MapPropertySource("embeddedKafka",
                Map.of(BOOTSTRAP_PROPERTY, broker.bootstrapServers())));
        application.addListeners((ApplicationListener<ContextClosedEvent>) event -> broker.close());
        application.addListeners((ApplicationListener<ApplicationFailedEvent>) event -> broker.close());
    }
}
