package dev.lanes.spring.kafka.metrics;

import dev.lanes.consumer.LanesConsumer;
import dev.lanes.spring.kafka.LanesContainerConsumers;
import dev.lanes.spring.metrics.ConsumerMeterBinders;
import dev.lanes.spring.metrics.LanesConsumerMeterBinder;
import io.micrometer.core.instrument.MeterRegistry;
import org.apache.kafka.clients.consumer.Consumer;
import org.springframework.beans.factory.DisposableBean;

import java.util.Map;

/**
 * Binds the Lanes meters ({@code lanes.consumer.*}, tagged with the listener id) to every consumer of a
 * listener container once its container claims it, and removes them when the consumer closes.
 */
public class LanesKafkaMetricsBinding implements LanesContainerConsumers.Observer, DisposableBean {

    private final ConsumerMeterBinders binders;

    public LanesKafkaMetricsBinding(MeterRegistry registry, LanesContainerConsumers consumers) {
        this.binders = new ConsumerMeterBinders(registry);
        consumers.addObserver(this);
    }

    @Override
    public void claimed(String listenerId, LanesConsumer<?, ?> consumer) {
        binders.bind(listenerId, consumer);
    }

    @Override
    public void removed(String listenerId, LanesConsumer<?, ?> consumer) {
        binders.unbind(consumer);
    }

    /** The binders of the consumers alive now. */
    public Map<Consumer<?, ?>, LanesConsumerMeterBinder> binders() {
        return binders.binders();
    }

    @Override
    public void destroy() {
        binders.close();
    }
}
