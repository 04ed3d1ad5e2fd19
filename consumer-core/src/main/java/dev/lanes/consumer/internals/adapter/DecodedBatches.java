package dev.lanes.consumer.internals.adapter;

import org.apache.kafka.common.IsolationLevel;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.CorruptRecordException;
import org.apache.kafka.common.message.FetchResponseData;
import org.apache.kafka.common.record.CompressionType;
import org.apache.kafka.common.record.ControlRecordType;
import org.apache.kafka.common.record.DefaultRecordBatch;
import org.apache.kafka.common.record.Record;
import org.apache.kafka.common.record.RecordBatch;
import org.apache.kafka.common.utils.BufferSupplier;
import org.apache.kafka.common.utils.CloseableIterator;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
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
 * batches are decompressed, each into one buffer of its records. What is left for the application thread is the
 * record stage of {@link PartitionRecordsDecoder}: reading records in place, deserializing them and advancing the
 * position.
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

    private static final int INITIAL_SCRATCH_BYTES = 64 * 1024;

    /**
     * One batch as the record stage needs it: its header and, for a compressed batch, its records decompressed
     * into one buffer (v2) or into a list of records (legacy v0/v1, and the records read before a codec failed).
     * An uncompressed batch needs nothing more: its records are read in place, as those of a decompressed
     * buffer are. A failure ends the data.
     */
    static final class DecodedBatch {
        final RecordBatch batch;
        /** Nothing of the batch is returned; the position moves past it. */
        final boolean skipped;
        /** The v2 batch's records, decompressed, read in place by the record stage; or null. */
        final ByteBuffer decompressed;
        /** Records read one by one (those at or after the position, checked); or null. */
        final List<Record> records;
        /** Thrown once the records before it are returned; no batch follows. */
        final CorruptRecordException failure;
        final long decodedBytes;

        private DecodedBatch(RecordBatch batch, boolean skipped, ByteBuffer decompressed, List<Record> records,
                             CorruptRecordException failure, long decodedBytes) {
            this.batch = batch;
            this.skipped = skipped;
            this.decompressed = decompressed;
            this.records = records;
            this.failure = failure;
            this.decodedBytes = decodedBytes;
        }

        static DecodedBatch skipped(RecordBatch batch) {
            return new DecodedBatch(batch, true, null, null, null, 0);
        }

        static DecodedBatch inPlace(RecordBatch batch) {
            return new DecodedBatch(batch, false, null, null, null, 0);
        }

        static DecodedBatch decompressed(RecordBatch batch, ByteBuffer records) {
            return new DecodedBatch(batch, false, records, null, null, records.remaining());
        }

        static DecodedBatch records(RecordBatch batch, List<Record> records, CorruptRecordException failure) {
            long bytes = 0;
            for (Record record : records) {
                bytes += record.sizeInBytes();
            }
            return new DecodedBatch(batch, false, null, records, failure, bytes);
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
     * Where a v2 batch is decompressed before its records are copied out in one piece, sized by this fetch's
     * largest batch so far; under the lock, and let go of once the fetch is decoded.
     */
    private byte[] scratch;
    private int scratchLength;
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
            finished();
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
            finished();
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
                decoded.addLast(DecodedBatch.skipped(batch));
            } else if (batch.compressionType() == CompressionType.NONE) {
                decoded.addLast(DecodedBatch.inPlace(batch));
                position = Math.max(position, batch.lastOffset() + 1);
            } else if (batch instanceof DefaultRecordBatch v2) {
                decompressInBulk(v2);
            } else {
                decompressRecordByRecord(batch);
            }
        } catch (RuntimeException e) {
            // Anything a codec throws on bad data (not only KafkaException) ends the data here, so neither thread
            // moves past this batch: the application thread reports it, the background thread never dies of it.
            fail(batch, null, corrupt("Record batch", firstOffsetOf(batch), e));
        }
        return batch.sizeInBytes();
    }

    /**
     * Decompresses a v2 batch into one buffer of its records, which the record stage reads in place. Records are
     * not parsed here: parsing them as views of one buffer on the application thread costs less than copying
     * each out of the decompression stream into an array of its own, as a record-by-record stream read does.
     * If the codec fails part-way, the whole records decompressed before it are returned, then the failure.
     */
    private void decompressInBulk(DefaultRecordBatch batch) {
        RuntimeException codecFailure = null;
        scratchLength = 0;
        try (InputStream stream = batch.recordInputStream(decompressionBuffers)) {
            readAll(stream);
        } catch (IOException e) {
            codecFailure = new KafkaException("Failed to decompress record stream", e);
        } catch (RuntimeException e) {
            codecFailure = e;
        }
        if (codecFailure == null) {
            ByteBuffer records = ByteBuffer.wrap(Arrays.copyOf(scratch, scratchLength));
            decoded.addLast(DecodedBatch.decompressed(batch, records));
            hold(records.remaining());
            position = Math.max(position, batch.lastOffset() + 1);
            return;
        }
        List<Record> before = new ArrayList<>();
        try (DecompressedRecords records = new DecompressedRecords(batch, ByteBuffer.wrap(scratch, 0, scratchLength))) {
            Record record;
            while ((record = nextReturnable(partition, records, batch, position, checkCrcs)) != null) {
                before.add(record);
                position = record.offset() + 1;
            }
        } catch (RuntimeException partialRecord) {
            // The codec stopped inside this record: it and the rest of the batch are the failure's.
        }
        fail(batch, before, corrupt("Record batch", position, codecFailure));
    }

    /** Reads the whole stream into {@link #scratch}, growing it; {@link #scratchLength} counts what was read. */
    private void readAll(InputStream stream) throws IOException {
        if (scratch == null) {
            scratch = new byte[INITIAL_SCRATCH_BYTES];
        }
        int read;
        while ((read = stream.read(scratch, scratchLength, scratch.length - scratchLength)) >= 0) {
            scratchLength += read;
            if (scratchLength == scratch.length) {
                scratch = Arrays.copyOf(scratch, scratch.length * 2);
            }
        }
    }

    /** Reads a legacy (v0/v1) compressed batch's records into a list, up to a failure that ends the data. */
    private void decompressRecordByRecord(RecordBatch batch) {
        List<Record> records = new ArrayList<>();
        CorruptRecordException failure = null;
        try (CloseableIterator<Record> iterator = batch.streamingIterator(decompressionBuffers)) {
            Record record;
            while ((record = nextReturnable(partition, iterator, batch, position, checkCrcs)) != null) {
                records.add(record);
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
            DecodedBatch decodedBatch = DecodedBatch.records(batch, records, null);
            decoded.addLast(decodedBatch);
            hold(decodedBatch.decodedBytes);
        }
    }

    private void fail(RecordBatch batch, List<Record> recordsBefore, CorruptRecordException failure) {
        DecodedBatch failed = DecodedBatch.records(batch, recordsBefore == null ? List.of() : recordsBefore, failure);
        decoded.addLast(failed);
        hold(failed.decodedBytes);
        finished();
    }

    /** Nothing is left to decode: the scratch buffer, sized for this fetch's largest batch, is let go. */
    private void finished() {
        finished = true;
        scratch = null;
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
