package dev.lanes.spring.kafka;

import dev.lanes.consumer.LanesConsumer;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.common.Metric;
import org.apache.kafka.common.MetricName;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.beans.factory.SmartInitializingSingleton;
import org.springframework.context.ApplicationListener;
import org.springframework.kafka.core.ConsumerFactory;
import org.springframework.kafka.event.ConsumerStartingEvent;
import org.springframework.kafka.listener.MessageListenerContainer;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * Which Lanes consumer belongs to which listener container. A {@link LanesKafkaConsumerFactory} tells this
 * {@link ConsumerFactory.Listener} of every consumer it creates and closes; a container's consumer thread
 * publishes a {@link ConsumerStartingEvent} before its first poll, and the container's metrics name the
 * client id of its consumer. Matching the two gives each consumer its listener id, and the
 * {@link Observer}s (meters) learn of it before the consumer's first poll.
 *
 * <p>A consumer created directly through the factory (not by a container) is known, without a listener id.
 */
public class LanesContainerConsumers implements ConsumerFactory.Listener<Object, Object>,
        ApplicationListener<ConsumerStartingEvent>, SmartInitializingSingleton {

    /** Told when a consumer is matched to its container and when it closes. */
    public interface Observer {

        /** Called on the container's consumer thread, before its first poll. */
        void claimed(String listenerId, LanesConsumer<?, ?> consumer);

        /** Called on the thread that closed the consumer. */
        void removed(String listenerId, LanesConsumer<?, ?> consumer);
    }

    private static final Logger log = LoggerFactory.getLogger(LanesContainerConsumers.class);

    private final ObjectProvider<LanesKafkaConsumerFactory<?, ?>> factories;
    /** Live consumers, with their listener id once claimed ("" until then). */
    private final Map<LanesConsumer<?, ?>, String> consumers = new ConcurrentHashMap<>();
    private final List<Observer> observers = new CopyOnWriteArrayList<>();

    public LanesContainerConsumers(ObjectProvider<LanesKafkaConsumerFactory<?, ?>> factories) {
        this.factories = factories;
    }

    /** Listens to every LanesKafkaConsumerFactory of the context, before any container starts. */
    @Override
    @SuppressWarnings({"unchecked", "rawtypes"})
    public void afterSingletonsInstantiated() {
        factories.orderedStream().forEach(factory -> {
            if (!factory.getListeners().contains(this)) {
                ((LanesKafkaConsumerFactory) factory).addListener(this);
            }
        });
    }

    public void addObserver(Observer observer) {
        observers.add(observer);
    }

    @Override
    public void consumerAdded(String id, Consumer<Object, Object> consumer) {
        if (consumer instanceof LanesConsumer<?, ?> lanes) {
            consumers.putIfAbsent(lanes, "");
        }
    }

    @Override
    public void consumerRemoved(@Nullable String id, Consumer<Object, Object> consumer) {
        if (!(consumer instanceof LanesConsumer<?, ?> lanes)) {
            return;
        }
        String listenerId = consumers.remove(lanes);
        if (listenerId != null && !listenerId.isEmpty()) {
            for (Observer observer : observers) {
                try {
                    observer.removed(listenerId, lanes);
                } catch (RuntimeException e) {
                    log.warn("Observer {} failed on removal of consumer {}", observer, lanes.clientId(), e);
                }
            }
        }
    }

    /** Matches the starting container's consumer (by client id and metric identity) and claims it. */
    @Override
    public void onApplicationEvent(ConsumerStartingEvent event) {
        MessageListenerContainer child = event.getSource(MessageListenerContainer.class);
        MessageListenerContainer container = event.getContainer(MessageListenerContainer.class);
        String listenerId = container.getListenerId();
        if (listenerId == null) {
            listenerId = child.getListenerId();
        }
        if (listenerId == null) {
            return;
        }
        for (Map.Entry<String, Map<MetricName, ? extends Metric>> entry : child.metrics().entrySet()) {
            Optional<LanesConsumer<?, ?>> match = find(entry.getKey(), entry.getValue());
            if (match.isPresent()) {
                claim(listenerId, match.get());
            }
        }
    }

    private Optional<LanesConsumer<?, ?>> find(String clientId, Map<MetricName, ? extends Metric> metrics) {
        Map.Entry<MetricName, ? extends Metric> probe = metrics.entrySet().stream().findFirst().orElse(null);
        return consumers.keySet().stream()
                .filter(consumer -> consumer.clientId().equals(clientId))
                // Client ids may repeat across containers; each consumer has metric objects of its own.
                .filter(consumer -> probe == null || consumer.metrics().get(probe.getKey()) == probe.getValue())
                .findFirst();
    }

    private void claim(String listenerId, LanesConsumer<?, ?> consumer) {
        if (!consumers.replace(consumer, "", listenerId)) {
            return;
        }
        for (Observer observer : observers) {
            try {
                observer.claimed(listenerId, consumer);
            } catch (RuntimeException e) {
                log.warn("Observer {} failed on consumer {} of listener {}", observer, consumer.clientId(), listenerId, e);
            }
        }
    }

    /** The live consumers with their listener ids (null for a consumer no container claimed). Any thread. */
    public Map<LanesConsumer<?, ?>, @Nullable String> consumers() {
        Map<LanesConsumer<?, ?>, @Nullable String> snapshot = new LinkedHashMap<>();
        consumers.forEach((consumer, listenerId) -> snapshot.put(consumer, listenerId.isEmpty() ? null : listenerId));
        return snapshot;
    }

    /** The listener id of a live consumer, if a container claimed it. */
    public Optional<String> listenerId(LanesConsumer<?, ?> consumer) {
        return Optional.ofNullable(consumers.get(consumer)).filter(id -> !id.isEmpty());
    }
}
