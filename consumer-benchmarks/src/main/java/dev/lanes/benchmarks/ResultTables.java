package dev.lanes.benchmarks;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The per-round values of the throughput and buffer-sweep phases, and their Markdown tables: medians,
 * min and max, the spread around the median, and ratios of medians against the classic consumer (or, in
 * the sweep, against the best bound).
 */
public final class ResultTables {

    /** Spread (± around the median) above which a row is flagged as not trustworthy. */
    public static final double SPREAD_LIMIT_PERCENT = 10.0;

    public static final String RECORDS_PER_S = "records_per_s";
    public static final String MB_PER_S = "mb_per_s";
    /** Length of the measured part of a round, so that a reader sees whether rounds were long enough. */
    public static final String SECONDS = "seconds";
    public static final String APP_CPU = "app_cpu_s_per_million";
    public static final String CONSUMER_CPU = "consumer_cpu_s_per_million";
    /** This JVM's CPU per million records: the consumer's threads plus garbage collection and JIT compilation. */
    public static final String JVM_CPU = "jvm_cpu_s_per_million";
    /** The broker process's CPU per million records read. */
    public static final String BROKER_CPU = "broker_cpu_s_per_million";
    /** CPU seconds of the JVM and the broker together per second of the round. */
    public static final String CORES_BUSY = "cores_busy";
    /** Share of the machine's CPU time that the hypervisor gave to other guests during the round (Linux's steal). */
    public static final String STEAL_PERCENT = "steal_percent";
    /** Share of the machine's CPU time spent idle waiting for the disk during the round. */
    public static final String IOWAIT_PERCENT = "iowait_percent";
    /** CPU of the machine's other processes (neither this JVM nor the broker) per second of the round. */
    public static final String OTHER_CORES = "other_processes_cores";
    /**
     * Time this JVM's JIT compiler threads spent compiling during the round, per second of the round: compiling
     * competes with a consumer that keeps both cores busy, and a round that still compiles reads slower.
     */
    public static final String JIT_CORES = "jit_compiling_cores";
    /**
     * The longest time the round's poll loop got no records (see RecordGaps), and how far into the round it fell, in
     * percent of the round's records: a round slow at the same CPU per record waited on something, and this says when.
     */
    public static final String LONGEST_WAIT_MS = "longest_wait_for_records_ms";
    public static final String LONGEST_WAIT_AT_PERCENT = "longest_wait_at_percent";
    public static final String RETAINED_MB = "retained_heap_mb";
    public static final String BUFFER_PEAK_MB = "fetch_buffer_peak_mb";

    /** One setting of the buffer sweep. */
    public record SweepKey(String workload, int consumers, int boundMib) {
    }

    /** workload name -> consumer -> measured key -> one value per round. */
    private final Map<String, Map<ConsumerKind, Map<String, List<Double>>>> throughput = new LinkedHashMap<>();
    /** sweep setting -> measured key -> one value per round. */
    private final Map<SweepKey, Map<String, List<Double>>> sweep = new LinkedHashMap<>();

    public void addThroughput(String workload, ConsumerKind kind, Map<String, Double> measured) {
        Map<String, List<Double>> byKey = throughput.computeIfAbsent(workload, w -> new LinkedHashMap<>())
                .computeIfAbsent(kind, k -> new LinkedHashMap<>());
        measured.forEach((key, value) -> byKey.computeIfAbsent(key, k -> new ArrayList<>()).add(value));
    }

    public void addSweep(SweepKey key, Map<String, Double> measured) {
        Map<String, List<Double>> byKey = sweep.computeIfAbsent(key, k -> new LinkedHashMap<>());
        measured.forEach((name, value) -> byKey.computeIfAbsent(name, k -> new ArrayList<>()).add(value));
    }

    public Map<String, Map<ConsumerKind, Map<String, List<Double>>>> throughputValues() {
        return throughput;
    }

    public Map<SweepKey, Map<String, List<Double>>> sweepValues() {
        return sweep;
    }

    public Stats.Summary throughputSummary(String workload, ConsumerKind kind, String key) {
        return Stats.summary(throughput.getOrDefault(workload, Map.of()).getOrDefault(kind, Map.of()).getOrDefault(key, List.of()));
    }

