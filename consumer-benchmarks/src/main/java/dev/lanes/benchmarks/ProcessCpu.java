package dev.lanes.benchmarks;

import java.lang.management.ManagementFactory;
import java.lang.management.OperatingSystemMXBean;
import java.time.Duration;
import java.util.List;

/**
 * CPU time of whole processes: this JVM (the consumer's threads plus its garbage collector and JIT compiler,
 * which per-thread times leave out) and the brokers' (summed over the cluster's nodes). Only one consumer runs
 * at a time, so between two snapshots of a throughput round the two together are what the machine spent on
 * reading the records.
 */
final class ProcessCpu {

    /** CPU nanoseconds of this JVM and of the broker processes together, at one moment. */
    record Snapshot(long jvmNanos, long brokerNanos) {
    }

    private final List<ProcessHandle> brokers;

    ProcessCpu(List<Long> brokerPids) {
        this.brokers = brokerPids.stream().map(pid -> ProcessHandle.of(pid)
                .orElseThrow(() -> new IllegalStateException("no broker process with pid " + pid))).toList();
    }

    Snapshot snapshot() {
        return new Snapshot(jvmNanos(), brokerNanos());
    }

    /** The brokers' CPU together, or -1 when the platform does not report it for one of them. */
    private long brokerNanos() {
        long total = 0;
        for (ProcessHandle broker : brokers) {
            long nanos = broker.info().totalCpuDuration().map(Duration::toNanos).orElse(-1L);
            if (!known(nanos)) {
                return -1;
            }
            total += nanos;
        }
        return total;
    }

    /** Whether the platform reports the broker's CPU time (Linux does, from /proc). */
    static boolean known(long nanos) {
        return nanos >= 0;
    }

    private static long jvmNanos() {
        OperatingSystemMXBean os = ManagementFactory.getOperatingSystemMXBean();
        if (os instanceof com.sun.management.OperatingSystemMXBean sun) {
            return sun.getProcessCpuTime();
        }
        return -1;
    }
}
