package dev.lanes.consumer.internals.events;

import org.apache.kafka.common.TopicPartition;

import java.util.Set;

/**
 * A request from the background thread for the application thread to run one method of the
 * ConsumerRebalanceListener inside {@code poll()} (R3, R15). The application answers with a
 * {@link RebalanceCallbackCompletedEvent} on the system lane carrying the same id.
 */
public record RebalanceCallback(long id, Kind kind, Set<TopicPartition> partitions, long requestedNanos) {

    public enum Kind {
        REVOKED,
        ASSIGNED,
        LOST
    }
}
