package dev.lanes.benchmarks.jmh;

import dev.lanes.consumer.internals.common.Clock;
import dev.lanes.consumer.internals.shared.Lane;
import dev.lanes.consumer.internals.shared.LaneName;
import dev.lanes.consumer.internals.events.ApplicationEvent;
import org.openjdk.jmh.annotations.AuxCounters;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Group;
import org.openjdk.jmh.annotations.GroupThreads;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.Blackhole;
import org.openjdk.jmh.infra.Control;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The lane between the application thread and the background thread ({@link Lane}): offer and drainTo
 * on one thread (no contention), one producer thread against the draining thread (contention), and the
 * round trip of one event through two lanes between two threads (hand-off latency).
 *
 * <p>Run: {@code java -cp "consumer-benchmarks/target/consumer-benchmarks-0.1.0-SNAPSHOT.jar:consumer-benchmarks/target/lib/*"
 * org.openjdk.jmh.Main LaneBenchmark}
 */
@Fork(value = 1, jvmArgsAppend = {"-Xms512m", "-Xmx512m"})
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
public class LaneBenchmark {

    static final int BATCH = 64;

    /** One lane used by one thread: offer a batch, drain it. */
    @State(Scope.Thread)
    public static class SingleThread {
        @Param({"1024"})
        int capacity;
        Lane lane;
        final ApplicationEvent<?>[] events = new ApplicationEvent<?>[BATCH];
        final List<ApplicationEvent<?>> sink = new ArrayList<>(BATCH);

        @Setup(Level.Trial)
        public void setUp() {
            lane = new Lane(LaneName.USER, capacity, Clock.SYSTEM);
            for (int i = 0; i < BATCH; i++) {
                events[i] = new BenchEvent();
            }
        }
    }

    /** Throughput and time per event of offer + drainTo without contention (batches of 64). */
    @Benchmark
    @BenchmarkMode({Mode.Throughput, Mode.AverageTime})
    @OutputTimeUnit(TimeUnit.MICROSECONDS)
    @OperationsPerInvocation(BATCH)
    public int offerThenDrainUncontended(SingleThread state) {
        Lane lane = state.lane;
        for (ApplicationEvent<?> event : state.events) {
            lane.offer(event);
        }
        state.sink.clear();
        return lane.drainTo(state.sink, BATCH);
    }

    /** The shared lane of the contended benchmarks. */
    @State(Scope.Group)
    public static class Shared {
        @Param({"1024"})
        int capacity;
        Lane lane;
        Lane back;
        final BenchEvent event = new BenchEvent();

        @Setup(Level.Iteration)
        public void setUp() {
            lane = new Lane(LaneName.USER, capacity, Clock.SYSTEM);
            back = new Lane(LaneName.SYSTEM, capacity, Clock.SYSTEM);
        }
    }

    /** Per-thread sink of the draining thread. */
    @State(Scope.Thread)
    public static class Sink {
        final List<ApplicationEvent<?>> events = new ArrayList<>(BATCH);
    }

    /** What the threads of the contended group did, reported next to the primary result. */
    @State(Scope.Thread)
    @AuxCounters(AuxCounters.Type.OPERATIONS)
    public static class Counters {
        public long offered;
        public long rejected;
        public long drained;
        public long emptyDrains;
    }

    /** Contended: the application thread offers (non-blocking, as commitAsync does) as fast as it can... */
    @Benchmark
    @Group("contended")
    @GroupThreads(1)
    @BenchmarkMode(Mode.Throughput)
    @OutputTimeUnit(TimeUnit.MICROSECONDS)
    public boolean contendedOffer(Shared shared, Counters counters) {
        boolean accepted = shared.lane.offer(shared.event);
        if (accepted) {
            counters.offered++;
        } else {
            counters.rejected++;
        }
        return accepted;
    }

    /** ...while the background thread drains it in batches of 64. */
    @Benchmark
    @Group("contended")
    @GroupThreads(1)
    @BenchmarkMode(Mode.Throughput)
    @OutputTimeUnit(TimeUnit.MICROSECONDS)
    public int contendedDrain(Shared shared, Sink sink, Counters counters) {
        sink.events.clear();
        int drained = shared.lane.drainTo(sink.events, BATCH);
        if (drained == 0) {
            counters.emptyDrains++;
        } else {
            counters.drained += drained;
        }
        return drained;
    }

    /**
     * Hand-off latency: the application thread offers one event and spins until the background thread
     * has drained it and handed it back through a second lane; the time per operation is one round trip
     * (two hand-offs).
     */
    @Benchmark
    @Group("roundTrip")
    @GroupThreads(1)
    @BenchmarkMode({Mode.AverageTime, Mode.SampleTime})
    @OutputTimeUnit(TimeUnit.NANOSECONDS)
    public void roundTripApplication(Shared shared, Sink sink, Control control) {
        if (!shared.lane.offer(shared.event)) {
            return;
        }
        while (!control.stopMeasurement) {
            sink.events.clear();
            if (shared.back.drainTo(sink.events, 1) == 1) {
                return;
            }
            Thread.onSpinWait();
        }
    }

    /** The background side of the round trip: drain, hand back. */
    @Benchmark
    @Group("roundTrip")
    @GroupThreads(1)
    @BenchmarkMode({Mode.AverageTime, Mode.SampleTime})
    @OutputTimeUnit(TimeUnit.NANOSECONDS)
    public void roundTripBackground(Shared shared, Sink sink, Control control, Blackhole blackhole) {
        while (!control.stopMeasurement) {
            sink.events.clear();
            if (shared.lane.drainTo(sink.events, 1) == 1) {
                ApplicationEvent<?> event = sink.events.get(0);
                blackhole.consume(event.enqueuedNanos());
                while (!shared.back.offer(event) && !control.stopMeasurement) {
                    Thread.onSpinWait();
                }
                return;
            }
            Thread.onSpinWait();
        }
    }
}
