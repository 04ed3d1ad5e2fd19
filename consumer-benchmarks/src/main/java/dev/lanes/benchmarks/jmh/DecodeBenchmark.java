package dev.lanes.benchmarks.jmh;

import dev.lanes.benchmarks.JsonValues;
import dev.lanes.consumer.internals.adapter.DecodedBatches;
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
 * Turning one fetched partition into {@code ConsumerRecord}s: 100-byte random values uncompressed
 * ({@code raw100}), or JSON-like 256-byte values in lz4 or zstd batches ({@code json256-lz4},
 * {@code json256-zstd}), as a producer with a 256 KiB batch size writes them. {@code decoder} is Lanes'
 * {@link PartitionRecordsDecoder} handing out {@code max.poll.records} at a time with both stages on one
 * thread (what the application thread does when it gets to a batch before the background thread);
 * {@code batchStage} is the background thread's share ({@link DecodedBatches}: CRC, filtering, decompression);
 * {@code recordStage} is what is left for the application thread once the batches were decoded ahead;
 * {@code floor} is the least any consumer does for the same records on one thread (check the batch CRC, walk
 * the records, deserialize, build a ConsumerRecord), with none of the offset, epoch and error bookkeeping.
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

    @Param({"raw100", "json256-lz4", "json256-zstd"})
    String workload;

    @Param({"500"})
    int maxPollRecords;

    private final ByteArrayDeserializer deserializer = new ByteArrayDeserializer();
    private MemoryRecords records;
    private FetchedPartition fetch;
    /** For {@code recordStage}: a fresh fetch whose batches were decoded ahead, as the background thread does. */
    private FetchedPartition decodedAhead;

    @Setup(Level.Trial)
    public void setUp() {
        boolean json = workload.startsWith("json");
        int valueBytes = json ? 256 : RECORD_BYTES;
        Compression compression = workload.endsWith("lz4") ? Compression.lz4().build()
                : workload.endsWith("zstd") ? Compression.zstd().build() : Compression.NONE;
        int perBatch = BATCH_BYTES / (valueBytes + 8);
        ByteBuffer all = ByteBuffer.allocate(recordsPerFetch * (valueBytes + 16) + 1024);
        for (int first = 0; first < recordsPerFetch; first += perBatch) {
            SimpleRecord[] records = new SimpleRecord[Math.min(perBatch, recordsPerFetch - first)];
            for (int i = 0; i < records.length; i++) {
                byte[] value = json ? JsonValues.value(17, valueBytes, first + i) : new byte[valueBytes];
                records[i] = new SimpleRecord(System.currentTimeMillis(), null, value);
            }
            all.put(MemoryRecords.withRecords(first, compression, records).buffer());
        }
        all.flip();
        records = MemoryRecords.readableRecords(all);
        fetch = FetchBufferBenchmark.fetch(PARTITION, records, recordsPerFetch);
    }

    @Setup(Level.Invocation)
    public void decodeAhead() {
        decodedAhead = FetchBufferBenchmark.fetch(PARTITION, records, recordsPerFetch);
        DecodedBatches batches = decodedAhead.decoding(IsolationLevel.READ_UNCOMMITTED, true);
        while (batches.hasUndecoded()) {
            batches.decodeNext();
        }
    }

    @Benchmark
    public long decoder(Blackhole blackhole) {
        return drain(new PartitionRecordsDecoder(
                FetchBufferBenchmark.fetch(PARTITION, records, recordsPerFetch), IsolationLevel.READ_UNCOMMITTED, true),
                blackhole);
    }

    @Benchmark
    public long batchStage() {
        DecodedBatches batches = FetchBufferBenchmark.fetch(PARTITION, records, recordsPerFetch)
                .decoding(IsolationLevel.READ_UNCOMMITTED, true);
        long input = 0;
        while (batches.hasUndecoded()) {
            input += batches.decodeNext();
        }
        return input;
    }

    @Benchmark
    public long recordStage(Blackhole blackhole) {
        return drain(new PartitionRecordsDecoder(decodedAhead, IsolationLevel.READ_UNCOMMITTED, true), blackhole);
    }

    private long drain(PartitionRecordsDecoder decoder, Blackhole blackhole) {
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
