package dev.lanes.consumer.internals.events;

import org.apache.kafka.common.TopicPartition;

import java.util.Set;

/**
 * Completes once every named partition has a fetch position, or exceptionally with the error that keeps
 * one from getting it (for example NoOffsetForPartitionException with {@code auto.offset.reset=none}).
 */
public final class AwaitPositionsEvent extends ApplicationEvent<Void> {

    private final Set<TopicPartition> partitions;

    public AwaitPositionsEvent(Set<TopicPartition> partitions, long deadlineMs) {
        super(deadlineMs);
        this.partitions = Set.copyOf(partitions);
    }

    public Set<TopicPartition> partitions() {
        return partitions;
    }

    @Override
    public void accept(ApplicationEventVisitor visitor) {
        visitor.onAwaitPositions(this);
    }
}
