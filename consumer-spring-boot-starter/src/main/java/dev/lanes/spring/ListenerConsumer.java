package dev.lanes.spring;

import dev.lanes.consumer.ConsumerDiagnostics;
import org.apache.kafka.clients.consumer.Consumer;

/**
 * One consumer of a listener container, seen through the two interfaces the starter needs: its {@link Consumer}
 * API, which only the container's thread for it calls (other code may read its {@code metrics()}), and its
 * {@link ConsumerDiagnostics}, which any thread may query (health, endpoint, meters). For a Lanes consumer both are
 * the same object.
 *
 * @param consumer    the consumer
 * @param diagnostics what any thread may ask it
 * @param <K>         key type
 * @param <V>         value type
 */
public record ListenerConsumer<K, V>(Consumer<K, V> consumer, ConsumerDiagnostics diagnostics) {

    /** A consumer that is its own diagnostics, as a {@link dev.lanes.consumer.LanesConsumer} is. */
    public static <K, V, C extends Consumer<K, V> & ConsumerDiagnostics> ListenerConsumer<K, V> of(C consumer) {
        return new ListenerConsumer<>(consumer, consumer);
    }

    /** The client id. */
    public String clientId() {
        return diagnostics.clientId();
    }
}
