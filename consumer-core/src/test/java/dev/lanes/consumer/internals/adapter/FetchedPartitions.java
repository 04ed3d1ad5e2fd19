package dev.lanes.consumer.internals.adapter;

import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.compress.Compression;
import org.apache.kafka.common.record.MemoryRecords;
import org.apache.kafka.common.record.SimpleRecord;

import java.util.List;

/** Fetch answers for engine tests, built without a broker. */
public final class FetchedPartitions {

    private FetchedPartitions() {
    }

    /** One partition's answer holding {@code count} records from {@code fetchOffset} on. */
    public static FetchedPartition records(TopicPartition partition, long fetchOffset, int count) {
        SimpleRecord[] records = new SimpleRecord[count];
        for (int i = 0; i < count; i++) {
            records[i] = new SimpleRecord(("v" + i).getBytes());
        }
        MemoryRecords memory = MemoryRecords.withRecords(fetchOffset, Compression.NONE, records);
        return new FetchedPartition(partition, fetchOffset, fetchOffset + count, fetchOffset + count, 0, memory, List.of());
    }

    /**
     * One partition's answer holding {@code batches} batches of {@code perBatch} JSON-like records each from
     * {@code fetchOffset} on, compressed with {@code compression}.
     */
    public static FetchedPartition compressed(TopicPartition partition, long fetchOffset, int batches, int perBatch,
                                              Compression compression) {
        java.nio.ByteBuffer buffer = java.nio.ByteBuffer.allocate(batches * perBatch * 200 + 1024);
        long offset = fetchOffset;
        for (int b = 0; b < batches; b++) {
            SimpleRecord[] records = new SimpleRecord[perBatch];
            for (int i = 0; i < perBatch; i++, offset++) {
                records[i] = new SimpleRecord(("{\"id\":" + offset + ",\"event\":\"order-created\",\"amount\":"
                        + (offset % 97) + "}").getBytes());
            }
            buffer.put(MemoryRecords.withRecords(offset - perBatch, compression, records).buffer());
        }
        buffer.flip();
        return new FetchedPartition(partition, fetchOffset, offset, offset, 0, MemoryRecords.readableRecords(buffer),
                List.of());
    }

    /** One partition's answer with no records: caught up, or told to fetch from another replica. */
    public static FetchedPartition empty(TopicPartition partition, long fetchOffset) {
        return new FetchedPartition(partition, fetchOffset, fetchOffset, fetchOffset, 0, MemoryRecords.EMPTY, List.of());
    }

    /** One partition's answer holding bytes that are not one complete batch (the start of a batch cut short). */
    public static FetchedPartition truncatedBatch(TopicPartition partition, long fetchOffset) {
        MemoryRecords whole = MemoryRecords.withRecords(fetchOffset, Compression.NONE, new SimpleRecord(new byte[100]));
        java.nio.ByteBuffer cut = whole.buffer().duplicate();
        cut.limit(cut.limit() / 2);
        return new FetchedPartition(partition, fetchOffset, fetchOffset + 1, fetchOffset + 1, 0,
                MemoryRecords.readableRecords(cut.slice()), List.of());
    }
}
