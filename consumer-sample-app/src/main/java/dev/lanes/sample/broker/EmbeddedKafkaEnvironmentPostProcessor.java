package dev.lanes.sample.broker;

import org.springframework.boot.EnvironmentPostProcessor;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.context.event.ApplicationFailedEvent;
import org.springframework.context.ApplicationListener;
import org.springframework.context.event.ContextClosedEvent;
import org.springframework.core.env.ConfigurableEnvironment;
import org.springframework.core.env.MapPropertySource;
import org.springframework.util.ClassUtils;

import java.lang.reflect.InvocationTargetException;
import java.util.Map;

/**
 * Starts the embedded broker when {@code lanes.consumer.bootstrap-servers} is not set, before any bean
 * needs it, and points the consumer (and the load generator) at it. The broker stops, and its data is
 * removed, when the application context closes or fails to start.
 */
public class EmbeddedKafkaEnvironmentPostProcessor implements EnvironmentPostProcessor {

    static final String BOOTSTRAP_PROPERTY = "lanes.consumer.bootstrap-servers";
    private static final String BROKER_CLASS = "dev.lanes.sample.broker.EmbeddedKafkaBroker";

    @Override
    public void postProcessEnvironment(ConfigurableEnvironment environment, SpringApplication application) {
        if (environment.containsProperty(BOOTSTRAP_PROPERTY)
                || !environment.getProperty("sample.embedded-broker.enabled", Boolean.class, true)) {
            return;
        }
        EmbeddedBroker broker = startBroker();
        environment.getPropertySources().addFirst(new MapPropertySource("embeddedKafka",
                Map.of(BOOTSTRAP_PROPERTY, broker.bootstrapServers())));
        application.addListeners((ApplicationListener<ContextClosedEvent>) event -> broker.close());
        application.addListeners((ApplicationListener<ApplicationFailedEvent>) event -> broker.close());
    }

    /**
     * Starts the broker by name: the image build (-Pimage) compiles the sample without it and without the
     * broker's jars, and must then be given a cluster.
     */
    private EmbeddedBroker startBroker() {
        ClassLoader classLoader = getClass().getClassLoader();
        if (!ClassUtils.isPresent(BROKER_CLASS, classLoader) || !ClassUtils.isPresent("kafka.server.KafkaRaftServer", classLoader)) {
            throw new IllegalStateException("This build of the sample has no embedded broker (it was packaged with "
                    + "-Pimage, as the Docker image is): set " + BOOTSTRAP_PROPERTY + " (LANES_CONSUMER_BOOTSTRAPSERVERS)");
        }
        try {
            return (EmbeddedBroker) ClassUtils.forName(BROKER_CLASS, classLoader).getMethod("start").invoke(null);
        } catch (InvocationTargetException e) {
            throw e.getCause() instanceof RuntimeException runtime ? runtime : new IllegalStateException(e.getCause());
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException("Cannot start the embedded broker", e);
        }
    }
}