    /**
     * Workloads (and consumers) whose records/s spread more than the limit, for a note under the table; each
     * with the round that sets the spread (the one farthest from the median, slow or fast) and what the machine
     * did in it, against the row's medians: steal, iowait, the other processes' CPU and JIT compiling (a disturbed
     * round), cores busy and the longest wait for records (a round that waited), and the CPU per record of this
     * consumer and of the others in the same round (a round in which the same work cost every consumer more or less
     * CPU: the machine ran slower or faster, not the consumer).
     */
    public List<String> noisyThroughput() {
        List<String> noisy = new ArrayList<>();
        throughput.forEach((workload, byKind) -> byKind.forEach((kind, byKey) -> {
            List<Double> rates = byKey.getOrDefault(RECORDS_PER_S, List.of());
            Stats.Summary summary = Stats.summary(rates);
            if (summary.spreadExceeds(SPREAD_LIMIT_PERCENT)) {
                noisy.add(String.format(Locale.ROOT, "%s %s (±%.1f%%%s)", workload, kind.key(), summary.spreadPercent(),
                        spreadRound(rates, summary.median(), kind, byKind)));
            }
        }));
        return noisy;
    }

    private static String spreadRound(List<Double> rates, double median, ConsumerKind kind,
                                      Map<ConsumerKind, Map<String, List<Double>>> byKind) {
        Map<String, List<Double>> byKey = byKind.get(kind);
        List<Double> steal = byKey.getOrDefault(STEAL_PERCENT, List.of());
        List<Double> iowait = byKey.getOrDefault(IOWAIT_PERCENT, List.of());
        List<Double> others = byKey.getOrDefault(OTHER_CORES, List.of());
        if (steal.size() != rates.size() || iowait.size() != rates.size() || others.size() != rates.size()) {
            return "";
        }
        int farthest = 0;
        for (int i = 1; i < rates.size(); i++) {
            if (Math.abs(rates.get(i) - median) > Math.abs(rates.get(farthest) - median)) {
                farthest = i;
            }
        }
        List<Double> jit = byKey.getOrDefault(JIT_CORES, List.of());
        String compiling = jit.size() != rates.size() ? ""
                : String.format(Locale.ROOT, ", JIT compiling %.2f cores (median %.2f)", jit.get(farthest), Stats.median(jit));
        return String.format(Locale.ROOT, "; %s round: steal %.1f%% (median %.1f%%), iowait %.1f%% (median %.1f%%), "
                        + "other processes %.2f cores (median %.2f)%s%s%s", rates.get(farthest) < median ? "slowest" : "fastest",
                steal.get(farthest), Stats.median(steal), iowait.get(farthest), Stats.median(iowait), others.get(farthest),
                Stats.median(others), compiling, roundWaits(farthest, rates.size(), byKey),
                roundCpuPerRecord(farthest, rates.size(), kind, byKind));
    }

    /**
     * A round's cores busy and longest wait for records against the row's medians: fewer cores busy at the same CPU
     * per record means the round waited, and the longest wait says how long and when.
     */
    private static String roundWaits(int round, int rounds, Map<String, List<Double>> byKey) {
        StringBuilder waits = new StringBuilder();
        List<Double> busy = byKey.getOrDefault(CORES_BUSY, List.of());
        if (busy.size() == rounds) {
            waits.append(String.format(Locale.ROOT, ", cores busy %.2f (median %.2f)", busy.get(round), Stats.median(busy)));
        }
        List<Double> longest = byKey.getOrDefault(LONGEST_WAIT_MS, List.of());
        List<Double> at = byKey.getOrDefault(LONGEST_WAIT_AT_PERCENT, List.of());
        if (longest.size() == rounds && at.size() == rounds) {
            waits.append(String.format(Locale.ROOT, ", longest wait for records %.0f ms at %.0f%% of the round (median %.0f ms)",
                    longest.get(round), at.get(round), Stats.median(longest)));
        }
        return waits.toString();
    }

