package dev.lanes.benchmarks.jmh;

import dev.lanes.consumer.internals.adapter.FetchedPartition;
import dev.lanes.consumer.internals.shared.FetchBuffer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.compress.Compression;
import org.apache.kafka.common.message.FetchResponseData;
import org.apache.kafka.common.record.MemoryRecords;
import org.apache.kafka.common.record.Records;
import org.apache.kafka.common.record.SimpleRecord;
import org.openjdk.jmh.annotations.AuxCounters;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Group;
import org.openjdk.jmh.annotations.GroupThreads;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

import java.lang.reflect.Constructor;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The fetch buffer between the background thread (add) and the application thread (next + release):
 * one thread doing both (no contention), and a background thread adding while the application thread
 * takes and releases (contention, including the room-freed callback).
 *
 * <p>Run: {@code java -cp "consumer-benchmarks/target/consumer-benchmarks-0.1.0-SNAPSHOT.jar:consumer-benchmarks/target/lib/*"
 * org.openjdk.jmh.Main FetchBufferBenchmark}
 */
@Fork(value = 1, jvmArgsAppend = {"-Xms512m", "-Xmx512m"})
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
public class FetchBufferBenchmark {

    static final int PARTITIONS = 6;

    /** Fetches of 6 partitions, each holding one batch of 100-byte records. */
    static FetchedPartition[] fetches(int recordsPerFetch) {
        FetchedPartition[] fetches = new FetchedPartition[PARTITIONS];
        for (int p = 0; p < PARTITIONS; p++) {
            SimpleRecord[] records = new SimpleRecord[recordsPerFetch];
            for (int i = 0; i < recordsPerFetch; i++) {
                records[i] = new SimpleRecord(System.currentTimeMillis(), null, new byte[100]);
            }
            fetches[p] = fetch(new TopicPartition("bench", p), MemoryRecords.withRecords(Compression.NONE, records),
                    recordsPerFetch);
        }
        return fetches;
    }

    /**
     * A fetched partition holding {@code records} from offset 0. FetchedPartition's constructor is
     * package-private (only the adapter builds them), so it is called reflectively, in setup only.
     */
    static FetchedPartition fetch(TopicPartition partition, MemoryRecords records, long recordCount) {
        try {
            Constructor<FetchedPartition> constructor = FetchedPartition.class.getDeclaredConstructor(TopicPartition.class,
                    long.class, long.class, long.class, long.class, Records.class, List.class);
            constructor.setAccessible(true);
            return constructor.newInstance(partition, 0L, recordCount, recordCount, 0L, records,
                    List.<FetchResponseData.AbortedTransaction>of());
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException("FetchedPartition's constructor changed", e);
        }
    }

    @State(Scope.Thread)
    public static class SingleThread {
        @Param({"500"})
        int recordsPerFetch;
        FetchBuffer buffer;
        FetchedPartition[] fetches;
        int next;

        @Setup(Level.Trial)
        public void setUp() {
            fetches = fetches(recordsPerFetch);
            buffer = new FetchBuffer(64L * 1024 * 1024, () -> { });
        }
    }

    /** add + next + release of one fetch on one thread: the cost of the hand-off without contention. */
    @Benchmark
    @BenchmarkMode({Mode.Throughput, Mode.AverageTime})
    @OutputTimeUnit(TimeUnit.MICROSECONDS)
    public FetchedPartition addNextReleaseUncontended(SingleThread state) {
        FetchedPartition fetch = state.fetches[state.next++ % PARTITIONS];
        FetchBuffer buffer = state.buffer;
        buffer.add(fetch);
        FetchedPartition taken = buffer.next();
        buffer.release(taken);
        return taken;
    }

    @State(Scope.Group)
    public static class Shared {
        @Param({"500"})
        int recordsPerFetch;
        /** The bound, in fetches of this size: how far the background thread may run ahead. */
        @Param({"16"})
        int boundInFetches;
        FetchBuffer buffer;
        FetchedPartition[] fetches;
        final AtomicLong roomFreed = new AtomicLong();

        @Setup(Level.Iteration)
        public void setUp() {
            fetches = fetches(recordsPerFetch);
            buffer = new FetchBuffer((long) fetches[0].sizeInBytes() * boundInFetches, roomFreed::incrementAndGet);
        }
    }

    @State(Scope.Thread)
    public static class Cursor {
        int next;
    }

    @State(Scope.Thread)
    @AuxCounters(AuxCounters.Type.OPERATIONS)
    public static class Counters {
        public long added;
        public long full;
        public long taken;
        public long empty;
    }

    /** Background thread: adds a fetch whenever there is room (it would fetch less otherwise)... */
    @Benchmark
    @Group("contended")
    @GroupThreads(1)
    @BenchmarkMode(Mode.Throughput)
    @OutputTimeUnit(TimeUnit.MICROSECONDS)
    public void contendedAdd(Shared shared, Cursor cursor, Counters counters) {
        FetchedPartition fetch = shared.fetches[cursor.next % PARTITIONS];
        if (shared.buffer.room() >= fetch.sizeInBytes()) {
            shared.buffer.add(fetch);
            cursor.next++;
            counters.added++;
        } else {
            counters.full++;
            Thread.onSpinWait();
        }
    }

    /** ...while the application thread takes and releases fetches. */
    @Benchmark
    @Group("contended")
    @GroupThreads(1)
    @BenchmarkMode(Mode.Throughput)
    @OutputTimeUnit(TimeUnit.MICROSECONDS)
    public FetchedPartition contendedNextRelease(Shared shared, Counters counters) {
        FetchedPartition fetch = shared.buffer.next();
        if (fetch == null) {
            counters.empty++;
            Thread.onSpinWait();
            return null;
        }
        shared.buffer.release(fetch);
        counters.taken++;
        return fetch;
    }
}
