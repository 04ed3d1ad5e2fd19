package dev.lanes.consumer.internals.adapter;

import org.apache.kafka.common.IsolationLevel;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.CorruptRecordException;
import org.apache.kafka.common.message.FetchResponseData;
import org.apache.kafka.common.record.CompressionType;
import org.apache.kafka.common.record.ControlRecordType;
import org.apache.kafka.common.record.Record;
import org.apache.kafka.common.record.RecordBatch;
import org.apache.kafka.common.utils.BufferSupplier;
import org.apache.kafka.common.utils.CloseableIterator;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Optional;
import java.util.PriorityQueue;
import java.util.Set;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.LongConsumer;

/**
 * The batch stage of decoding one {@link FetchedPartition}: batch CRCs are checked, batches before the fetch
 * offset, control batches and (with {@code read_committed}) aborted transactions are filtered out, and compressed
 * batches are decompressed into records that own their bytes. What is left for the application thread is the
 * record stage of {@link PartitionRecordsDecoder}: deserializing and advancing the position.
 *
 * <p>Two threads decode: the background thread decodes ahead in bounded slices, while the fetch buffer has
 * room, and the application thread decodes the next batch itself when it gets there first, so it never waits
 * for the background thread longer than the batch it would otherwise have decoded. A lock makes one batch at a
 * time the unit of work; decoded batches wait in order until the application thread takes them. No user code
 * runs here (R3).
 *
 * <p>Decompressed bytes count against {@code lanes.fetch.buffer.max.bytes} from the moment a batch is decoded
 * until the application thread takes it: each change is reported to {@code heldBytes} under the lock, and
 * {@link #close()} returns what is still held, so the fetch buffer's count stays exact whoever decodes.
 */
public final class DecodedBatches {

    /**
     * One batch as the record stage needs it: its header, and either its decompressed records (those at or
     * after the position, checked) or, for an uncompressed batch, nothing more, since reading its records in
     * place costs no more than taking them from a list. A failure ends the data.
     */
    static final class DecodedBatch {
        final RecordBatch batch;
        /** Nothing of the batch is returned; the position moves past it. */
        final boolean skipped;
        /** Decompressed records, or null when the record stage reads the (uncompressed) batch itself. */
        final List<Record> records;
        /** Thrown once the records before it are returned; no batch follows. */
        final CorruptRecordException failure;
        final long decodedBytes;

        DecodedBatch(RecordBatch batch, boolean skipped, List<Record> records, CorruptRecordException failure,
                     long decodedBytes) {
            this.batch = batch;
            this.skipped = skipped;
            this.records = records;
            this.failure = failure;
            this.decodedBytes = decodedBytes;
        }
    }

    private final ReentrantLock lock = new ReentrantLock();
    private final TopicPartition partition;
    private final boolean readCommitted;
    private final boolean checkCrcs;
    private final LongConsumer heldBytes;
    private final Iterator<? extends RecordBatch> batches;
    /** Aborted transactions of this fetch not yet reached, by first offset; null when there are none. */
    private final PriorityQueue<FetchResponseData.AbortedTransaction> abortedTransactions;
    /** Producers whose current transaction is aborted; their abort marker removes them. */
    private final Set<Long> abortedProducerIds = new HashSet<>();
    // Per fetch: its batches reuse one decompression buffer, used by one thread at a time under the lock.
    private final BufferSupplier decompressionBuffers = BufferSupplier.create();
    private final ArrayDeque<DecodedBatch> decoded = new ArrayDeque<>();
    /**
     * Where the record stage's position will be once it has taken everything decoded so far: records before it
     * are not returned, and a batch ending before it is skipped.
     */
    private long position;
    private long held;
    private boolean closed;
    /** Every batch is decoded (or a failure ended the data, or the fetch was let go): nothing left to do. */
    private volatile boolean finished;

    DecodedBatches(FetchedPartition fetched, IsolationLevel isolationLevel, boolean checkCrcs, LongConsumer heldBytes) {
        this.partition = fetched.partition();
        this.readCommitted = isolationLevel == IsolationLevel.READ_COMMITTED;
        this.checkCrcs = checkCrcs;
        this.heldBytes = heldBytes;
        this.batches = fetched.records().batches().iterator();
        this.abortedTransactions = readCommitted ? abortedTransactionsByFirstOffset(fetched.abortedTransactions()) : null;
        this.position = fetched.fetchOffset();
    }

