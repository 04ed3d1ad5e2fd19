package dev.lanes.consumer.internals.events;

import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;

import java.util.Map;
import java.util.Set;

/** Read the group's committed offsets; a partition without one maps to null, as in KafkaConsumer. */
public final class FetchCommittedOffsetsEvent extends ApplicationEvent<Map<TopicPartition, OffsetAndMetadata>> {

    private final Set<TopicPartition> partitions;

    public FetchCommittedOffsetsEvent(Set<TopicPartition> partitions, long deadlineMs) {
        super(deadlineMs);
        this.partitions = Set.copyOf(partitions);
    }

    public Set<TopicPartition> partitions() {
        return partitions;
    }

    @Override
    public void accept(ApplicationEventVisitor visitor) {
        visitor.onFetchCommittedOffsets(this);
    }
}
