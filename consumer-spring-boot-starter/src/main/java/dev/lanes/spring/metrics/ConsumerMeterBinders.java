package dev.lanes.spring.metrics;

import dev.lanes.consumer.ConsumerDiagnostics;
import io.micrometer.core.instrument.MeterRegistry;
import org.apache.kafka.clients.consumer.Consumer;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The {@link LanesConsumerMeterBinder}s of the consumers alive now, one per consumer: bound to a registry when a
 * consumer starts, closed (its meters removed) when it goes. Shared by the starter's binding and spring-kafka's.
 * Thread-safe.
 */
public final class ConsumerMeterBinders implements AutoCloseable {

    private final MeterRegistry registry;
    private final Map<Consumer<?, ?>, LanesConsumerMeterBinder> binders = new ConcurrentHashMap<>();

    public ConsumerMeterBinders(MeterRegistry registry) {
        this.registry = registry;
    }

    /** Binds the consumer's meters, tagged with {@code listenerId}, unless they are bound already. */
    public void bind(String listenerId, Consumer<?, ?> consumer, ConsumerDiagnostics diagnostics) {
        binders.computeIfAbsent(consumer, created -> {
            LanesConsumerMeterBinder binder = new LanesConsumerMeterBinder(created, diagnostics, listenerId);
            binder.bindTo(registry);
            return binder;
        });
    }

    /** Binds the meters of a consumer that is its own diagnostics, as a Lanes consumer is. */
    public <C extends Consumer<?, ?> & ConsumerDiagnostics> void bind(String listenerId, C consumer) {
        bind(listenerId, consumer, consumer);
    }

    /** Removes the consumer's meters, if it has any. */
    public void unbind(Consumer<?, ?> consumer) {
        LanesConsumerMeterBinder binder = binders.remove(consumer);
        if (binder != null) {
            binder.close();
        }
    }

    /** The binders of the consumers alive now. */
    public Map<Consumer<?, ?>, LanesConsumerMeterBinder> binders() {
        return Map.copyOf(binders);
    }

    @Override
    public void close() {
        binders.values().forEach(LanesConsumerMeterBinder::close);
        binders.clear();
    }
}