    /**
     * A round's consumer CPU per record against the row's median, then the same for each other consumer of the
     * workload in that round: the consumers run one after another in every round, so when all of them spent more
     * CPU on the same records the machine was slower in that round.
     */
    private static String roundCpuPerRecord(int round, int rounds, ConsumerKind kind,
                                            Map<ConsumerKind, Map<String, List<Double>>> byKind) {
        String own = cpuAgainstMedian(byKind.get(kind), round, rounds);
        if (own == null) {
            return "";
        }
        List<String> sameRound = new ArrayList<>();
        byKind.forEach((other, byKey) -> {
            String change = other == kind ? null : cpuAgainstMedian(byKey, round, rounds);
            if (change != null) {
                sameRound.add(other.key() + " " + change);
            }
        });
        return ", consumer CPU per record " + own + " against its median"
                + (sameRound.isEmpty() ? "" : " (same round: " + String.join(", ", sameRound) + ")");
    }

    private static String cpuAgainstMedian(Map<String, List<Double>> byKey, int round, int rounds) {
        List<Double> cpu = byKey.getOrDefault(CONSUMER_CPU, List.of());
        double median = Stats.median(cpu);
        if (cpu.size() != rounds || !(median > 0)) {
            return null;
        }
        return String.format(Locale.ROOT, "%+.1f%%", (cpu.get(round) / median - 1) * 100);
    }

    /** One row per workload and consumer, in the given orders; empty when nothing was measured. */
    public MarkdownTable throughputTable(List<Workload> workloads, List<ConsumerKind> kinds) {
        MarkdownTable table = new MarkdownTable(2, List.of("Workload", "Consumer", "rec/s median", "min", "max",
                "spread", "IQR spread", "round s", "rec/s vs Classic", "MB/s", "app CPU s/1M", "consumer CPU s/1M", "app CPU vs Classic",
                "consumer CPU vs Classic"));
        for (Workload workload : workloads) {
            if (!throughput.containsKey(workload.name())) {
                continue;
            }
            double classicRate = throughputSummary(workload.name(), ConsumerKind.CLASSIC, RECORDS_PER_S).median();
            double classicApp = throughputSummary(workload.name(), ConsumerKind.CLASSIC, APP_CPU).median();
            double classicAll = throughputSummary(workload.name(), ConsumerKind.CLASSIC, CONSUMER_CPU).median();
            for (ConsumerKind kind : kinds) {
                Stats.Summary rate = throughputSummary(workload.name(), kind, RECORDS_PER_S);
                if (rate.count() == 0) {
                    continue;
                }
                double app = throughputSummary(workload.name(), kind, APP_CPU).median();
                double all = throughputSummary(workload.name(), kind, CONSUMER_CPU).median();
                table.row(List.of(workload.name(), kind.label(), format(rate.median()), format(rate.min()),
                        format(rate.max()), spread(rate), interquartileSpread(rate),
                        format(throughputSummary(workload.name(), kind, SECONDS).median()),
                        ratio(rate.median(), classicRate),
                        format(throughputSummary(workload.name(), kind, MB_PER_S).median()), format(app), format(all),
                        ratio(app, classicApp), ratio(all, classicAll)));
            }
        }
        return table;
    }

    /**
     * One row per workload and consumer: the CPU of the benchmark JVM and of the broker per million records, and
     * how many cores the two kept busy; empty when the processes' CPU was not measured.
     */
    public MarkdownTable machineCpuTable(List<Workload> workloads, List<ConsumerKind> kinds) {
        MarkdownTable table = new MarkdownTable(2, List.of("Workload", "Consumer", "rec/s median", "JVM CPU s/1M",
                "broker CPU s/1M", "JVM + broker s/1M", "cores busy", "JVM CPU vs Classic", "JVM + broker vs Classic",
                "steal % max", "iowait % max", "other processes cores max", "JIT compiling cores max"));
        for (Workload workload : workloads) {
            if (!throughput.containsKey(workload.name())) {
                continue;
            }
            double classicJvm = throughputSummary(workload.name(), ConsumerKind.CLASSIC, JVM_CPU).median();
            double classicBroker = throughputSummary(workload.name(), ConsumerKind.CLASSIC, BROKER_CPU).median();
            for (ConsumerKind kind : kinds) {
                Stats.Summary jvm = throughputSummary(workload.name(), kind, JVM_CPU);
                if (jvm.count() == 0) {
                    continue;
                }
                double broker = throughputSummary(workload.name(), kind, BROKER_CPU).median();
                table.row(List.of(workload.name(), kind.label(),
                        format(throughputSummary(workload.name(), kind, RECORDS_PER_S).median()),
                        format(jvm.median()), format(broker), format(jvm.median() + broker),
                        format(throughputSummary(workload.name(), kind, CORES_BUSY).median()),
                        ratio(jvm.median(), classicJvm), ratio(jvm.median() + broker, classicJvm + classicBroker),
                        format(throughputSummary(workload.name(), kind, STEAL_PERCENT).max()),
                        format(throughputSummary(workload.name(), kind, IOWAIT_PERCENT).max()),
                        format(throughputSummary(workload.name(), kind, OTHER_CORES).max()),
                        format(throughputSummary(workload.name(), kind, JIT_CORES).max())));
            }
        }
        return table;
    }

