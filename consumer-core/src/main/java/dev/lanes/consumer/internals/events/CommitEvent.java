package dev.lanes.consumer.internals.events;

import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;

import java.util.Map;

/**
 * Commit offsets to the group coordinator. A synchronous commit retries retriable errors until its
 * deadline; an asynchronous one is tried once and may be merged with other pending asynchronous commits
 * (R4). Completes with the offsets that were committed.
 */
public final class CommitEvent extends ApplicationEvent<Map<TopicPartition, OffsetAndMetadata>> {

    private final Map<TopicPartition, OffsetAndMetadata> offsets;
    private final boolean sync;

    public CommitEvent(Map<TopicPartition, OffsetAndMetadata> offsets, boolean sync, long deadlineMs) {
        super(deadlineMs);
        this.offsets = Map.copyOf(offsets);
        this.sync = sync;
    }

    public Map<TopicPartition, OffsetAndMetadata> offsets() {
        return offsets;
    }

    /** Whether the caller waits for the result, so retriable errors are retried until the deadline. */
    public boolean isSync() {
        return sync;
    }

    @Override
    public void accept(ApplicationEventVisitor visitor) {
        visitor.onCommit(this);
    }

    @Override
    public boolean acceptedWhileClosing() {
        return true;
    }
}
