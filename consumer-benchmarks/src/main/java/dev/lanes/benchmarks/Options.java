package dev.lanes.benchmarks;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** Command-line options of {@link ConsumerBenchmark}. */
public final class Options {

    public int rounds = 3;
    /** Brokers of the cluster the benchmark starts; the topics' partitions spread over them. */
    public int brokers = 1;
    /** Records per round of every workload; null: each workload's own default. */
    public Long records;
    /**
     * Two: with one, a consumer's second pass over a workload, its first measured round, was often its slowest
     * (Lanes on raw100 at 8.9 against 11.0 to 11.5 million records/s in the other four, with no steal), most
     * likely its code being compiled again once the other consumers had run; two keep that pass unmeasured.
     */
    public int warmupRounds = 2;
    public List<Workload> workloads = new ArrayList<>(Workload.ALL);
    /** Bounds (MiB) of lanes.fetch.buffer.max.bytes tried by the buffer-sweep phase. */
    public List<Integer> bufferBoundsMib = new ArrayList<>(List.of(4, 8, 16, 32, 64));
    /** How many Lanes consumers share the JVM in the buffer-sweep phase, one setting per entry. */
    public List<Integer> sweepConsumers = new ArrayList<>(List.of(1, 3));
    public boolean quick;
    public int latencyRate = 5_000;
    public int latencySeconds = 10;
    public int idleSeconds = 10;
    public int idlePollMs = 1_000;
    public int unreachablePolls = 50;
    public int heartbeatSeconds = 30;
    public int heartbeatIntervalMs = 3_000;
    public int commitsPerPoll = 100;
    public int slowProcessingMs = 20;
    /** The data set the heartbeat phase reads. */
    public Workload heartbeatWorkload = Workload.named("raw100");
    public int heapSeconds = 20;
    public int phaseTimeoutSeconds = 300;
    /** Steal (percent of the machine's CPU time) above which a throughput round is measured again; 100 turns it off. */
    public double maxStealPercent = 5.0;
    public List<ConsumerKind> consumers = new ArrayList<>(List.of(ConsumerKind.values()));
    public List<String> phases = new ArrayList<>(ConsumerBenchmark.DEFAULT_PHASES);
    public Path output;
    /** Extra settings of every Lanes consumer (--lanes-settings), for comparing Lanes with itself. */
    public Map<String, String> lanesSettings = new LinkedHashMap<>();
    /** Extra settings of every consumer, Lanes and KafkaConsumer alike (--consumer-settings), for comparing them tuned the same way. */
    public Map<String, String> consumerSettings = new LinkedHashMap<>();

    /** A topic has this many partitions: more brokers would hold none. */
    static final int MAX_BROKERS = ConsumerBenchmark.PARTITIONS;