    /**
     * One row per workload, number of consumers and bound; "vs best" compares the median with the best
     * median among the bounds of the same workload and number of consumers.
     */
    public MarkdownTable sweepTable() {
        MarkdownTable table = new MarkdownTable(1, List.of("Workload", "Consumers", "Bound MiB", "rec/s median",
                "spread", "IQR spread", "vs best bound", "heap retained MB", "fetch buffer peak MB", "steal % max", "iowait % max"));
        Map<String, Double> best = new LinkedHashMap<>();
        sweep.forEach((key, byName) -> best.merge(key.workload() + "/" + key.consumers(),
                Stats.median(byName.getOrDefault(RECORDS_PER_S, List.of())), (a, b) -> Double.isNaN(a) ? b : Double.isNaN(b) ? a : Math.max(a, b)));
        List<String> workloadOrder = sweep.keySet().stream().map(SweepKey::workload).distinct().toList();
        sweep.keySet().stream()
                .sorted(Comparator.comparingInt((SweepKey key) -> workloadOrder.indexOf(key.workload()))
                        .thenComparingInt(SweepKey::consumers).thenComparingInt(SweepKey::boundMib))
                .forEach(key -> {
                    Map<String, List<Double>> byName = sweep.get(key);
                    Stats.Summary rate = Stats.summary(byName.getOrDefault(RECORDS_PER_S, List.of()));
                    table.row(List.of(key.workload(), String.valueOf(key.consumers()), String.valueOf(key.boundMib()),
                            format(rate.median()), spread(rate), interquartileSpread(rate),
                            ratio(rate.median(), best.get(key.workload() + "/" + key.consumers())),
                            format(Stats.median(byName.getOrDefault(RETAINED_MB, List.of()))),
                            format(Stats.median(byName.getOrDefault(BUFFER_PEAK_MB, List.of()))),
                            format(Stats.summary(byName.getOrDefault(STEAL_PERCENT, List.of())).max()),
                            format(Stats.summary(byName.getOrDefault(IOWAIT_PERCENT, List.of())).max())));
                });
        return table;
    }

    /** "±4.2%", in bold when over the limit; "n/a" with fewer than two rounds. */
    static String spread(Stats.Summary summary) {
        if (summary.count() < 2) {
            return "n/a";
        }
        String text = String.format(Locale.ROOT, "±%.1f%%", summary.spreadPercent());
        return summary.spreadExceeds(SPREAD_LIMIT_PERCENT) ? "**" + text + "**" : text;
    }

    /** "±1.3%" for the middle half of the rounds; "n/a" with fewer than two rounds. */
    static String interquartileSpread(Stats.Summary summary) {
        return summary.count() < 2 ? "n/a" : String.format(Locale.ROOT, "±%.1f%%", summary.interquartileSpreadPercent());
    }

    static String ratio(double value, double reference) {
        double ratio = Stats.ratio(value, reference);
        return Double.isNaN(ratio) ? "n/a" : String.format(Locale.ROOT, "%.2fx", ratio);
    }

    /** Numbers as the tables show them: thousands separated, three significant digits below 1000. */
    static String format(double value) {
        if (Double.isNaN(value)) {
            return "n/a";
        }
        double abs = Math.abs(value);
        if (abs >= 1000) {
            return String.format(Locale.ROOT, "%,.0f", value);
        }
        if (abs >= 100) {
            return String.format(Locale.ROOT, "%.1f", value);
        }
        if (abs >= 1) {
            return String.format(Locale.ROOT, "%.2f", value);
        }
        return String.format(Locale.ROOT, "%.3f", value);
    }
}
