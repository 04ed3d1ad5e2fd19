package dev.lanes.spring.metrics;

import dev.lanes.consumer.LanesConsumer;
import dev.lanes.spring.LanesConsumerFactory;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;

/** A consumer factory that creates consumers from a fixed configuration and tells its listeners. */
final class StubConsumerFactory implements LanesConsumerFactory<String, String> {

    private final Map<String, Object> configuration;
    final List<ConsumerLifecycleListener> listeners = new CopyOnWriteArrayList<>();

    StubConsumerFactory(Map<String, Object> configuration) {
        this.configuration = configuration;
    }

    @Override
    public LanesConsumer<String, String> createConsumer(String listenerId, Map<String, Object> overrides) {
        Map<String, Object> config = new HashMap<>(configuration);
        config.putAll(overrides);
        LanesConsumer<String, String> consumer = new LanesConsumer<>(config);
        listeners.forEach(listener -> listener.consumerCreated(listenerId, consumer));
        return consumer;
    }

    void close(String listenerId, LanesConsumer<?, ?> consumer) {
        consumer.close();
        listeners.forEach(listener -> listener.consumerClosed(listenerId, consumer));
    }

    @Override
    public Map<String, Object> configuration() {
        return configuration;
    }

    @Override
    public void addListener(ConsumerLifecycleListener listener) {
        listeners.add(listener);
    }
}
