package dev.lanes.benchmarks;

import java.lang.management.CompilationMXBean;
import java.lang.management.ManagementFactory;
import java.util.Map;

/**
 * The machine around one measurement: wall time, the CPU of this JVM and of the broker, the machine's steal,
 * iowait and other processes (MachineCpu), and the time the JIT compiler spent compiling. Every measured round
 * of the benchmark (a consumer's throughput round, a buffer-sweep step) takes the same figures, so that a
 * slow round can be told apart from a slow consumer the same way everywhere.
 *
 * <p>The snapshots are taken outermost first and in reverse order at the end, so that the wall time is the
 * innermost interval and none of the snapshots' own cost is counted in it.
 */
final class MeasuredSpan {

    private final ProcessCpu processCpu;
    private final long compilingMillisBefore;
    private final ProcessCpu.Snapshot processesBefore;
    private final MachineCpu.Snapshot machineBefore;
    private final long startNanos;

    private MeasuredSpan(ProcessCpu processCpu) {
        this.processCpu = processCpu;
        this.compilingMillisBefore = compilingMillis();
        this.processesBefore = processCpu.snapshot();
        this.machineBefore = MachineCpu.snapshot();
        this.startNanos = System.nanoTime();
    }

    static MeasuredSpan start(ProcessCpu processCpu) {
        return new MeasuredSpan(processCpu);
    }

    Figures stop() {
        long elapsedNanos = System.nanoTime() - startNanos;
        MachineCpu.Snapshot machineAfter = MachineCpu.snapshot();
        ProcessCpu.Snapshot processesAfter = processCpu.snapshot();
        long compilingMillisAfter = compilingMillis();
        double seconds = elapsedNanos / 1e9;
        double jitCores = compilingMillisBefore >= 0 && compilingMillisAfter >= 0
                ? (compilingMillisAfter - compilingMillisBefore) / 1e3 / seconds : Double.NaN;
        boolean processesKnown = ProcessCpu.known(processesBefore.jvmNanos()) && ProcessCpu.known(processesBefore.brokerNanos())
                && ProcessCpu.known(processesAfter.jvmNanos()) && ProcessCpu.known(processesAfter.brokerNanos());
        return new Figures(elapsedNanos,
                processesKnown ? processesAfter.jvmNanos() - processesBefore.jvmNanos() : -1,
                processesKnown ? processesAfter.brokerNanos() - processesBefore.brokerNanos() : -1,
                MachineCpu.between(machineBefore, machineAfter), jitCores);
    }

    /**
     * What a span measured. {@code jvmNanos} and {@code brokerNanos} are -1 where the platform does not report
     * process CPU, {@code machine} null where /proc/stat cannot be read, {@code jitCores} NaN where the JVM
     * does not time its compiler.
     */
    record Figures(long elapsedNanos, long jvmNanos, long brokerNanos, MachineCpu.Between machine, double jitCores) {

        double seconds() {
            return elapsedNanos / 1e9;
        }

        /**
         * Adds the figures to a round's result: JIT compiling cores; the JVM's and the broker's CPU seconds per
         * million of the {@code records} read and the cores the two kept busy; steal, iowait and the cores other
         * processes used. A figure the platform does not report is left out rather than written as zero.
         */
        void addTo(Map<String, Double> result, long records) {
            double seconds = seconds();
            if (!Double.isNaN(jitCores)) {
                result.put(ResultTables.JIT_CORES, jitCores);
            }
            if (jvmNanos < 0 || brokerNanos < 0) {
                return;
            }
            double millions = records / 1e6;
            if (records > 0) {
                result.put(ResultTables.JVM_CPU, jvmNanos / 1e9 / millions);
                result.put(ResultTables.BROKER_CPU, brokerNanos / 1e9 / millions);
            }
            result.put(ResultTables.CORES_BUSY, (jvmNanos + brokerNanos) / (double) elapsedNanos);
            if (machine != null) {
                result.put(ResultTables.STEAL_PERCENT, machine.stealPercent());
                result.put(ResultTables.IOWAIT_PERCENT, machine.iowaitPercent());
                double othersSeconds = machine.busySeconds() - (jvmNanos + brokerNanos) / 1e9;
                result.put(ResultTables.OTHER_CORES, Math.max(0, othersSeconds) / seconds);
            }
        }
    }

    /** Milliseconds this JVM's JIT compiler threads have spent compiling, summed over them; -1 where not reported. */
    private static long compilingMillis() {
        CompilationMXBean compiler = ManagementFactory.getCompilationMXBean();
        return compiler != null && compiler.isCompilationTimeMonitoringSupported() ? compiler.getTotalCompilationTime() : -1;
    }
}
