package dev.lanes.spring;

import org.apache.kafka.clients.consumer.ConsumerRecord;

import java.util.List;

/**
 * Thrown by a batch listener to say which record of the batch failed. The records before it count as
 * processed; the failed record and those after it are delivered again (with back-off) and, once the retries
 * are used up, only the failed record is skipped or dead-lettered before the rest of the batch carries on.
 * Any other exception from a batch listener fails the whole batch.
 */
public class BatchListenerFailedException extends RuntimeException {

    private final int index;
    private final transient ConsumerRecord<?, ?> record;

    /** The record at {@code index} of the list (or {@code ConsumerRecords} iteration order) the listener got. */
    public BatchListenerFailedException(String message, Throwable cause, int index) {
        super(message, cause);
        if (index < 0) {
            throw new IllegalArgumentException("index must not be negative, was " + index);
        }
        this.index = index;
        this.record = null;
    }

    /** The record itself (matched by topic, partition and offset). */
    public BatchListenerFailedException(String message, Throwable cause, ConsumerRecord<?, ?> record) {
        super(message, cause);
        this.index = -1;
        this.record = record;
    }

    /** The index given, or -1 when the record was given. */
    public int getIndex() {
        return index;
    }

    /** The record given, or null when the index was given. */
    public ConsumerRecord<?, ?> getRecord() {
        return record;
    }

    /** Where the failed record is in {@code batch}, or -1 when it is not in it. */
    public int indexIn(List<? extends ConsumerRecord<?, ?>> batch) {
        if (record == null) {
            return index < batch.size() ? index : -1;
        }
        for (int i = 0; i < batch.size(); i++) {
            ConsumerRecord<?, ?> candidate = batch.get(i);
            if (candidate.topic().equals(record.topic()) && candidate.partition() == record.partition()
                    && candidate.offset() == record.offset()) {
                return i;
            }
        }
        return -1;
    }
}
