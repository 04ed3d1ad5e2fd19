package dev.lanes.benchmarks;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.HashMap;
import java.util.Map;

/**
 * CPU time of one consumer's threads: the thread that polls plus every live thread whose name holds the
 * consumer's client id or group id (Lanes' "lanes-consumer-network-thread | client", the classic
 * "kafka-coordinator-heartbeat-thread | group") or is the async consumer's "consumer_background_thread".
 * Only one consumer runs at a time, so the generic names are unambiguous.
 */
public final class ThreadCpu {

    private static final ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();

    static {
        if (THREADS.isThreadCpuTimeSupported() && !THREADS.isThreadCpuTimeEnabled()) {
            THREADS.setThreadCpuTimeEnabled(true);
        }
    }

    private final long pollingThreadId;
    private final String[] markers;

    public ThreadCpu(Thread pollingThread, String... markers) {
        this.pollingThreadId = pollingThread.getId();
        this.markers = markers;
    }

    /** The id of the polling (application) thread, a key of every {@link #snapshot()}. */
    public long pollingThreadId() {
        return pollingThreadId;
    }

    /** CPU nanoseconds so far of each matching thread, by thread id. */
    public Map<Long, Long> snapshot() {
        Map<Long, Long> cpu = new HashMap<>();
        cpu.put(pollingThreadId, Math.max(0, THREADS.getThreadCpuTime(pollingThreadId)));
        for (Thread thread : Thread.getAllStackTraces().keySet()) {
            if (matches(thread.getName())) {
                long nanos = THREADS.getThreadCpuTime(thread.getId());
                if (nanos >= 0) {
                    cpu.put(thread.getId(), nanos);
                }
            }
        }
        return cpu;
    }

    /** CPU nanoseconds spent between two snapshots (threads born in between count from zero). */
    public static long between(Map<Long, Long> before, Map<Long, Long> after) {
        long total = 0;
        for (Map.Entry<Long, Long> entry : after.entrySet()) {
            total += entry.getValue() - before.getOrDefault(entry.getKey(), 0L);
        }
        return total;
    }

    private boolean matches(String name) {
        if (name.startsWith("consumer_background_thread")) {
            return true;
        }
        for (String marker : markers) {
            if (marker != null && name.contains(marker)) {
                return true;
            }
        }
        return false;
    }
}
