package dev.lanes.spring.metrics;

import dev.lanes.consumer.LanesConsumer;
import dev.lanes.spring.LanesConsumerFactory;
import io.micrometer.core.instrument.MeterRegistry;
import org.springframework.beans.factory.DisposableBean;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.beans.factory.SmartInitializingSingleton;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Binds a {@link LanesConsumerMeterBinder} to every consumer that a {@link LanesConsumerFactory} of the
 * context creates, and closes it (removing its meters) when the consumer closes. Listens to the factories
 * once every singleton exists, before any listener container starts.
 */
public class LanesConsumerMetricsBinding
        implements LanesConsumerFactory.ConsumerLifecycleListener, SmartInitializingSingleton, DisposableBean {

    private final MeterRegistry registry;
    private final ObjectProvider<LanesConsumerFactory<?, ?>> factories;
    private final Map<LanesConsumer<?, ?>, LanesConsumerMeterBinder> binders = new ConcurrentHashMap<>();

    public LanesConsumerMetricsBinding(MeterRegistry registry, ObjectProvider<LanesConsumerFactory<?, ?>> factories) {
        this.registry = registry;
        this.factories = factories;
    }

    @Override
    public void afterSingletonsInstantiated() {
        factories.orderedStream().forEach(factory -> factory.addListener(this));
    }

    @Override
    public void consumerCreated(String listenerId, LanesConsumer<?, ?> consumer) {
        binders.computeIfAbsent(consumer, created -> {
            LanesConsumerMeterBinder binder = new LanesConsumerMeterBinder(created, listenerId);
            binder.bindTo(registry);
            return binder;
        });
    }

    @Override
    public void consumerClosed(String listenerId, LanesConsumer<?, ?> consumer) {
        LanesConsumerMeterBinder binder = binders.remove(consumer);
        if (binder != null) {
            binder.close();
        }
    }

    /** The binders of the consumers alive now. */
    public Map<LanesConsumer<?, ?>, LanesConsumerMeterBinder> binders() {
        return Map.copyOf(binders);
    }

    @Override
    public void destroy() {
        binders.values().forEach(LanesConsumerMeterBinder::close);
        binders.clear();
    }
}
