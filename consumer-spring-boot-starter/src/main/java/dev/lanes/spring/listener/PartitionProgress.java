package dev.lanes.spring.listener;

import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;

import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * What one consumer of a slot owns and has processed: its partitions, the offsets processed since their last
 * synchronous commit (committed again on revocation and at shutdown, since asynchronous commits may fail) and what
 * the listener acknowledged. Called from the slot's thread, except {@link #acknowledge} (any thread).
 */
final class PartitionProgress {

    private final Map<TopicPartition, OffsetAndMetadata> processed = new HashMap<>();
    private final Map<TopicPartition, Long> acknowledged = new ConcurrentHashMap<>();
    private final Set<TopicPartition> assigned = new HashSet<>();
    // Partitions revoked in a rebalance that ran inside this batch's listener calls: their records are skipped.
    private final Set<TopicPartition> revokedDuringBatch = new HashSet<>();
    private volatile int assignedCount;

    /** How many partitions are assigned now; any thread. */
    int assignedCount() {
        return assignedCount;
    }

    /** Replaces the assignment (explicit assignment, no group). */
    void assignExactly(Collection<TopicPartition> partitions) {
        assigned.clear();
        assigned.addAll(partitions);
        assignedCount = assigned.size();
    }

    void assigned(Collection<TopicPartition> partitions) {
        assigned.addAll(partitions);
        revokedDuringBatch.removeAll(partitions);
        assignedCount = assigned.size();
    }

    /** Gives the partitions up and returns their processed offsets, which are owed a commit. */
    Map<TopicPartition, OffsetAndMetadata> revoked(Collection<TopicPartition> partitions) {
        Map<TopicPartition, OffsetAndMetadata> owed = new HashMap<>();
        for (TopicPartition partition : partitions) {
            OffsetAndMetadata offset = processed.remove(partition);
            if (offset != null) {
                owed.put(partition, offset);
            }
        }
        giveUp(partitions);
        return owed;
    }

    /** Gives the partitions up without a commit: another member may own them already. */
    void lost(Collection<TopicPartition> partitions) {
        partitions.forEach(processed::remove);
        giveUp(partitions);
    }

    private void giveUp(Collection<TopicPartition> partitions) {
        assigned.removeAll(partitions);
        assignedCount = assigned.size();
        revokedDuringBatch.addAll(partitions);
    }

    /** Whether the records of the partition fetched before a rebalance inside this batch must be skipped. */
    boolean revokedDuringBatch(TopicPartition partition) {
        return !assigned.contains(partition) && revokedDuringBatch.contains(partition);
    }

    void processed(TopicPartition partition, OffsetAndMetadata next) {
        processed.put(partition, next);
    }

    void processed(Map<TopicPartition, OffsetAndMetadata> offsets) {
        processed.putAll(offsets);
    }

    /** The processed offsets not yet committed synchronously; a live view. */
    Map<TopicPartition, OffsetAndMetadata> processedOffsets() {
        return processed;
    }

    void clearProcessed() {
        processed.clear();
    }

    /** Marks the records up to the last of each partition as acknowledged. Any thread (the listener's). */
    void acknowledge(List<? extends ConsumerRecord<?, ?>> records) {
        for (ConsumerRecord<?, ?> record : records) {
            acknowledged.merge(new TopicPartition(record.topic(), record.partition()), record.offset() + 1, Math::max);
        }
    }

    boolean hasAcknowledged() {
        return !acknowledged.isEmpty();
    }

    /**
     * Moves what the listener acknowledged into the processed offsets and returns what moved forward, leaving out
     * partitions no longer owned.
     */
    Map<TopicPartition, OffsetAndMetadata> drainAcknowledged() {
        Map<TopicPartition, OffsetAndMetadata> drained = new HashMap<>();
        for (TopicPartition partition : List.copyOf(acknowledged.keySet())) {
            Long next = acknowledged.remove(partition);
            if (next != null && assigned.contains(partition)) {
                OffsetAndMetadata before = processed.get(partition);
                if (before == null || before.offset() < next) {
                    OffsetAndMetadata offset = new OffsetAndMetadata(next);
                    processed.put(partition, offset);
                    drained.put(partition, offset);
                }
            }
        }
        return drained;
    }
}
