package dev.lanes.consumer.internals.adapter;

import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.IsolationLevel;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.CorruptRecordException;
import org.apache.kafka.common.errors.RecordDeserializationException;
import org.apache.kafka.common.errors.RecordDeserializationException.DeserializationExceptionOrigin;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.message.FetchResponseData;
import org.apache.kafka.common.record.ControlRecordType;
import org.apache.kafka.common.record.Record;
import org.apache.kafka.common.record.RecordBatch;
import org.apache.kafka.common.record.TimestampType;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.utils.BufferSupplier;
import org.apache.kafka.common.utils.CloseableIterator;

import java.nio.ByteBuffer;
import java.util.Comparator;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Optional;
import java.util.PriorityQueue;
import java.util.Set;

/**
 * Turns one {@link FetchedPartition} into {@link ConsumerRecord}s on demand, with KafkaConsumer's semantics:
 * records before the fetch offset, control batches and (with {@code read_committed}) aborted transactions are
 * skipped, and the position to resume from is {@link #nextOffset()}.
 *
 * <p>Batches are decoded lazily, one at a time, as {@link #takeInto} asks for records, so a fetch costs nothing
 * until the application consumes it and a seek can discard the rest cheaply.
 *
 * <p>Used only by the application thread (decoding and deserializing is application work, R3); not
 * thread-safe. After a failure the decoder stays where it failed, so the same failure repeats until the
 * application seeks past it, which discards this decoder.
 */
public final class PartitionRecordsDecoder {

    private final FetchedPartition fetched;
    private final TopicPartition partition;
    private final boolean readCommitted;
    private final boolean checkCrcs;
    private final Iterator<? extends RecordBatch> batches;
    /** Aborted transactions of this fetch not yet reached, by first offset; null when there are none. */
    private final PriorityQueue<FetchResponseData.AbortedTransaction> abortedTransactions;
    /** Producers whose current transaction is aborted; their abort marker removes them. */
    private final Set<Long> abortedProducerIds = new HashSet<>();
    // Per fetch rather than shared: lets the batches of this fetch reuse one decompression buffer
    // without coordinating with other decoders.
    private final BufferSupplier decompressionBuffers = BufferSupplier.create();

    private RecordBatch currentBatch;
    private Optional<Integer> currentBatchEpoch = Optional.empty();
    private CloseableIterator<Record> batchRecords;
    /** Read from the batch but not yet returned: found by look-ahead, or its deserialization failed. */
    private Record pending;
    private CorruptRecordException corruption;
    private long nextOffset;
    private Optional<Integer> lastEpoch = Optional.empty();
    private boolean drained;

    public PartitionRecordsDecoder(FetchedPartition fetched, IsolationLevel isolationLevel, boolean checkCrcs) {
        this.fetched = fetched;
        this.partition = fetched.partition();
        this.readCommitted = isolationLevel == IsolationLevel.READ_COMMITTED;
        this.checkCrcs = checkCrcs;
        this.batches = fetched.records().batches().iterator();
        this.abortedTransactions = readCommitted ? abortedTransactionsByFirstOffset(fetched.abortedTransactions()) : null;
        this.nextOffset = fetched.fetchOffset();
    }

    /**
     * Decodes up to {@code maxRecords} records at or after {@link #nextOffset()} and appends them to
     * {@code into} (so that {@code poll()} builds each partition's list once); returns how many, fewer when
     * the data runs out. Called from the application thread.
     *
     * <p>A failure after some records were decoded returns those records and is thrown by the next call, so
     * no record is lost. A deserialization failure is retried by the next call (as KafkaConsumer does).
     *
     * @throws CorruptRecordException naming the partition and offset, when a batch or record is invalid
     * @throws RecordDeserializationException when a deserializer fails; {@link #nextOffset()} is then that
     *         record's offset
     */
    public <K, V> int takeInto(List<ConsumerRecord<K, V>> into, int maxRecords,
                               Deserializer<K> keyDeserializer,
                               Deserializer<V> valueDeserializer) {
        if (maxRecords < 0) {
            throw new IllegalArgumentException("maxRecords must not be negative: " + maxRecords);
        }
        if (corruption != null) {
            throw corruption;
        }
        int taken = 0;
        try {
            while (taken < maxRecords) {
                if (pending == null) {
                    pending = nextReturnableRecord();
                    if (pending == null) {
                        break;
                    }
                }
                into.add(toConsumerRecord(pending, keyDeserializer, valueDeserializer));
                taken++;
                nextOffset = pending.offset() + 1;
                lastEpoch = currentBatchEpoch;
                pending = null;
            }
            if (maxRecords > 0 && pending == null) {
                // Look one record ahead so that isDrained() and nextOffset() are exact as soon as the last
                // record is out, not one call later; that record would be read by the next call anyway.
                pending = nextReturnableRecord();
            }
        } catch (CorruptRecordException e) {
            corruption = e;
            if (taken == 0) {
                throw e;
            }
        } catch (RecordDeserializationException e) {
            if (taken == 0) {
                throw e;
            }
        }
        return taken;
    }

    /**
     * The offset of the next record the application would consume from this fetch: the fetch offset at
     * first, then one past the last record returned or the last batch skipped, and once drained one past
     * the last batch, so that trailing control batches and aborted data are not fetched again.
     * Called from the application thread.
     */
    public long nextOffset() {
        return nextOffset;
    }

    /**
     * The leader epoch of the data just before {@link #nextOffset()}: the batch of the last record returned,
     * or of the last batch skipped, if known. It goes with {@code nextOffset()} when the position is
     * validated against the leader's log. Called from the application thread.
     */
    public Optional<Integer> lastEpoch() {
        return lastEpoch;
    }