    static final String USAGE = String.join("\n",
            "Usage: ConsumerBenchmark [options]",
            "  --rounds N             measured rounds; each runs every phase for every consumer, in an order that",
            "                         changes from round to round (default 3)",
            "  --warmup-rounds N      throughput rounds run first and discarded (default 2; 0 for none); up to four",
            "                         more follow while the JIT compiler is still busy in the last one",
            "  --workloads LIST       comma-separated throughput workloads (default all):",
            "                         " + String.join(",", Workload.names()),
            "  --records N            records per round of every workload (default: sized per workload)",
            "  --brokers N            brokers of the cluster the run starts on 127.0.0.1, 1 to " + MAX_BROKERS + " (default 1);",
            "                         each topic's " + ConsumerBenchmark.PARTITIONS + " partitions spread over them",
            "  --buffer-bounds LIST   MiB values of lanes.fetch.buffer.max.bytes for buffer-sweep (default 4,8,16,32,64)",
            "  --sweep-consumers LIST Lanes consumers in one JVM for buffer-sweep (default 1,3)",
            "  --quick                smoke run: 1 round, 50000 records, a few seconds per phase",
            "  --latency-rate N       records/s produced in the latency phase (default 5000)",
            "  --latency-seconds N    length of the latency phase (default 10, the first second is warm-up)",
            "  --idle-seconds N       length of the idle-CPU measurement (default 10)",
            "  --idle-poll-ms N       poll timeout of the idle consumer's loop (default 1000)",
            "  --unreachable-polls N  poll(100 ms) calls against an unreachable broker (default 50)",
            "  --heartbeat-seconds N  length of the heartbeat phase (default 30)",
            "  --heartbeat-interval-ms N  heartbeat interval: classic heartbeat.interval.ms and the broker's",
            "                         group.consumer.heartbeat.interval.ms (default 3000)",
            "  --commits-per-poll N   commitAsync calls after each poll in the heartbeat phase (default 100)",
            "  --slow-processing-ms N sleep after each poll in the heartbeat and heap phases (default 20; 0 for none)",
            "  --heartbeat-workload W data set the heartbeat phase reads (default raw100); with json256-lz4 and",
            "                         --slow-processing-ms 0 the background thread decodes flat out meanwhile",
            "  --heap-seconds N       length of the fetched-data heap phase and of each buffer-sweep heap step (default 20)",
            "  --phase-timeout-seconds N  hard bound of one phase run; the process exits if it is passed (default 300)",
            "  --max-steal-percent P  a throughput round during which the hypervisor gave more than P% of the",
            "                         machine's CPU time to other guests (Linux's steal) is measured again, at most",
            "                         twice (default 5; 100 never repeats a round)",
            "  --consumers LIST       comma-separated subset of " + String.join(",", ConsumerKind.names()),
            "  --phases LIST          comma-separated subset of " + String.join(",", ConsumerBenchmark.ALL_PHASES),
            "                         (default all but " + ConsumerBenchmark.PHASE_BUFFER_SWEEP + ")",
            "  --lanes-settings LIST  comma-separated KEY=VALUE settings added to every Lanes consumer, for example",
            "                         lanes.decode.ahead=false",
            "  --consumer-settings LIST  comma-separated KEY=VALUE settings added to every consumer of the run, Lanes",
            "                         and KafkaConsumer alike, for example receive.buffer.bytes=1048576",
            "  --output FILE          JSON results (default <module>/target/benchmark-results.json); the Markdown",
            "                         tables go next to it, in the same name ending in .md");

    public static Options parse(String... args) {
        Options options = new Options();
        Map<String, String> explicit = new LinkedHashMap<>();
        for (int i = 0; i < args.length; i++) {
            String arg = args[i];
            if (arg.equals("--quick")) {
                options.quick = true;
                continue;
            }
            if (arg.equals("--help") || arg.equals("-h")) {
                throw new IllegalArgumentException(USAGE);
            }
            String value;
            int eq = arg.indexOf('=');
            if (eq > 0) {
                value = arg.substring(eq + 1);
                arg = arg.substring(0, eq);
            } else {
                if (i + 1 >= args.length) {
                    throw new IllegalArgumentException("missing value for " + arg + "\n" + USAGE);
                }
                value = args[++i];
            }
            explicit.put(arg, value);
        }
        if (options.quick) {
            options.rounds = 1;
            options.records = 50_000L;
            options.latencyRate = 1_000;
            options.latencySeconds = 3;
            options.idleSeconds = 3;
            options.unreachablePolls = 20;
            options.heartbeatSeconds = 8;
            options.heartbeatIntervalMs = 1_000;
            options.heapSeconds = 4;
            options.phaseTimeoutSeconds = 60;
        }
        explicit.forEach(options::set);
        return options;
    }

