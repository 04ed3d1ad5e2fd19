package dev.lanes.consumer.internals.adapter;

import org.apache.kafka.common.InvalidRecordException;
import org.apache.kafka.common.record.DefaultRecord;
import org.apache.kafka.common.record.DefaultRecordBatch;
import org.apache.kafka.common.record.Record;
import org.apache.kafka.common.record.TimestampType;
import org.apache.kafka.common.utils.CloseableIterator;

import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.util.NoSuchElementException;

/**
 * The records of a compressed v2 batch, decompressed into one buffer by the batch stage and read in place, the
 * way an uncompressed batch's records are: each record is a view of that buffer, with no copy of its own.
 *
 * <p>The batch's declared record count is checked as KafkaConsumer checks it: running out of bytes before the
 * last declared record, or bytes left after it, is an {@link InvalidRecordException} from {@link #next()}.
 * Not thread-safe; one iterator per reading thread.
 */
final class DecompressedRecords implements CloseableIterator<Record> {

    private final ByteBuffer records;
    private final long baseOffset;
    private final long baseTimestamp;
    private final int baseSequence;
    private final Long logAppendTime;
    private final int count;
    private int read;

    /**
     * @param batch the compressed batch, for its header fields
     * @param decompressed its records, decompressed; read from a view, so the buffer can be read again
     */
    DecompressedRecords(DefaultRecordBatch batch, ByteBuffer decompressed) {
        int declared = batch.countOrNull() == null ? 0 : batch.countOrNull();
        if (declared < 0) {
            throw new InvalidRecordException("Found invalid record count " + declared + " in magic v"
                    + batch.magic() + " batch");
        }
        this.records = decompressed.duplicate();
        this.baseOffset = batch.baseOffset();
        this.baseTimestamp = batch.baseTimestamp();
        this.baseSequence = batch.baseSequence();
        this.logAppendTime = batch.timestampType() == TimestampType.LOG_APPEND_TIME ? batch.maxTimestamp() : null;
        this.count = declared;
    }

    @Override
    public boolean hasNext() {
        return read < count;
    }

    @Override
    public Record next() {
        if (read >= count) {
            throw new NoSuchElementException();
        }
        read++;
        Record record;
        try {
            record = DefaultRecord.readFrom(records, baseOffset, baseTimestamp, baseSequence, logAppendTime);
        } catch (BufferUnderflowException | IllegalArgumentException e) {
            throw new InvalidRecordException("Incorrect declared batch size, premature end of the batch's records", e);
        }
        if (read == count && records.hasRemaining()) {
            throw new InvalidRecordException("Incorrect declared batch size, " + records.remaining()
                    + " bytes of records remain after the last declared record");
        }
        return record;
    }

    @Override
    public void close() {
        // A view of a heap buffer: nothing to release.
    }
}
