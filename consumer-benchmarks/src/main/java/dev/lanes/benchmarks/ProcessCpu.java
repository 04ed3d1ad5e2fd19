package dev.lanes.benchmarks;

import java.lang.management.ManagementFactory;
import java.lang.management.OperatingSystemMXBean;
import java.time.Duration;

/**
 * CPU time of whole processes: this JVM (the consumer's threads plus its garbage collector and JIT compiler,
 * which per-thread times leave out) and the broker's. Only one consumer runs at a time, so between two
 * snapshots of a throughput round the two together are what the machine spent on reading the records.
 */
final class ProcessCpu {

    /** CPU nanoseconds of this JVM and of the broker process, at one moment. */
    record Snapshot(long jvmNanos, long brokerNanos) {
    }

    private final ProcessHandle broker;

    ProcessCpu(long brokerPid) {
        this.broker = ProcessHandle.of(brokerPid)
                .orElseThrow(() -> new IllegalStateException("no broker process with pid " + brokerPid));
    }

    Snapshot snapshot() {
        return new Snapshot(jvmNanos(), broker.info().totalCpuDuration().map(Duration::toNanos).orElse(-1L));
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
