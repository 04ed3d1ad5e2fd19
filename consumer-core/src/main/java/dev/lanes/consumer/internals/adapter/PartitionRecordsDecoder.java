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
import org.apache.kafka.common.record.DefaultRecordBatch;
import org.apache.kafka.common.record.Record;
import org.apache.kafka.common.record.RecordBatch;
import org.apache.kafka.common.record.TimestampType;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.utils.BufferSupplier;
import org.apache.kafka.common.utils.CloseableIterator;

import java.nio.ByteBuffer;
import java.util.Iterator;
import java.util.List;
import java.util.Optional;

/**
 * Turns one {@link FetchedPartition} into {@link ConsumerRecord}s on demand, with KafkaConsumer's semantics:
 * records before the fetch offset, control batches and (with {@code read_committed}) aborted transactions are
 * skipped, and the position to resume from is {@link #nextOffset()}.
 *
 * <p>This is the record stage: it takes the fetch's batches from its {@link DecodedBatches} (CRC-checked,
 * filtered and decompressed, mostly by the background thread ahead of it, or here when this thread gets there
 * first), deserializes their records and advances the position. A seek discards the rest cheaply.
 *
 * <p>Used only by the application thread, where deserializers run (R3); not thread-safe. After a failure the
 * decoder stays where it failed, so the same failure repeats until the application seeks past it, which
 * discards this decoder.
 */
public final class PartitionRecordsDecoder {

    private final FetchedPartition fetched;
    private final TopicPartition partition;
    private final boolean checkCrcs;
    private final DecodedBatches batches;

    private RecordBatch currentBatch;
    private Optional<Integer> currentBatchEpoch = Optional.empty();
    private TimestampType currentTimestampType;
    /** Records of the current batch read one by one by the batch stage (legacy compressed batches). */
    private Iterator<Record> decompressedRecords;
    /** Records of the current batch read in place: an uncompressed batch, or a v2 batch's decompressed buffer. */
    private CloseableIterator<Record> batchRecords;
    /** Read from the batch but not yet returned: found by look-ahead, or its deserialization failed. */
    private Record pending;
    /** Thrown once the current batch's records are out: the batch stage stopped there. */
    private CorruptRecordException failureAfterBatch;
    private CorruptRecordException corruption;
    private long nextOffset;
    private Optional<Integer> lastEpoch = Optional.empty();
    private boolean drained;

    public PartitionRecordsDecoder(FetchedPartition fetched, IsolationLevel isolationLevel, boolean checkCrcs) {
        this.fetched = fetched;
        this.partition = fetched.partition();
        this.checkCrcs = checkCrcs;
        this.batches = fetched.decoding(isolationLevel, checkCrcs);
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

    /** Bytes of the fetch that this decoder reads. */
    public int sizeInBytes() {
        return fetched.sizeInBytes();
    }

    /** The next record the application may see, or null (and drained) when none is left. */
    private Record nextReturnableRecord() {
        while (!drained) {
            if (decompressedRecords == null && batchRecords == null) {
                openNext();
                continue;
            }
            Record record = nextRecordOfBatch();
            if (record == null) {
                closeBatchRecords();
                if (failureAfterBatch != null) {
                    throw failureAfterBatch;
                }
            } else if (record.offset() >= nextOffset) {
                return record;
            }
        }
        return null;
    }

    /** Moves to the next decoded batch: skips it, opens its records, or finishes when none is left. */
    private void openNext() {
        DecodedBatches.DecodedBatch next = batches.take();
        if (next == null) {
            finish();
            return;
        }
        if (next.batch != null) {
            currentBatch = next.batch;
            currentBatchEpoch = DecodedBatches.epochOf(next.batch);
        }
        if (next.skipped) {
            skip(next.batch);
        } else if (next.records != null) {
            currentTimestampType = next.batch == null ? null : next.batch.timestampType();
            decompressedRecords = next.records.iterator();
            failureAfterBatch = next.failure;
        } else if (next.decompressed != null) {
            currentTimestampType = next.batch.timestampType();
            try {
                batchRecords = new DecompressedRecords((DefaultRecordBatch) next.batch, next.decompressed);
            } catch (KafkaException e) {
                throw DecodedBatches.corrupt(partition, "Record batch", next.batch.baseOffset(), e);
            }
        } else {
            currentTimestampType = next.batch.timestampType();
            batchRecords = next.batch.streamingIterator(BufferSupplier.NO_CACHING);
        }
    }

    private Record nextRecordOfBatch() {
        if (decompressedRecords != null) {
            return decompressedRecords.hasNext() ? decompressedRecords.next() : null;
        }
        return DecodedBatches.nextReturnable(partition, batchRecords, currentBatch, nextOffset, checkCrcs);
    }

    /** Moves past a batch none of whose records is returned. */
    private void skip(RecordBatch batch) {
        long afterBatch = batch.nextOffset();
        if (afterBatch > nextOffset) {
            nextOffset = afterBatch;
            lastEpoch = DecodedBatches.epochOf(batch);
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
        decompressedRecords = null;
        if (batchRecords != null) {
            batchRecords.close();
            batchRecords = null;
        }
    }

    private <K, V> ConsumerRecord<K, V> toConsumerRecord(Record record,
                                                         Deserializer<K> keyDeserializer,
                                                         Deserializer<V> valueDeserializer) {
        TimestampType timestampType = currentTimestampType;
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
}
