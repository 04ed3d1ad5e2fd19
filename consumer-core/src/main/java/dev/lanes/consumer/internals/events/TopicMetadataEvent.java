package dev.lanes.consumer.internals.events;

import org.apache.kafka.common.PartitionInfo;

import java.util.List;
import java.util.Map;
import java.util.Optional;

/** Ask for the partitions of one topic, or of every topic when none is named (listTopics). */
public final class TopicMetadataEvent extends ApplicationEvent<Map<String, List<PartitionInfo>>> {

    private final Optional<String> topic;

    public TopicMetadataEvent(Optional<String> topic, long deadlineMs) {
        super(deadlineMs);
        this.topic = topic;
    }

    /** The topic asked for; empty for all topics. */
    public Optional<String> topic() {
        return topic;
    }

    @Override
    public void accept(ApplicationEventVisitor visitor) {
        visitor.onTopicMetadata(this);
    }
}
