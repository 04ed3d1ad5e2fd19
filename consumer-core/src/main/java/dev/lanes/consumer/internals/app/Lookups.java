package dev.lanes.consumer.internals.app;

import dev.lanes.consumer.internals.adapter.ListedOffset;
import dev.lanes.consumer.internals.common.Clock;
import dev.lanes.consumer.internals.events.AwaitPositionsEvent;
import dev.lanes.consumer.internals.events.FetchCommittedOffsetsEvent;
import dev.lanes.consumer.internals.events.ListOffsetsEvent;
import dev.lanes.consumer.internals.events.TopicMetadataEvent;
import dev.lanes.consumer.internals.shared.SubscriptionState;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.consumer.OffsetAndTimestamp;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.TimeoutException;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;

/**
 * The calls that look something up through the background thread and wait for the answer until their deadline
 * (R12): positions, committed offsets, offsets by timestamp, topic metadata. Each one is an event on the user
 * lane and the application thread's own timed wait; the background thread coalesces identical lookups (R4).
 *
 * <p>Application thread only. The caller has checked the arguments (and the group, for committed offsets) and
 * holds the call gate; timeouts are not negative.
 */
public final class Lookups {

    private final Clock clock;
    private final SubscriptionState subscriptions;
    private final BackgroundCalls calls;

    public Lookups(Clock clock, SubscriptionState subscriptions, BackgroundCalls calls) {
        this.clock = clock;
        this.subscriptions = subscriptions;
        this.calls = calls;
    }

    /** The position of an assigned partition, looked up (committed offset or reset) if it has none yet. */
    public long position(TopicPartition partition, long timeoutMs) {
        OptionalLong known = subscriptions.position(partition);
        if (known.isPresent()) {
            return known.getAsLong();
        }
        AwaitPositionsEvent event = new AwaitPositionsEvent(Set.of(partition), clock.deadlineAfter(timeoutMs));
        calls.submitBlocking(event);
        calls.await(event, "position");
        return subscriptions.position(partition).orElseThrow(() -> new TimeoutException(
                "Timeout of " + timeoutMs + "ms expired before the position for partition " + partition
                        + " could be determined"));
    }

    public Map<TopicPartition, OffsetAndMetadata> committed(Set<TopicPartition> partitions, long timeoutMs) {
        FetchCommittedOffsetsEvent event = new FetchCommittedOffsetsEvent(partitions, clock.deadlineAfter(timeoutMs));
        calls.submitBlocking(event);
        return calls.await(event, "committed");
    }

    /** The offset at one timestamp (the earliest or latest marker) for each partition that has one. */
    public Map<TopicPartition, Long> offsets(Iterable<TopicPartition> partitions, long timestamp, long timeoutMs,
                                             String operation) {
        Map<TopicPartition, Long> timestamps = new HashMap<>();
        partitions.forEach(partition -> timestamps.put(partition, timestamp));
        Map<TopicPartition, Long> offsets = new HashMap<>();
        listOffsets(timestamps, timeoutMs, operation).forEach((partition, offset) -> {
            if (offset != null) {
                offsets.put(partition, offset.offset());
            }
        });
        return offsets;
    }

    /** For each partition asked about, the first offset at or after its timestamp, or null if there is none. */
    public Map<TopicPartition, OffsetAndTimestamp> offsetsForTimes(Map<TopicPartition, Long> timestamps, long timeoutMs) {
        Map<TopicPartition, ListedOffset> listed = listOffsets(timestamps, timeoutMs, "offsetsForTimes");
        Map<TopicPartition, OffsetAndTimestamp> result = new HashMap<>();
        timestamps.keySet().forEach(partition -> {
            ListedOffset offset = listed.get(partition);
            result.put(partition, offset == null ? null
                    : new OffsetAndTimestamp(offset.offset(), offset.timestamp(), offset.leaderEpoch()));
        });
        return result;
    }

    /** Looks offsets up; with a zero timeout it looks nothing up and finds nothing, as KafkaConsumer does. */
    private Map<TopicPartition, ListedOffset> listOffsets(Map<TopicPartition, Long> timestamps, long timeoutMs,
                                                          String operation) {
        if (timestamps.isEmpty() || timeoutMs == 0) {
            return Map.of();
        }
        ListOffsetsEvent event = new ListOffsetsEvent(timestamps, clock.deadlineAfter(timeoutMs));
        calls.submitBlocking(event);
        return calls.await(event, operation);
    }

    /** The partitions of one topic, or of every topic the cluster has (an empty topic). */
    public Map<String, List<PartitionInfo>> topics(Optional<String> topic, long timeoutMs, String operation) {
        TopicMetadataEvent event = new TopicMetadataEvent(topic, clock.deadlineAfter(timeoutMs));
        calls.submitBlocking(event);
        return calls.await(event, operation);
    }
}
