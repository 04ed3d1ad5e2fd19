package dev.lanes.benchmarks.jmh;

import dev.lanes.consumer.internals.adapter.FetchedPartition;
import dev.lanes.consumer.internals.adapter.PartitionRecordsDecoder;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.IsolationLevel;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.compress.Compression;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.record.MemoryRecords;
import org.apache.kafka.common.record.Record;
import org.apache.kafka.common.record.RecordBatch;
import org.apache.kafka.common.record.SimpleRecord;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.Blackhole;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * The application thread's share of the work: turning one fetched partition (batches of 100-byte records,
 * as a producer with a 256 KiB batch size writes them) into {@code ConsumerRecord}s. {@code decoder} is
 * Lanes' {@link PartitionRecordsDecoder} handing out {@code max.poll.records} at a time, as {@code poll()} does; {@code floor} is the
 * least any consumer does for the same records (check the batch CRC, walk the records, deserialize, build a
 * ConsumerRecord), with none of the offset, epoch and error bookkeeping. Their ratio is the decoder's overhead.
 *
 * <p>Run: {@code java -cp "consumer-benchmarks/target/consumer-benchmarks-0.1.0-SNAPSHOT.jar:consumer-benchmarks/target/lib/*"
 * org.openjdk.jmh.Main DecodeBenchmark}
 */
@Fork(value = 1, jvmArgsAppend = {"-Xms1g", "-Xmx1g"})
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@State(Scope.Thread)
public class DecodeBenchmark {

    private static final TopicPartition PARTITION = new TopicPartition("bench", 0);
    private static final int RECORD_BYTES = 100;
    private static final int BATCH_BYTES = 256 * 1024;

    @Param({"10000"})
    int recordsPerFetch;

    @Param({"500"})
    int maxPollRecords;

    private final ByteArrayDeserializer deserializer = new ByteArrayDeserializer();
    private MemoryRecords records;
    private FetchedPartition fetch;

    @Setup(Level.Trial)
    public void setUp() {
        int perBatch = BATCH_BYTES / (RECORD_BYTES + 8);
        ByteBuffer all = ByteBuffer.allocate(recordsPerFetch * (RECORD_BYTES + 16) + 1024);
        for (int first = 0; first < recordsPerFetch; first += perBatch) {
            SimpleRecord[] records = new SimpleRecord[Math.min(perBatch, recordsPerFetch - first)];
            for (int i = 0; i < records.length; i++) {
                records[i] = new SimpleRecord(System.currentTimeMillis(), null, new byte[RECORD_BYTES]);
            }
            all.put(MemoryRecords.withRecords(first, Compression.NONE, records).buffer());
        }
        all.flip();
        records = MemoryRecords.readableRecords(all);
        fetch = FetchBufferBenchmark.fetch(PARTITION, records, recordsPerFetch);
    }

    @Benchmark
    public long decoder(Blackhole blackhole) {
        PartitionRecordsDecoder decoder = new PartitionRecordsDecoder(fetch, IsolationLevel.READ_UNCOMMITTED, true);
        long count = 0;
        while (!decoder.isDrained()) {
            List<ConsumerRecord<byte[], byte[]>> polled = new ArrayList<>(maxPollRecords);
            count += decoder.takeInto(polled, maxPollRecords, deserializer, deserializer);
            blackhole.consume(polled);
        }
        return count;
    }

    @Benchmark
    public long floor(Blackhole blackhole) {
        long count = 0;
        for (RecordBatch batch : records.batches()) {
            batch.ensureValid();
            for (Record record : batch) {
                RecordHeaders headers = new RecordHeaders(record.headers());
                byte[] value = deserializer.deserialize(PARTITION.topic(), headers, record.value());
                blackhole.consume(new ConsumerRecord<>(PARTITION.topic(), PARTITION.partition(), record.offset(),
                        record.timestamp(), batch.timestampType(), ConsumerRecord.NULL_SIZE, record.valueSize(),
                        null, value, headers, Optional.empty(), Optional.empty()));
                count++;
            }
        }
        return count;
    }
}
