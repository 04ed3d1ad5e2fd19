package dev.lanes.consumer.internals.adapter;

import org.apache.kafka.common.IsolationLevel;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.CorruptRecordException;
import org.apache.kafka.common.message.FetchResponseData;
import org.apache.kafka.common.record.CompressionType;
import org.apache.kafka.common.record.ControlRecordType;
import org.apache.kafka.common.record.DefaultRecordBatch;
import org.apache.kafka.common.record.MemoryRecords;
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
 * for the background thread longer than the batch it would otherwise have decoded. Once the application thread
 * has caught up with a fetch, it decodes the rest of that fetch itself and the background thread moves on to
 * the next one ({@link #decodableAhead()}): the two then decode different fetches side by side instead of
 * taking turns on one. Two locks keep them from waiting on each other more than that: {@code decodeLock} makes
 * one batch at a time the unit of decoding (the batch iterator, the position, the scratch buffer), and the
 * short {@code queueLock} guards the decoded batches waiting in order, so that taking a decoded batch never
 * waits for the batch being decoded behind it. No user code runs here (R3).
 *
 * <p>Decompressed bytes count against {@code lanes.fetch.buffer.max.bytes} from the moment a decoded batch is
 * queued until the application thread takes it: each change is reported to {@code heldBytes} under the queue
 * lock, and {@link #close()} returns what is still held, so the fetch buffer's count stays exact whoever
 * decodes. A batch decoded after {@link #close()} is dropped uncounted, so letting a fetch go never waits for
 * the batch being decoded.
 */
public final class DecodedBatches {

    /** Larger than any batch's records decompressed could sensibly be: past it, the record stream reads them. */
    private static final int MAX_SCRATCH_BYTES = 1 << 30;

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

    /** Held while one batch is decoded: guards the batch iterator, the position, the transactions and the scratch buffer. */
    private final ReentrantLock decodeLock = new ReentrantLock();
    /** Guards the decoded batches waiting, what they hold and whether the fetch was let go; never held while decoding. */
    private final Object queueLock = new Object();
    private final TopicPartition partition;
    private final boolean readCommitted;
    private final boolean checkCrcs;
    private final LongConsumer heldBytes;
    private final Iterator<? extends RecordBatch> batches;
    /**
     * The fetch's bytes when they are in a heap array, which zstd and lz4 batches are decompressed from in place; else null.
     * {@link #nextBatchStart} is where the next batch of {@link #batches} starts in it (batches lie back to back).
     */
    private final ByteBuffer fetchBytes;
    private int nextBatchStart;
    /** This fetch's zstd batches reuse one context; under decodeLock, closed once the fetch is decoded or let go. */
    private ZstdBatchDecompressor zstd;
    /** Aborted transactions of this fetch not yet reached, by first offset; null when there are none. */
    private final PriorityQueue<FetchResponseData.AbortedTransaction> abortedTransactions;
    /** Producers whose current transaction is aborted; their abort marker removes them. */
    private final Set<Long> abortedProducerIds = new HashSet<>();
    // Per fetch: its batches reuse one decompression buffer, used by one thread at a time under decodeLock.
    private final BufferSupplier decompressionBuffers = BufferSupplier.create();
    private final ArrayDeque<DecodedBatch> decoded = new ArrayDeque<>();
    /** The consumer's batches decompressed so far, which size {@link #scratch} for the next. */
    private final DecompressedSizes decompressedSizes;
    /**
     * Where a v2 batch is decompressed before its records are copied out in one piece: sized for the first batch
     * by what the consumer's last batch decompressed to, grown for a larger one; under decodeLock, and let go of
     * once the fetch is decoded.
     */
    private byte[] scratch;
    private int scratchLength;
    /**
     * Where the record stage's position will be once it has taken everything decoded so far: records before it
     * are not returned, and a batch ending before it is skipped.
     */
    private long position;
    private long held;
    private volatile boolean closed;
    /** Every batch is decoded (or a failure ended the data, or the fetch was let go): nothing left to do. */
    private volatile boolean finished;
    /** The application thread caught up with this fetch and decodes the rest of it itself. */
    private volatile boolean decodedByApplication;

    DecodedBatches(FetchedPartition fetched, IsolationLevel isolationLevel, boolean checkCrcs, LongConsumer heldBytes) {
        this.partition = fetched.partition();
        this.decompressedSizes = fetched.decompressedSizes();
        this.readCommitted = isolationLevel == IsolationLevel.READ_COMMITTED;
        this.checkCrcs = checkCrcs;
        this.heldBytes = heldBytes;
        this.batches = fetched.records().batches().iterator();
        ByteBuffer whole = fetched.records() instanceof MemoryRecords memory ? memory.buffer() : null;
        this.fetchBytes = whole != null && whole.hasArray() ? whole : null;
        this.nextBatchStart = fetchBytes == null ? 0 : fetchBytes.position();
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
     * Decodes the next batch ahead of the application thread, unless every batch is decoded already or the
     * application thread decodes the rest of this fetch itself; returns the bytes of fetched data it read (0 when
     * it decoded nothing), so the background thread can bound its slice. Any thread.
     */
    public int decodeNext() {
        if (!decodableAhead()) {
            return 0;
        }
        decodeLock.lock();
        try {
            return decodableAhead() ? decodeNextLocked() : 0;
        } finally {
            decodeLock.unlock();
            closeCodecIfLetGo();
        }
    }

    /** Whether batches are left to decode. Any thread. */
    public boolean hasUndecoded() {
        return !finished;
    }

    /** Whether batches are left for the background thread to decode ahead: not once the application caught up. Any thread. */
    public boolean decodableAhead() {
        return !finished && !decodedByApplication;
    }

    /**
     * The next decoded batch, decoding it now if no thread has yet; null once every batch was taken. Taking a
     * batch already decoded does not wait for the one being decoded behind it. Application thread.
     */
    DecodedBatch take() {
        DecodedBatch next = takeDecoded();
        if (next != null || finished) {
            return next == null ? takeDecoded() : next; // a last batch may have been queued as decoding finished
        }
        // Caught up: the background thread leaves the rest of this fetch to this thread from now on.
        decodedByApplication = true;
        decodeLock.lock();
        try {
            next = takeDecoded(); // decoded meanwhile by the background thread, which held the lock
            if (next == null && !finished) {
                decodeNextLocked();
                next = takeDecoded();
            }
            return next;
        } finally {
            decodeLock.unlock();
            closeCodecIfLetGo();
        }
    }

    /**
     * Stops decoding (the fetch was read, dropped or discarded) and returns the decompressed bytes it still
     * held, which the caller stops counting. A batch being decoded meanwhile is dropped when done, uncounted.
     * Any thread.
     */
    public long close() {
        long released;
        synchronized (queueLock) {
            closed = true;
            finished = true;
            decoded.clear();
            released = held;
            held = 0;
        }
        closeCodecIfLetGo();
        return released;
    }

    private DecodedBatch takeDecoded() {
        synchronized (queueLock) {
            DecodedBatch next = decoded.pollFirst();
            if (next != null && next.decodedBytes > 0) {
                held -= next.decodedBytes;
                heldBytes.accept(-next.decodedBytes);
            }
            return next;
        }
    }

    /** Queues a decoded batch for the application thread and counts what it holds; dropped if the fetch was let go. */
    private void queue(DecodedBatch batch) {
        synchronized (queueLock) {
            if (closed) {
                return;
            }
            decoded.addLast(batch);
            if (batch.decodedBytes > 0) {
                held += batch.decodedBytes;
                heldBytes.accept(batch.decodedBytes);
            }
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
        int batchStart = nextBatchStart;
        nextBatchStart += batch.sizeInBytes();
        try {
            // Legacy (v0/v1) records carry their own checksum, checked record by record.
            if (checkCrcs && batch.magic() >= RecordBatch.MAGIC_VALUE_V2) {
                batch.ensureValid();
            }
            if ((readCommitted && batch.hasProducerId() && isAborted(batch))
                    || batch.isControlBatch() || batch.lastOffset() < position) {
                position = Math.max(position, batch.nextOffset());
                queue(DecodedBatch.skipped(batch));
            } else if (batch.compressionType() == CompressionType.NONE) {
                queue(DecodedBatch.inPlace(batch));
                position = Math.max(position, batch.lastOffset() + 1);
            } else if (batch instanceof DefaultRecordBatch v2) {
                decompressInBulk(v2, batchStart);
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
    private void decompressInBulk(DefaultRecordBatch batch, int batchStart) {
        if (decompressInOneCall(batch, batchStart)) {
            queueDecompressed(batch);
            return;
        }
        RuntimeException codecFailure = null;
        scratchLength = 0;
        int compressedBytes = batch.sizeInBytes() - DefaultRecordBatch.RECORD_BATCH_OVERHEAD;
        try (InputStream stream = batch.recordInputStream(decompressionBuffers)) {
            readAll(stream, compressedBytes);
        } catch (IOException e) {
            codecFailure = new KafkaException("Failed to decompress record stream", e);
        } catch (RuntimeException e) {
            codecFailure = e;
        }
        if (codecFailure == null) {
            decompressedSizes.learn(compressedBytes, scratchLength);
            queueDecompressed(batch);
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

    /** Queues the batch whose records {@link #scratch} holds, in an array of their own size. */
    private void queueDecompressed(DefaultRecordBatch batch) {
        ByteBuffer records = ByteBuffer.wrap(Arrays.copyOf(scratch, scratchLength));
        queue(DecodedBatch.decompressed(batch, records));
        position = Math.max(position, batch.lastOffset() + 1);
    }

    /**
     * Decompresses a zstd or lz4 batch's records into {@link #scratch} in one call (zstd with this fetch's context,
     * lz4 block by block); returns false when that cannot be done (another codec, the fetch is not in a heap
     * array, a frame this path does not read, bad data), and the record stream reads the batch instead, which on
     * bad data returns the records before the failure and reports it as Kafka does.
     */
    private boolean decompressInOneCall(DefaultRecordBatch batch, int batchStart) {
        CompressionType type = batch.compressionType();
        if ((type != CompressionType.ZSTD && type != CompressionType.LZ4)
                || fetchBytes == null || fetchBytes.getLong(batchStart) != batch.baseOffset()) {
            return false; // for a fetch not where the batches were expected to lie, the stream knows where they are
        }
        byte[] source = fetchBytes.array();
        int offset = fetchBytes.arrayOffset() + batchStart + DefaultRecordBatch.RECORD_BATCH_OVERHEAD;
        int length = batch.sizeInBytes() - DefaultRecordBatch.RECORD_BATCH_OVERHEAD;
        ensureScratchFor(length);
        try {
            while (true) {
                int decompressed = type == CompressionType.ZSTD ? zstd().decompress(source, offset, length, scratch)
                        : Lz4BatchDecompressor.decompress(source, offset, length, scratch);
                if (decompressed >= 0) {
                    scratchLength = decompressed;
                    decompressedSizes.learn(length, decompressed);
                    return true;
                }
                if (decompressed != ZstdBatchDecompressor.TARGET_TOO_SMALL || scratch.length >= MAX_SCRATCH_BYTES) {
                    return false;
                }
                scratch = new byte[grown(scratch.length)];
            }
        } catch (RuntimeException badData) {
            return false;
        }
    }

    private ZstdBatchDecompressor zstd() {
        if (zstd == null) {
            zstd = new ZstdBatchDecompressor();
        }
        return zstd;
    }

    /**
     * Makes {@link #scratch} at least as large as the consumer's last batches suggest a batch of
     * {@code compressedBytes} needs; a scratch buffer this fetch has grown already is kept.
     */
    private void ensureScratchFor(int compressedBytes) {
        int wanted = decompressedSizes.bufferBytesFor(compressedBytes, MAX_SCRATCH_BYTES);
        if (scratch == null || scratch.length < wanted) {
            scratch = new byte[wanted];
        }
    }

    /** Twice {@code length}, at most {@link #MAX_SCRATCH_BYTES}. */
    private static int grown(int length) {
        return (int) Math.min(MAX_SCRATCH_BYTES, 2L * length);
    }

    /** Reads the whole stream into {@link #scratch}, growing it; {@link #scratchLength} counts what was read. */
    private void readAll(InputStream stream, int compressedBytes) throws IOException {
        ensureScratchFor(compressedBytes);
        int read;
        while ((read = stream.read(scratch, scratchLength, scratch.length - scratchLength)) >= 0) {
            scratchLength += read;
            if (scratchLength == scratch.length) {
                if (scratch.length >= MAX_SCRATCH_BYTES) {
                    throw new KafkaException("The batch's records decompress to more than " + MAX_SCRATCH_BYTES + " bytes");
                }
                scratch = Arrays.copyOf(scratch, grown(scratch.length));
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
            queue(DecodedBatch.records(batch, records, null));
        }
    }

    private void fail(RecordBatch batch, List<Record> recordsBefore, CorruptRecordException failure) {
        queue(DecodedBatch.records(batch, recordsBefore == null ? List.of() : recordsBefore, failure));
        finished();
    }

    /** Nothing is left to decode: the scratch buffer, sized for this fetch's batches, is let go. */
    private void finished() {
        finished = true;
        scratch = null;
        closeCodec();
    }

    /** Frees this fetch's zstd context; under decodeLock. */
    private void closeCodec() {
        if (zstd != null) {
            zstd.close();
            zstd = null;
        }
    }

    /**
     * A fetch let go while a thread decodes it keeps its zstd context until that thread is done with its batch:
     * whichever of the two gets {@code decodeLock} after the fetch was let go frees it.
     */
    private void closeCodecIfLetGo() {
        if (closed && decodeLock.tryLock()) {
            try {
                closeCodec();
            } finally {
                decodeLock.unlock();
            }
        }
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
