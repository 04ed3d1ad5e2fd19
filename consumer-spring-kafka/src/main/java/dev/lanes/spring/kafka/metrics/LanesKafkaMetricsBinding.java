package dev.lanes.spring.kafka.metrics;

import dev.lanes.consumer.LanesConsumer;
import dev.lanes.spring.kafka.LanesContainerConsumers;
import dev.lanes.spring.metrics.LanesConsumerMeterBinder;
import io.micrometer.core.instrument.MeterRegistry;
import org.springframework.beans.factory.DisposableBean;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Binds the Lanes meters ({@code lanes.consumer.*}, tagged with the listener id) to every consumer of a
 * listener container once its container claims it, and removes them when the consumer closes.
 */
public class LanesKafkaMetricsBinding implements LanesContainerConsumers.Observer, DisposableBean {

    private final MeterRegistry registry;
    private final Map<LanesConsumer<?, ?>, LanesConsumerMeterBinder> binders = new ConcurrentHashMap<>();

    public LanesKafkaMetricsBinding(MeterRegistry registry, LanesContainerConsumers consumers) {
        this.registry = registry;
        consumers.addObserver(this);
    }

    @Override
    public void claimed(String listenerId, LanesConsumer<?, ?> consumer) {
        binders.computeIfAbsent(consumer, claimed -> {
            LanesConsumerMeterBinder binder = new LanesConsumerMeterBinder(claimed, listenerId);
            binder.bindTo(registry);
            return binder;
        });
    }

    @Override
    public void removed(String listenerId, LanesConsumer<?, ?> consumer) {
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
