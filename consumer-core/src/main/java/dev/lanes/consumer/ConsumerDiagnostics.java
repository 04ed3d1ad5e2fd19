package dev.lanes.consumer;

import org.apache.kafka.common.TopicPartition;

import java.util.Optional;
import java.util.Set;

/**
 * What a container, a health check or a management endpoint may ask a running consumer from any thread,
 * next to its {@link org.apache.kafka.clients.consumer.Consumer} API (which only the polling thread calls).
 * Every method answers at once from state the consumer already holds: no request, no lock shared with poll.
 */
public interface ConsumerDiagnostics {

    /** The client id, configured or generated. */
    String clientId();

    /** The group id, if one is configured. */
    Optional<String> groupId();

    /** The name of the consumer's background thread. */
    String networkThreadName();

    /** Whether the background thread is running (false once closed or after it died). */
    boolean isBackgroundThreadAlive();

    /** Why the background thread died, if it did. */
    Optional<Throwable> backgroundFailure();

    /** The group member's state; {@link MemberState#NONE} without a group.id. */
    MemberState memberState();

    /** The partitions assigned now, as a copy. */
    Set<TopicPartition> assignmentSnapshot();

    /** The partitions paused now, as a copy. */
    Set<TopicPartition> pausedSnapshot();

    /** Whether the application closed the consumer. */
    boolean isClosed();

    /**
     * Adds an observer of every lane queue time; it runs on the background thread and must not block
     * (see {@link QueueTimeObserver}).
     */
    void addQueueTimeObserver(QueueTimeObserver observer);

    void removeQueueTimeObserver(QueueTimeObserver observer);
}
