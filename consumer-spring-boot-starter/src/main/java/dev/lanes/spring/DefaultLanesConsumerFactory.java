package dev.lanes.spring;

import dev.lanes.consumer.LanesConsumer;
import dev.lanes.consumer.LanesConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * The default {@link LanesConsumerFactory}: every consumer starts from one settings map, with per-listener
 * overrides applied last. The settings are checked when the factory is created, so a bad value fails
 * application start-up with a {@link org.apache.kafka.common.config.ConfigException} naming the key.
 */
public class DefaultLanesConsumerFactory<K, V> implements LanesConsumerFactory<K, V> {

    private static final Logger log = LoggerFactory.getLogger(DefaultLanesConsumerFactory.class);

    private final Map<String, Object> configuration;
    private final List<ConsumerLifecycleListener> listeners = new CopyOnWriteArrayList<>();

    public DefaultLanesConsumerFactory(Map<String, Object> configuration) {
        this.configuration = Collections.unmodifiableMap(new HashMap<>(configuration));
        validate(this.configuration);
    }

    /** Checks the {@code lanes.} settings and the consumer settings, throwing a ConfigException naming a bad key. */
    public static void validate(Map<String, Object> configuration) {
        new LanesConsumerConfig(LanesConsumerConfig.lanesEntries(configuration));
        ConsumerConfig.configDef().parse(LanesConsumerConfig.consumerEntries(configuration));
    }

    @Override
    public LanesConsumer<K, V> createConsumer(String listenerId, Map<String, Object> overrides) {
        Map<String, Object> settings = new HashMap<>(configuration);
        if (overrides != null) {
            settings.putAll(overrides);
        }
        LanesConsumer<K, V> consumer = new LanesConsumer<>(settings);
        for (ConsumerLifecycleListener listener : listeners) {
            try {
                listener.consumerCreated(listenerId, consumer);
            } catch (RuntimeException e) {
                log.warn("Consumer lifecycle listener {} failed on creation of {}", listener, consumer.clientId(), e);
            }
        }
        return consumer;
    }

    @Override
    public void closeConsumer(String listenerId, LanesConsumer<K, V> consumer, Duration timeout) {
        try {
            consumer.close(timeout);
        } finally {
            for (ConsumerLifecycleListener listener : listeners) {
                try {
                    listener.consumerClosed(listenerId, consumer);
                } catch (RuntimeException e) {
                    log.warn("Consumer lifecycle listener {} failed on close of {}", listener, consumer.clientId(), e);
                }
            }
        }
    }

    @Override
    public Map<String, Object> configuration() {
        return configuration;
    }

    @Override
    public void addListener(ConsumerLifecycleListener listener) {
        listeners.add(listener);
    }

    /** The registered lifecycle listeners. */
    public List<ConsumerLifecycleListener> listeners() {
        return List.copyOf(listeners);
    }
}
