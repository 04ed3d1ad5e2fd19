package dev.lanes.spring;

import dev.lanes.consumer.LanesConsumer;

import java.time.Duration;
import java.util.Map;

/**
 * Creates the Lanes consumers of the listener containers from the {@code lanes.consumer.*} properties,
 * with per-listener overrides applied last.
 *
 * @param <K> key type
 * @param <V> value type
 */
public interface LanesConsumerFactory<K, V> {

    /**
     * A new consumer for the listener {@code listenerId}; {@code overrides} win over the configured
     * settings (group id, client id, per-listener properties).
     */
    LanesConsumer<K, V> createConsumer(String listenerId, Map<String, Object> overrides);

    /**
     * Closes a consumer this factory created, within {@code timeout}, and tells the
     * {@link ConsumerLifecycleListener}s. Containers close their consumers through this method.
     */
    default void closeConsumer(String listenerId, LanesConsumer<K, V> consumer, Duration timeout) {
        consumer.close(timeout);
    }

    /** The settings every consumer starts from. */
    Map<String, Object> configuration();

    /** Registers a callback told about every consumer created and closed (meter binding uses it). */
    void addListener(ConsumerLifecycleListener listener);

    /** Told when consumers of the factory are created and closed. */
    interface ConsumerLifecycleListener {

        default void consumerCreated(String listenerId, LanesConsumer<?, ?> consumer) {
        }

        default void consumerClosed(String listenerId, LanesConsumer<?, ?> consumer) {
        }
    }
}
