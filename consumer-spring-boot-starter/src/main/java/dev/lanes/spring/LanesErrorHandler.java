package dev.lanes.spring;

import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.errors.RecordDeserializationException;

import java.util.List;
import java.util.function.BooleanSupplier;

/**
 * Decides what happens when a listener fails: the container hands it every invocation, and commits the
 * records once this handler says they are done (processed, skipped or dead-lettered). Called from the
 * container's listener threads.
 */
public interface LanesErrorHandler {

    /**
     * Invokes the listener for {@code records} (one record, or a batch), retrying and then recovering
     * on failure.
     *
     * @param groupId the listener's consumer group
     * @param invocation calls the listener with the records given to it: all of them, or (after a
     *                   {@link BatchListenerFailedException}) the failed record and those after it
     * @param stopping true once the container is stopping; retries give up then
     * @return true when the records are done and may be committed, false when the handler gave up
     *         because the container is stopping (the records are then delivered again later)
     */
    boolean invoke(String listenerId, String groupId, List<? extends ConsumerRecord<?, ?>> records,
                   ListenerInvocation invocation, BooleanSupplier stopping);

    /** Handles a record that could not be deserialized; the container then skips past it. */
    void handleDeserializationFailure(String listenerId, String groupId, RecordDeserializationException exception);

    /** One call of the listener method. */
    @FunctionalInterface
    interface ListenerInvocation {
        void invoke(List<? extends ConsumerRecord<?, ?>> records) throws Exception;
    }
}
