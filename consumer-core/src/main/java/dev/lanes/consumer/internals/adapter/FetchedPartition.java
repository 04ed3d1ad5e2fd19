package dev.lanes.consumer.internals.adapter;

import org.apache.kafka.common.IsolationLevel;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.message.FetchResponseData;
import org.apache.kafka.common.record.RecordBatch;
import org.apache.kafka.common.record.Records;

import java.util.List;
import java.util.Optional;
import java.util.function.LongConsumer;

/**
 * The raw data that one Fetch response returned for one partition, still as bytes.
 *
 * <p>Built by the background thread from a Fetch response and buffered for the application thread, which
 * reads it with a {@link PartitionRecordsDecoder}. Its batches are decoded by its {@link DecodedBatches}: by the
 * background thread ahead of the application, or by the application thread when it gets there first.
 */
public final class FetchedPartition {

    private final TopicPartition partition;
    private final long fetchOffset;
    private final long highWatermark;
    private final long lastStableOffset;
    private final long logStartOffset;
    private final Records records;
    private final List<FetchResponseData.AbortedTransaction> abortedTransactions;
    private final long nextFetchOffset;
    private final Optional<Integer> lastEpoch;
    /** Told when the buffer lets go of this fetch, to count what reached the application. */
    private volatile java.util.function.Consumer<FetchedPartition> onRelease = ignored -> { };
    /** Application thread: records of this fetch handed to the application, and whether all of it was read. */
    private volatile int recordsTaken;
    private volatile boolean drained;
    /** Told of decompressed bytes held or let go, so that the fetch buffer counts them; set before buffering. */
    private volatile LongConsumer onHeldBytes = ignored -> { };
    /** Created by the first thread to decode (either), with the consumer's settings, which are the same for both. */
    private volatile DecodedBatches decoding;
    /** The consumer's, shared by its fetches: how large its batches turn out decompressed. */
    private final DecompressedSizes decompressedSizes;

    /** A fetch on its own: its batch stage learns decompressed sizes from its own batches only. */
    FetchedPartition(TopicPartition partition,
                     long fetchOffset,
                     long highWatermark,
                     long lastStableOffset,
                     long logStartOffset,
                     Records records,
                     List<FetchResponseData.AbortedTransaction> abortedTransactions) {
        this(partition, fetchOffset, highWatermark, lastStableOffset, logStartOffset, records, abortedTransactions,
                new DecompressedSizes());
    }

    FetchedPartition(TopicPartition partition,
                     long fetchOffset,
                     long highWatermark,
                     long lastStableOffset,
                     long logStartOffset,
                     Records records,
                     List<FetchResponseData.AbortedTransaction> abortedTransactions,
                     DecompressedSizes decompressedSizes) {
        this.partition = partition;
        this.decompressedSizes = decompressedSizes;
        this.fetchOffset = fetchOffset;
        this.highWatermark = highWatermark;
        this.lastStableOffset = lastStableOffset;
        this.logStartOffset = logStartOffset;
        this.records = records;
        this.abortedTransactions = abortedTransactions == null ? List.of() : abortedTransactions;
        long next = fetchOffset;
        int epoch = RecordBatch.NO_PARTITION_LEADER_EPOCH;
        // Batch headers only: nothing is decompressed or decoded here.
        for (RecordBatch batch : records.batches()) {
            next = Math.max(next, batch.nextOffset());
            epoch = batch.partitionLeaderEpoch();
        }
        this.nextFetchOffset = next;
        this.lastEpoch = epoch == RecordBatch.NO_PARTITION_LEADER_EPOCH ? Optional.empty() : Optional.of(epoch);
    }

    /** Background thread, before the fetch is buffered: what to tell when the buffer lets go of it. */
    public void onRelease(java.util.function.Consumer<FetchedPartition> action) {
        this.onRelease = action;
    }

    /** Background thread, before the fetch is buffered: what to tell of decompressed bytes held or let go. */
    public void onHeldBytes(LongConsumer action) {
        this.onHeldBytes = action;
    }

    /** The batch stage of this fetch, created on first use. Either thread. */
    public DecodedBatches decoding(IsolationLevel isolationLevel, boolean checkCrcs) {
        DecodedBatches existing = decoding;
        if (existing != null) {
            return existing;
        }
        synchronized (this) {
            if (decoding == null) {
                decoding = new DecodedBatches(this, isolationLevel, checkCrcs, onHeldBytes);
            }
            return decoding;
        }
    }

    DecompressedSizes decompressedSizes() {
        return decompressedSizes;
    }

    /** Whether batches of this fetch are left to decode. Either thread. */
    public boolean hasUndecoded() {
        DecodedBatches existing = decoding;
        return existing == null || existing.hasUndecoded();
    }

    /**
     * Whether batches of this fetch are left for the background thread to decode ahead: not once the application
     * thread has caught up with it and decodes the rest itself. Either thread.
     */
    public boolean decodableAhead() {
        DecodedBatches existing = decoding;
        return existing == null || existing.decodableAhead();
    }

    /**
     * The buffer lets go of this fetch: decoding stops, and the decompressed bytes it still held are returned
     * for the caller to stop counting. Either thread.
     */
    public long stopDecoding() {
        DecodedBatches existing;
        synchronized (this) {
            existing = decoding;
            if (existing == null) {
                // Nothing decoded yet: a decoder created from now on has nothing left to do.
                decoding = DecodedBatches.closed(this);
                return 0;
            }
        }
        return existing.close();
    }

    /** Application thread: {@code records} more of this fetch were handed to the application. */
    public void countTaken(int records) {
        recordsTaken += records;
    }

    /** Application thread: every record of this fetch was read. */
    public void markDrained() {
        drained = true;
    }

    public int recordsTaken() {
        return recordsTaken;
    }

    public boolean isDrained() {
        return drained;
    }

    /** The buffer let go of this fetch (read, dropped or discarded). */
    public void released() {
        onRelease.accept(this);
    }

    public TopicPartition partition() {
        return partition;
    }

    /** The offset the fetch asked for: the first record the application may see from it. */
    public long fetchOffset() {
        return fetchOffset;
    }

    public long highWatermark() {
        return highWatermark;
    }

    public long lastStableOffset() {
        return lastStableOffset;
    }

    public long logStartOffset() {
        return logStartOffset;
    }

    /**
     * The offset after the last complete batch of this fetch: where the next fetch of the partition
     * starts, and where the application's position will be once it has consumed this one.
     */
    public long nextFetchOffset() {
        return nextFetchOffset;
    }

    /** The leader epoch of the last batch: the epoch of the record before {@link #nextFetchOffset()}. */
    public Optional<Integer> lastEpoch() {
        return lastEpoch;
    }

    /** Bytes held by this fetch; what counts against {@code lanes.fetch.buffer.max.bytes}. */
    public int sizeInBytes() {
        return records.sizeInBytes();
    }

    Records records() {
        return records;
    }

    List<FetchResponseData.AbortedTransaction> abortedTransactions() {
        return abortedTransactions;
    }

    @Override
    public String toString() {
        return "FetchedPartition(" + partition + ", fetchOffset=" + fetchOffset + ", bytes=" + sizeInBytes() + ")";
    }
}