    /** A batch stage for a fetch let go of before any thread decoded it: it has nothing to give. */
    static DecodedBatches closed(FetchedPartition fetched) {
        DecodedBatches closed = new DecodedBatches(fetched, IsolationLevel.READ_UNCOMMITTED, false, ignored -> { });
        closed.close();
        return closed;
    }

    /**
     * Decodes the next batch unless every batch is decoded already; returns the bytes of fetched data it
     * read (0 when there was nothing left), so the background thread can bound its slice. Any thread.
     */
    public int decodeNext() {
        lock.lock();
        try {
            return finished ? 0 : decodeNextLocked();
        } finally {
            lock.unlock();
        }
    }

    /** Whether batches are left to decode. Any thread. */
    public boolean hasUndecoded() {
        return !finished;
    }

    /**
     * The next decoded batch, decoding it now if no thread has yet; null once every batch was taken.
     * Application thread.
     */
    DecodedBatch take() {
        lock.lock();
        try {
            if (decoded.isEmpty() && !finished) {
                decodeNextLocked();
            }
            DecodedBatch next = decoded.pollFirst();
            if (next != null && next.decodedBytes > 0) {
                hold(-next.decodedBytes);
            }
            return next;
        } finally {
            lock.unlock();
        }
    }

    /**
     * Stops decoding (the fetch was read, dropped or discarded) and returns the decompressed bytes it still
     * held, which the caller stops counting. Any thread.
     */
    public long close() {
        lock.lock();
        try {
            closed = true;
            finished = true;
            decoded.clear();
            long released = held;
            held = 0;
            return released;
        } finally {
            lock.unlock();
        }
    }

    private int decodeNextLocked() {
        if (closed) {
            return 0;
        }
        RecordBatch batch;
        try {
            batch = batches.hasNext() ? batches.next() : null;
        } catch (KafkaException e) {
            fail(null, null, corrupt("Record batch", position, e));
            return 0;
        }
        if (batch == null) {
            finished = true;
            return 0;
        }
        try {
            // Legacy (v0/v1) records carry their own checksum, checked record by record.
            if (checkCrcs && batch.magic() >= RecordBatch.MAGIC_VALUE_V2) {
                batch.ensureValid();
            }
            if ((readCommitted && batch.hasProducerId() && isAborted(batch))
                    || batch.isControlBatch() || batch.lastOffset() < position) {
                position = Math.max(position, batch.nextOffset());
                decoded.addLast(new DecodedBatch(batch, true, null, null, 0));
            } else if (batch.compressionType() == CompressionType.NONE) {
                decoded.addLast(new DecodedBatch(batch, false, null, null, 0));
                position = Math.max(position, batch.lastOffset() + 1);
            } else {
                decompress(batch);
            }
        } catch (RuntimeException e) {
            // Anything a codec throws on bad data (not only KafkaException) ends the data here, so neither thread
            // moves past this batch: the application thread reports it, the background thread never dies of it.
            fail(batch, null, corrupt("Record batch", firstOffsetOf(batch), e));
        }
        return batch.sizeInBytes();
    }

    /** Reads a compressed batch's records into a list, up to a failure that ends the data. */
    private void decompress(RecordBatch batch) {
        List<Record> records = new ArrayList<>();
        long bytes = 0;
        CorruptRecordException failure = null;
        try (CloseableIterator<Record> iterator = batch.streamingIterator(decompressionBuffers)) {
            Record record;
            while ((record = nextReturnable(partition, iterator, batch, position, checkCrcs)) != null) {
                records.add(record);
                bytes += record.sizeInBytes();
                position = record.offset() + 1;
            }
        } catch (CorruptRecordException e) {
            failure = e;
        } catch (RuntimeException e) {
            // A codec's own error part-way through: the records read before it are still returned first.
            failure = corrupt("Record batch", position, e);
        }
        if (failure != null) {
            fail(batch, records, failure);
        } else {
            decoded.addLast(new DecodedBatch(batch, false, records, null, bytes));
            hold(bytes);
        }
    }

