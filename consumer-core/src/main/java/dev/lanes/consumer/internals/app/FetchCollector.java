package dev.lanes.consumer.internals.app;

import dev.lanes.consumer.internals.shared.FetchBuffer;
import dev.lanes.consumer.internals.adapter.FetchedPartition;
import dev.lanes.consumer.internals.adapter.PartitionRecordsDecoder;
import dev.lanes.consumer.internals.metrics.FetchManagerMetrics;
import dev.lanes.consumer.internals.shared.SubscriptionState;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.IsolationLevel;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.Deserializer;

import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Turns fetched data into records on the application thread, inside {@code poll()}: deserialization and the
 * position bookkeeping happen here, never on the background thread (R3). Batches arrive mostly decoded
 * (checked, filtered, decompressed) by the background thread; a batch it has not reached yet is decoded here.
 * Data fetched from a position that is no longer current (a seek, an unassignment) is dropped.
 * Application thread only.
 */
public final class FetchCollector<K, V> {

    private final FetchBuffer buffer;
    private final SubscriptionState subscriptions;
    private final IsolationLevel isolationLevel;
    private final boolean checkCrcs;
    private final Deserializer<K> keyDeserializer;
    private final Deserializer<V> valueDeserializer;
    private final FetchManagerMetrics fetchMetrics;

    private FetchedPartition currentFetch;
    private PartitionRecordsDecoder current;
    /** An error met after records of the same poll were collected: thrown by the next collect. */
    private RuntimeException deferredError;

    public FetchCollector(FetchBuffer buffer, SubscriptionState subscriptions, IsolationLevel isolationLevel,
                          boolean checkCrcs, Deserializer<K> keyDeserializer, Deserializer<V> valueDeserializer,
                          FetchManagerMetrics fetchMetrics) {
        this.fetchMetrics = fetchMetrics;
        this.buffer = buffer;
        this.subscriptions = subscriptions;
        this.isolationLevel = isolationLevel;
        this.checkCrcs = checkCrcs;
        this.keyDeserializer = keyDeserializer;
        this.valueDeserializer = valueDeserializer;
    }

    /**
     * Collects up to {@code maxRecords} records across the buffered partitions and advances their
     * positions. A partition's records in one call come from one fetch response, as with KafkaConsumer (which
     * never fetches a partition with data waiting): data fetched ahead for a partition already served waits for
     * the next call, so {@code max.partition.fetch.bytes} bounds a partition's share of a poll the same way.
     * A decoding or deserialization error is thrown once the records before it were returned; the position
     * stays on the failing record, so the application can seek past it.
     */
    public ConsumerRecords<K, V> collect(int maxRecords) {
        if (deferredError != null) {
            RuntimeException error = deferredError;
            deferredError = null;
            throw error;
        }
        Map<TopicPartition, List<ConsumerRecord<K, V>>> records = new LinkedHashMap<>();
        Map<TopicPartition, OffsetAndMetadata> nextOffsets = new LinkedHashMap<>();
        List<FetchedPartition> setAside = new ArrayList<>();
        int remaining = maxRecords;
        try {
            while (remaining > 0) {
                if (current == null && !openNext(setAside, nextOffsets)) {
                    break;
                }
                TopicPartition partition = current.partition();
                if (!subscriptions.isConsumable(partition)) {
                    discardCurrent();
                    continue;
                }
                long before = current.nextOffset();
                List<ConsumerRecord<K, V>> partitionRecords = records.get(partition);
                if (partitionRecords == null) {
                    partitionRecords = new ArrayList<>(remaining);
                }
                int taken;
                try {
                    taken = current.takeInto(partitionRecords, remaining, keyDeserializer, valueDeserializer);
                } catch (RuntimeException e) {
                    if (records.isEmpty()) {
                        throw e;
                    }
                    deferredError = e;
                    break;
                }
                long after = current.nextOffset();
                if (after != before && subscriptions.advance(partition, before, after, current.lastEpoch())) {
                    currentFetch.countTaken(taken);
                    // As KafkaConsumer measures them: lag and lead as of the position after the records handed out.
                    fetchMetrics.partitionOffsets(partition,
                            subscriptions.lag(partition, isolationLevel == IsolationLevel.READ_COMMITTED).orElse(-1),
                            subscriptions.lead(partition).orElse(-1));
                    if (taken > 0) {
                        records.putIfAbsent(partition, partitionRecords);
                        remaining -= taken;
                    }
                    nextOffsets.put(partition, new OffsetAndMetadata(after, current.lastEpoch(), ""));
                } else if (taken > 0) {
                    // The position moved under these records (a reset): they are not the application's to see.
                    partitionRecords.subList(partitionRecords.size() - taken, partitionRecords.size()).clear();
                }
                if (current.isDrained()) {
                    currentFetch.markDrained();
                    buffer.release(currentFetch);
                    current = null;
                    currentFetch = null;
                }
            }
        } finally {
            buffer.pushBack(setAside);
        }
        return new ConsumerRecords<>(records, nextOffsets);
    }

    /**
     * Opens the next buffered fetch to hand out; fetches of paused partitions, and of partitions this call has
     * served already ({@code served}), go to {@code setAside} for a later call.
     *
     * <p>A fetch set aside is checked against the position only when its turn comes: a partition can have several
     * fetches buffered in a row, and only the first of them starts at the position. Checked on the way past, the
     * ones behind it would look stale and be dropped, then fetched again (at the end of a topic, behind a fetch
     * long-polling for the other partitions).
     */
    private boolean openNext(List<FetchedPartition> setAside, Map<TopicPartition, ?> served) {
        FetchedPartition next;
        while ((next = buffer.next()) != null) {
            TopicPartition partition = next.partition();
            if (subscriptions.isPaused(partition) || served.containsKey(partition)) {
                setAside.add(next); // kept for when the partition is resumed, or for the next poll
                continue;
            }
            if (!subscriptions.isCurrentPosition(partition, next.fetchOffset())) {
                buffer.release(next); // fetched before a seek or an unassignment
                continue;
            }
            if (!subscriptions.isConsumable(partition)) {
                buffer.release(next); // being revoked: its records must not reach the application any more
                continue;
            }
            currentFetch = next;
            current = new PartitionRecordsDecoder(next, isolationLevel, checkCrcs);
            return true;
        }
        return false;
    }

    private void discardCurrent() {
        buffer.release(currentFetch);
        current = null;
        currentFetch = null;
    }

    /** Drops data of these partitions, buffered or being handed out (seek, unassignment). */
    public void drop(Collection<TopicPartition> partitions) {
        if (current != null && partitions.contains(current.partition())) {
            discardCurrent();
        }
        buffer.drop(partitions);
    }

    /** Releases everything (close). */
    public void clear() {
        if (current != null) {
            discardCurrent();
        }
        deferredError = null;
    }
}