    /** Whether every record has been handed out or skipped. Called from the application thread. */
    public boolean isDrained() {
        return drained;
    }

    public TopicPartition partition() {
        return partition;
    }

    /** Bytes of the undecoded fetch that this decoder holds. */
    public int sizeInBytes() {
        return fetched.sizeInBytes();
    }

    /** The next record the application may see, or null (and drained) when none is left. */
    private Record nextReturnableRecord() {
        while (!drained) {
            if (batchRecords == null) {
                RecordBatch batch = nextBatch();
                if (batch == null) {
                    finish();
                } else {
                    openBatch(batch);
                }
                continue;
            }
            Record record = nextRecordOfBatch();
            if (record == null) {
                closeBatchRecords();
            } else if (record.offset() >= nextOffset) { // the fetch may start in the middle of a batch
                ensureValid(record);
                return record;
            }
        }
        return null;
    }

    private RecordBatch nextBatch() {
        try {
            return batches.hasNext() ? batches.next() : null;
        } catch (KafkaException e) {
            throw corrupt("Record batch", nextOffset, e);
        }
    }

    /** Makes {@code batch} current, and opens its records unless the whole batch is skipped. */
    private void openBatch(RecordBatch batch) {
        currentBatch = batch;
        currentBatchEpoch = epochOf(batch);
        try {
            // Legacy (v0/v1) records carry their own checksum, checked record by record.
            if (checkCrcs && batch.magic() >= RecordBatch.MAGIC_VALUE_V2) {
                batch.ensureValid();
            }
            if (readCommitted && batch.hasProducerId() && isAborted(batch)) {
                skip(batch);
            } else if (batch.isControlBatch() || batch.lastOffset() < nextOffset) {
                skip(batch);
            } else {
                batchRecords = batch.streamingIterator(decompressionBuffers);
            }
        } catch (KafkaException e) {
            throw corrupt("Record batch", firstOffsetOf(batch), e);
        }
    }

    private Record nextRecordOfBatch() {
        try {
            return batchRecords.hasNext() ? batchRecords.next() : null;
        } catch (KafkaException e) {
            throw corrupt("Record batch", firstOffsetOf(currentBatch), e);
        }
    }

    private void ensureValid(Record record) {
        if (checkCrcs) {
            try {
                record.ensureValid();
            } catch (KafkaException e) {
                throw corrupt("Record", record.offset(), e);
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

    /** Moves past a batch none of whose records is returned. */
    private void skip(RecordBatch batch) {
        long afterBatch = batch.nextOffset();
        if (afterBatch > nextOffset) {
            nextOffset = afterBatch;
            lastEpoch = epochOf(batch);
        }
    }

    private void finish() {
        drained = true;
        // v2 keeps a batch's last offset even when compaction removed its last records: resuming after the
        // batch avoids fetching it again, possibly forever.
        if (currentBatch != null) {
            skip(currentBatch);
        }
    }

    private void closeBatchRecords() {
        if (batchRecords != null) {
            batchRecords.close();
            batchRecords = null;
        }
    }

    private <K, V> ConsumerRecord<K, V> toConsumerRecord(Record record,
                                                         Deserializer<K> keyDeserializer,
                                                         Deserializer<V> valueDeserializer) {
        TimestampType timestampType = currentBatch.timestampType();
        Headers headers = new RecordHeaders(record.headers());
        // key() and value() return fresh views, so a deserializer that moves their position cannot affect
        // a retry or the buffers carried by a RecordDeserializationException.
        ByteBuffer keyBytes = record.key();
        ByteBuffer valueBytes = record.value();
        K key;
        try {
            key = keyBytes == null ? null : keyDeserializer.deserialize(partition.topic(), headers, keyBytes);
        } catch (RuntimeException e) {
            throw deserializationFailure(DeserializationExceptionOrigin.KEY, record, timestampType, headers, e);
        }
        V value;
        try {
            value = valueBytes == null ? null : valueDeserializer.deserialize(partition.topic(), headers, valueBytes);
        } catch (RuntimeException e) {
            throw deserializationFailure(DeserializationExceptionOrigin.VALUE, record, timestampType, headers, e);
        }
        return new ConsumerRecord<>(partition.topic(), partition.partition(), record.offset(),
                record.timestamp(), timestampType,
                record.hasKey() ? record.keySize() : ConsumerRecord.NULL_SIZE,
                record.hasValue() ? record.valueSize() : ConsumerRecord.NULL_SIZE,
                key, value, headers, currentBatchEpoch, Optional.empty());
    }

    private RecordDeserializationException deserializationFailure(DeserializationExceptionOrigin origin,
                                                                  Record record,
                                                                  TimestampType timestampType,
                                                                  Headers headers,
                                                                  RuntimeException cause) {
        return new RecordDeserializationException(origin, partition, record.offset(), record.timestamp(),
                timestampType, record.key(), record.value(), headers,
                "Error deserializing " + origin.name() + " for partition " + partition + " at offset "
                        + record.offset() + ". If needed, seek past the record to continue consumption.",
                cause);
    }

    private CorruptRecordException corrupt(String what, long offset, KafkaException cause) {
        return new CorruptRecordException(what + " for partition " + partition + " at offset " + offset
                + " is invalid: " + cause.getMessage() + ". If needed, seek past it to continue consumption.",
                cause);
    }

    /** A legacy compressed batch knows its first offset only after decompression; its last one is at hand. */
    private static long firstOffsetOf(RecordBatch batch) {
        return batch.magic() >= RecordBatch.MAGIC_VALUE_V2 ? batch.baseOffset() : batch.lastOffset();
    }

    private static Optional<Integer> epochOf(RecordBatch batch) {
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