    private void set(String name, String value) {
        switch (name) {
            case "--rounds" -> rounds = positive(name, value);
            case "--brokers" -> {
                brokers = positive(name, value);
                if (brokers > MAX_BROKERS) {
                    throw new IllegalArgumentException(name + " must be at most " + MAX_BROKERS
                            + " (a topic has " + ConsumerBenchmark.PARTITIONS + " partitions, one broker each at most), was " + value);
                }
            }
            case "--records" -> records = Long.parseLong(value.replace("_", ""));
            case "--warmup-rounds" -> warmupRounds = nonNegative(name, value);
            case "--workloads" -> {
                workloads = new ArrayList<>();
                for (String workload : value.split(",")) {
                    workloads.add(Workload.named(workload));
                }
            }
            case "--buffer-bounds" -> bufferBoundsMib = positiveList(name, value);
            case "--sweep-consumers" -> sweepConsumers = positiveList(name, value);
            case "--latency-rate" -> latencyRate = positive(name, value);
            case "--latency-seconds" -> latencySeconds = positive(name, value);
            case "--idle-seconds" -> idleSeconds = positive(name, value);
            case "--idle-poll-ms" -> idlePollMs = positive(name, value);
            case "--unreachable-polls" -> unreachablePolls = positive(name, value);
            case "--heartbeat-seconds" -> heartbeatSeconds = positive(name, value);
            case "--heartbeat-interval-ms" -> heartbeatIntervalMs = positive(name, value);
            case "--commits-per-poll" -> commitsPerPoll = positive(name, value);
            case "--slow-processing-ms" -> slowProcessingMs = nonNegative(name, value);
            case "--heartbeat-workload" -> heartbeatWorkload = Workload.named(value);
            case "--heap-seconds" -> heapSeconds = positive(name, value);
            case "--phase-timeout-seconds" -> phaseTimeoutSeconds = positive(name, value);
            case "--max-steal-percent" -> maxStealPercent = percent(name, value);
            case "--output" -> output = Path.of(value);
            case "--lanes-settings" -> putSettings(name, value, lanesSettings);
            case "--consumer-settings" -> putSettings(name, value, consumerSettings);
            case "--consumers" -> {
                consumers = new ArrayList<>();
                for (String kind : value.split(",")) {
                    consumers.add(ConsumerKind.valueOf(kind.trim().toUpperCase(Locale.ROOT)));
                }
            }
            case "--phases" -> {
                phases = new ArrayList<>();
                for (String phase : value.split(",")) {
                    if (!ConsumerBenchmark.ALL_PHASES.contains(phase.trim())) {
                        throw new IllegalArgumentException("unknown phase " + phase + "\n" + USAGE);
                    }
                    phases.add(phase.trim());
                }
            }
            default -> throw new IllegalArgumentException("unknown option " + name + "\n" + USAGE);
        }
        if (records != null && records < 1) {
            throw new IllegalArgumentException("--records must be positive");
        }
    }

    /** The selected workloads, each with its records per round ({@code --records} or its own default). */
    public List<Workload> workloadsToRun() {
        return records == null ? workloads : workloads.stream().map(w -> w.withRecordsPerRound(records)).toList();
    }

    private static double percent(String name, String value) {
        double percent;
        try {
            percent = Double.parseDouble(value);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(name + " must be a number from 0 to 100, not " + value);
        }
        if (!(percent >= 0 && percent <= 100)) {
            throw new IllegalArgumentException(name + " must be a number from 0 to 100, not " + value);
        }
        return percent;
    }

    private static int nonNegative(String name, String value) {
        int parsed = Integer.parseInt(value.replace("_", ""));
        if (parsed < 0) {
            throw new IllegalArgumentException(name + " must not be negative, was " + value);
        }
        return parsed;
    }

    private static List<Integer> positiveList(String name, String value) {
        List<Integer> parsed = new ArrayList<>();
        for (String item : value.split(",")) {
            parsed.add(positive(name, item.trim()));
        }
        return parsed;
    }

    private static void putSettings(String name, String value, Map<String, String> settings) {
        for (String entry : value.split(",")) {
            int eq = entry.indexOf('=');
            if (eq <= 0) {
                throw new IllegalArgumentException(name + " takes KEY=VALUE entries: " + entry);
            }
            settings.put(entry.substring(0, eq).trim(), entry.substring(eq + 1).trim());
        }
    }

    private static int positive(String name, String value) {
        int parsed = Integer.parseInt(value.replace("_", ""));
        if (parsed < 1) {
            throw new IllegalArgumentException(name + " must be positive, was " + value);
        }
        return parsed;
    }
}
