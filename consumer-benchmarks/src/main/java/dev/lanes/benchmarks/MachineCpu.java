package dev.lanes.benchmarks;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * The whole machine's CPU time from Linux's {@code /proc/stat}: what every process in this VM used, what
 * the hypervisor gave to other guests while this one had work to run (steal), and the time the CPUs sat idle
 * waiting for the disk (iowait). A round that reads slower than its neighbours lost CPU to steal, shared it
 * with processes that are neither the benchmark nor the broker, or read the disk instead of the page cache;
 * these numbers tell a reader which, where ProcessCpu alone cannot.
 */
final class MachineCpu {

    /** Kernel clock ticks per second in /proc/stat (USER_HZ): 100 on every architecture Linux ships for. */
    private static final double TICKS_PER_SECOND = 100.0;
    private static final Path PROC_STAT = Path.of("/proc/stat");

    /** Tick counters of the aggregate "cpu" line at one moment; all -1 where /proc/stat cannot be read. */
    record Snapshot(long busyTicks, long stealTicks, long iowaitTicks, long totalTicks) {

        boolean known() {
            return totalTicks >= 0;
        }
    }

    /** CPU of the machine between two snapshots: steal and iowait as shares of all its CPU time. */
    record Between(double stealPercent, double iowaitPercent, double busySeconds) {
    }

    private MachineCpu() {
    }

    static Snapshot snapshot() {
        try {
            List<String> lines = Files.readAllLines(PROC_STAT);
            return lines.isEmpty() ? unknown() : parse(lines.get(0));
        } catch (IOException | RuntimeException e) {
            return unknown();
        }
    }

    /**
     * Parses the aggregate line: "cpu user nice system idle iowait irq softirq steal guest guest_nice". Guest
     * time is already counted in user and nice, so it is left out; idle and iowait are the idle ticks.
     */
    static Snapshot parse(String line) {
        String[] fields = line.trim().split("\\s+");
        if (fields.length < 9 || !fields[0].equals("cpu")) {
            return unknown();
        }
        long user = Long.parseLong(fields[1]);
        long nice = Long.parseLong(fields[2]);
        long system = Long.parseLong(fields[3]);
        long idle = Long.parseLong(fields[4]);
        long iowait = Long.parseLong(fields[5]);
        long irq = Long.parseLong(fields[6]);
        long softirq = Long.parseLong(fields[7]);
        long steal = Long.parseLong(fields[8]);
        long busy = user + nice + system + irq + softirq;
        return new Snapshot(busy, steal, iowait, busy + idle + iowait + steal);
    }

    /** Steal and iowait as shares of all the machine's CPU time, and the CPU seconds all its processes used; null if unknown. */
    static Between between(Snapshot before, Snapshot after) {
        long total = after.totalTicks() - before.totalTicks();
        if (!before.known() || !after.known() || total <= 0) {
            return null;
        }
        return new Between(100.0 * (after.stealTicks() - before.stealTicks()) / total,
                100.0 * (after.iowaitTicks() - before.iowaitTicks()) / total,
                (after.busyTicks() - before.busyTicks()) / TICKS_PER_SECOND);
    }

    private static Snapshot unknown() {
        return new Snapshot(-1, -1, -1, -1);
    }
}