    private void fail(RecordBatch batch, List<Record> recordsBefore, CorruptRecordException failure) {
        long bytes = 0;
        if (recordsBefore != null) {
            for (Record record : recordsBefore) {
                bytes += record.sizeInBytes();
            }
        }
        decoded.addLast(new DecodedBatch(batch, false, recordsBefore == null ? List.of() : recordsBefore, failure, bytes));
        hold(bytes);
        finished = true;
    }

    private void hold(long bytes) {
        held += bytes;
        heldBytes.accept(bytes);
    }

    /**
     * The next record of {@code batch} at or after {@code position}, checked when CRC checks are on; null at the
     * end of the batch. Either thread, for the batch it is reading.
     */
    static Record nextReturnable(TopicPartition partition, CloseableIterator<Record> records, RecordBatch batch,
                                 long position, boolean checkCrcs) {
        while (true) {
            Record record;
            try {
                record = records.hasNext() ? records.next() : null;
            } catch (KafkaException e) {
                throw corrupt(partition, "Record batch", firstOffsetOf(batch), e);
            }
            if (record == null) {
                return null;
            }
            if (record.offset() >= position) { // the fetch may start in the middle of a batch
                if (checkCrcs) {
                    try {
                        record.ensureValid();
                    } catch (KafkaException e) {
                        throw corrupt(partition, "Record", record.offset(), e);
                    }
                }
                return record;
            }
        }
    }

    /**
     * KafkaConsumer's rule: every aborted transaction that began by the end of this batch is open for its
     * producer until that producer's abort marker, and the producer's transactional data meanwhile is aborted.
     */
    private boolean isAborted(RecordBatch batch) {
        while (abortedTransactions != null && !abortedTransactions.isEmpty()
                && abortedTransactions.peek().firstOffset() <= batch.lastOffset()) {
            abortedProducerIds.add(abortedTransactions.poll().producerId());
        }
        if (isAbortMarker(batch)) {
            abortedProducerIds.remove(batch.producerId());
            return false;
        }
        return batch.isTransactional() && abortedProducerIds.contains(batch.producerId());
    }

    private static boolean isAbortMarker(RecordBatch batch) {
        if (!batch.isControlBatch()) {
            return false;
        }
        Iterator<Record> records = batch.iterator();
        if (!records.hasNext()) {
            return false;
        }
        Record marker = records.next();
        return marker.hasKey() && ControlRecordType.parse(marker.key()) == ControlRecordType.ABORT;
    }

    private CorruptRecordException corrupt(String what, long offset, RuntimeException cause) {
        return corrupt(partition, what, offset, cause);
    }

    static CorruptRecordException corrupt(TopicPartition partition, String what, long offset, RuntimeException cause) {
        return new CorruptRecordException(what + " for partition " + partition + " at offset " + offset
                + " is invalid: " + cause.getMessage() + ". If needed, seek past it to continue consumption.",
                cause);
    }

    /** A legacy compressed batch knows its first offset only after decompression; its last one is at hand. */
    static long firstOffsetOf(RecordBatch batch) {
        return batch.magic() >= RecordBatch.MAGIC_VALUE_V2 ? batch.baseOffset() : batch.lastOffset();
    }

    static Optional<Integer> epochOf(RecordBatch batch) {
        int epoch = batch.partitionLeaderEpoch();
        return epoch == RecordBatch.NO_PARTITION_LEADER_EPOCH ? Optional.empty() : Optional.of(epoch);
    }

    private static PriorityQueue<FetchResponseData.AbortedTransaction> abortedTransactionsByFirstOffset(
            List<FetchResponseData.AbortedTransaction> aborted) {
        if (aborted.isEmpty()) {
            return null;
        }
        PriorityQueue<FetchResponseData.AbortedTransaction> byFirstOffset = new PriorityQueue<>(aborted.size(),
                Comparator.comparingLong(FetchResponseData.AbortedTransaction::firstOffset));
        byFirstOffset.addAll(aborted);
        return byFirstOffset;
    }
}
