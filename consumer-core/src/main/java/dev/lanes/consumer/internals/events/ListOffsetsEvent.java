package dev.lanes.consumer.internals.events;

import dev.lanes.consumer.internals.adapter.ListedOffset;
import org.apache.kafka.common.TopicPartition;

import java.util.Map;

/**
 * Look up offsets by timestamp (or the earliest/latest sentinels) from the partition leaders, for
 * beginningOffsets, endOffsets and offsetsForTimes. A partition with no answer maps to null.
 */
public final class ListOffsetsEvent extends ApplicationEvent<Map<TopicPartition, ListedOffset>> {

    private final Map<TopicPartition, Long> timestamps;

    public ListOffsetsEvent(Map<TopicPartition, Long> timestamps, long deadlineMs) {
        super(deadlineMs);
        this.timestamps = Map.copyOf(timestamps);
    }

    public Map<TopicPartition, Long> timestamps() {
        return timestamps;
    }

    @Override
    public void accept(ApplicationEventVisitor visitor) {
        visitor.onListOffsets(this);
    }
}
