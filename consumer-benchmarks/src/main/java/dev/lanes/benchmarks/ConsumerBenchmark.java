package dev.lanes.benchmarks;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.lanes.consumer.LanesConsumerConfig;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.CloseOptions;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.Metric;
import org.apache.kafka.common.MetricName;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArraySerializer;

import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import java.net.URISyntaxException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;
import java.util.stream.IntStream;

/**
 * End-to-end benchmark: LanesConsumer against kafka-clients' KafkaConsumer with the classic protocol and
 * with the consumer protocol (AsyncKafkaConsumer), in one run, against a real KRaft cluster on 127.0.0.1
 * whose nodes run in JVMs of their own (one broker unless {@code --brokers} says more; see {@link BrokerCluster}).
 * Each round runs every phase for every consumer, the consumers' order rotated from round to round. Prints
 * medians with ratios against the classic consumer and writes every value as JSON. See {@link Options#USAGE}
 * for the options.
 */
public final class ConsumerBenchmark {

    public static final String PHASE_THROUGHPUT = "throughput";
    public static final String PHASE_LATENCY = "latency";
    public static final String PHASE_IDLE = "idle";
    public static final String PHASE_UNREACHABLE = "unreachable";
    public static final String PHASE_HEARTBEAT = "heartbeat";
    public static final String PHASE_HEAP = "heap";
    public static final String PHASE_COMMIT = "commit";
    /** Lanes alone, throughput and retained heap against lanes.fetch.buffer.max.bytes; run only when asked for. */
    public static final String PHASE_BUFFER_SWEEP = "buffer-sweep";
    public static final List<String> DEFAULT_PHASES = List.of(PHASE_THROUGHPUT, PHASE_LATENCY, PHASE_IDLE,
            PHASE_UNREACHABLE, PHASE_HEARTBEAT, PHASE_HEAP, PHASE_COMMIT);
    public static final List<String> ALL_PHASES = List.of(PHASE_THROUGHPUT, PHASE_LATENCY, PHASE_IDLE,
            PHASE_UNREACHABLE, PHASE_HEARTBEAT, PHASE_HEAP, PHASE_COMMIT, PHASE_BUFFER_SWEEP);

    static final String TOPIC_100 = "bench-100b";
    static final String TOPIC_1K = "bench-1kb";
    static final String TOPIC_LATENCY = "bench-latency";
    static final String TOPIC_IDLE = "bench-idle";
    static final String TOPIC_COMMIT = "bench-commit";
    /** commitSync calls measured per round in the commit phase. */
    private static final int COMMIT_SAMPLES = 40;
    static final int PARTITIONS = 6;
    private static final double MB = 1024.0 * 1024.0;
    /** Sleep after each poll of the heap phase: a listener far slower than the broker. */
    private static final int HEAP_PROCESSING_MS = 100;

    /** One row of the table: what is measured, its unit, and which direction is better. */
    record MetricDef(String key, String label, String unit, boolean higherIsBetter, String note) {
    }

    static final List<MetricDef> METRICS = List.of(
            new MetricDef("latency.p50_ms", "E2E latency p50", "ms", false, null),
            new MetricDef("latency.p99_ms", "E2E latency p99", "ms", false, null),
            new MetricDef("idle.cpu_ms_per_s", "Idle subscribed CPU", "ms/s", false, null),
            new MetricDef("unreachable.poll_p50_ms", "poll(100ms) unreachable p50", "ms", false, null),
            new MetricDef("unreachable.poll_p99_ms", "poll(100ms) unreachable p99", "ms", false, null),
            new MetricDef("unreachable.poll_max_ms", "poll(100ms) unreachable max", "ms", false, null),
            new MetricDef("heartbeat.interval_ms", "Heartbeat interval", "ms", false, null),
            new MetricDef("heartbeat.gap_p50_ms", "Heartbeat gap p50 (flooded)", "ms", false, null),
            new MetricDef("heartbeat.gap_p99_ms", "Heartbeat gap p99 (flooded)", "ms", false, null),
            new MetricDef("heartbeat.gap_max_ms", "Heartbeat gap max (flooded)", "ms", false, null),
            new MetricDef("heartbeat.commits_refused", "commitAsync refused (flooded)", "calls", false, null),
            new MetricDef("commit.p50_ms", "commitSync caught up p50", "ms", false,
                    "one record produced, polled and committed at a time, default fetch.max.wait.ms (500 ms)"),
            new MetricDef("commit.p99_ms", "commitSync caught up p99", "ms", false, null),
            new MetricDef("heap.fetch_buffer_max_mb", "Fetch buffer peak (metric)", "MB", false,
                    "Lanes: max of lanes-consumer-metrics fetch-buffer-bytes; KafkaConsumer has no such metric (n/a)"),
            new MetricDef("heap.retained_max_mb", "Heap retained after GC, peak", "MB", false,
                    "heap used after System.gc() minus the baseline before the consumer was created, sampled each second"));

    private final Options options;
    private final Map<String, Map<ConsumerKind, List<Double>>> values = new LinkedHashMap<>();
    private final ResultTables results = new ResultTables();
    /** Bytes on the broker's disk per topic, after producing (for the buffer sweep's backlog check). */
    private final Map<String, Long> topicBytes = new HashMap<>();
    private final List<String> notes = new ArrayList<>();
    private final DisturbedRounds disturbedRounds;
    private final ScheduledExecutorService watchdog = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread thread = new Thread(r, "bench-watchdog");
        thread.setDaemon(true);
        return thread;
    });
    private final String runId = UUID.randomUUID().toString().substring(0, 8);
    private BrokerCluster cluster;
    private ProcessCpu processCpu;
    private final Map<String, String> brokerSettings = new LinkedHashMap<>();

    ConsumerBenchmark(Options options) {
        this.options = options;
        this.disturbedRounds = new DisturbedRounds(options.maxStealPercent);
        for (MetricDef metric : METRICS) {
            Map<ConsumerKind, List<Double>> byKind = new LinkedHashMap<>();
            for (ConsumerKind kind : options.consumers) {
                byKind.put(kind, new ArrayList<>());
            }
            values.put(metric.key(), byKind);
        }
    }

    public static void main(String[] args) throws Exception {
        Options options;
        try {
            options = Options.parse(args);
        } catch (IllegalArgumentException e) {
            System.err.println(e.getMessage());
            System.exit(2);
            return;
        }
        new ConsumerBenchmark(options).run();
        System.exit(0);
    }

    void run() throws Exception {
        Instant started = Instant.now();
        log("options: rounds=%d warm-up rounds=%d phases=%s consumers=%s workloads=%s%s", options.rounds,
                options.warmupRounds, options.phases, options.consumers,
                options.workloadsToRun().stream().map(w -> w.name() + "(" + w.recordsPerRound() + ")").toList(),
                options.quick ? " (quick)" : "");
        brokerSettings.put("group.consumer.heartbeat.interval.ms", String.valueOf(options.heartbeatIntervalMs));
        brokerSettings.put("group.consumer.min.heartbeat.interval.ms", String.valueOf(Math.min(options.heartbeatIntervalMs, 5000)));
        long t0 = System.nanoTime();
        cluster = BrokerCluster.start(options.brokers, brokerSettings, "1g");
        processCpu = new ProcessCpu(cluster.pids());
        log("%d broker(s), pid(s) %s, on %s (data in %s), started in %d ms", cluster.size(), cluster.pids(),
                cluster.bootstrapServers(), cluster.directory(), (System.nanoTime() - t0) / 1_000_000);
        try {
            prepareData();
            if (options.phases.contains(PHASE_THROUGHPUT)) {
                throughputRounds();
            } else if (options.phases.contains(PHASE_BUFFER_SWEEP)) {
                warmUp(List.of(ConsumerKind.LANES)); // the sweep's Lanes consumers see compiled code too
            }
            // The other phases run round by round, each consumer in the round's order.
            List<String> phases = options.phases.stream().filter(phase -> !phase.equals(PHASE_THROUGHPUT)).toList();
            for (int round = 0; round < options.rounds && !phases.isEmpty(); round++) {
                List<ConsumerKind> order = RoundOrder.of(options.consumers, round);
                log("round %d/%d, order %s", round + 1, options.rounds, order);
                for (String phase : phases) {
                    if (phase.equals(PHASE_BUFFER_SWEEP)) {
                        bufferSweep(round);
                    } else {
                        for (ConsumerKind kind : order) {
                            runPhase(phase, kind, round);
                        }
                    }
                }
            }
        } finally {
            cluster.close();
            watchdog.shutdownNow();
        }
        String markdown = markdown();
        System.out.println();
        System.out.println(markdown);
        Path output = outputPath();
        writeJson(output, started, markdown);
        Path markdownFile = markdownPath(output);
        Files.writeString(markdownFile, markdown);
        log("results written to %s and %s", output.toAbsolutePath(), markdownFile.toAbsolutePath());
    }

    /**
     * The throughput phase, one workload at a time: its warm-up rounds, then its measured rounds, the consumers'
     * order changing from round to round. Every round of a workload reads the same topic, which so stays in the
     * page cache while it is measured; the ten workloads' data together is larger than this machine's memory,
     * and rounds that cycled through all of it would read the disk and measure it.
     */
    private void throughputRounds() {
        for (Workload workload : options.workloadsToRun()) {
            warmUp(workload, options.consumers);
            for (int round = 0; round < options.rounds; round++) {
                List<ConsumerKind> order = RoundOrder.of(options.consumers, round);
                log("%s round %d/%d, order %s", workload.name(), round + 1, options.rounds, order);
                for (ConsumerKind kind : order) {
                    runThroughput(workload, kind, round);
                }
            }
        }
    }

    /** Warm-up rounds of every workload for {@code kinds} (the buffer sweep's, Lanes alone). */
    private void warmUp(List<ConsumerKind> kinds) {
        for (Workload workload : options.workloadsToRun()) {
            warmUp(workload, kinds);
        }
    }

    /**
     * Rounds run first and not recorded, so that the measured rounds see compiled code rather than the JIT
     * at work, and the workload's data in the page cache: each consumer reads the workload in full (a round's
     * worth of records). After the configured rounds, more follow while the JIT compiler was still busy in the
     * last one (see {@link WarmUp}).
     */
    private void warmUp(Workload workload, List<ConsumerKind> kinds) {
        if (options.warmupRounds == 0) {
            return;
        }
        WarmUp warmUp = new WarmUp(options.warmupRounds);
        for (int round = 0; ; round++) {
            double mostCompiling = 0;
            for (ConsumerKind kind : RoundOrder.of(kinds, round)) {
                long w0 = System.nanoTime();
                Map<String, Double> measured = guarded("warm-up " + workload.name(), kind, -1, () -> throughput(workload, kind, -1));
                double compiling = measured == null ? 0 : measured.getOrDefault(ResultTables.JIT_CORES, 0.0);
                mostCompiling = Math.max(mostCompiling, compiling);
                log("  warm-up %-15s %-7s %5.1f s  JIT compiling %.2f cores (not recorded)", workload.name(), kind.label(),
                        (System.nanoTime() - w0) / 1e9, compiling);
            }
            if (!warmUp.another(round, mostCompiling)) {
                return;
            }
            if (round + 1 >= options.warmupRounds) {
                log("  JIT still compiling (%.2f cores): one more warm-up round", mostCompiling);
            }
        }
    }

    // ------------------------------------------------------------------ data

    private void prepareData() throws Exception {
        List<Workload> workloads = new ArrayList<>();
        if (options.phases.contains(PHASE_THROUGHPUT) || options.phases.contains(PHASE_BUFFER_SWEEP)) {
            workloads.addAll(options.workloadsToRun());
        }
        // The heartbeat phase reads its workload's data set (100 B by default), the heap phase the 1 KB one.
        long fallbackRecords = options.records == null ? 2_000_000 : options.records;
        Workload heartbeatData = options.heartbeatWorkload;
        if (options.phases.contains(PHASE_HEARTBEAT) && workloads.stream().noneMatch(w -> w.topic().equals(heartbeatData.topic()))) {
            workloads.add(heartbeatData.withRecordsPerRound(fallbackRecords));
        }
        if (options.phases.contains(PHASE_HEAP) && workloads.stream().noneMatch(w -> w.topic().equals(TOPIC_1K))) {
            workloads.add(Workload.named("raw1k").withRecordsPerRound(fallbackRecords));
        }
        List<String> topics = new ArrayList<>(List.of(TOPIC_LATENCY, TOPIC_IDLE));
        workloads.forEach(w -> topics.add(w.topic()));
        try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, cluster.bootstrapServers()))) {
            admin.createTopics(topics.stream().map(topic -> new NewTopic(topic, PARTITIONS, (short) 1)).toList())
                    .all().get(60, TimeUnit.SECONDS);
            admin.createTopics(List.of(new NewTopic(TOPIC_COMMIT, 1, (short) 1))).all().get(60, TimeUnit.SECONDS);
            for (Workload workload : workloads) {
                produce(workload);
            }
            admin.describeLogDirs(cluster.nodeIds()).allDescriptions().get(60, TimeUnit.SECONDS).values().forEach(dirs ->
                    dirs.values().forEach(dir -> dir.replicaInfos().forEach((partition, replica) ->
                            topicBytes.merge(partition.topic(), replica.size(), Long::sum))));
        }
        for (Workload workload : workloads) {
            log("  %-15s %,d records, %s, %.1f MB on the brokers", workload.name(), workload.datasetRecords(),
                    workload.describe(), topicBytes.getOrDefault(workload.topic(), 0L) / MB);
        }
    }

    /** The workload's data set, spread round-robin over the partitions so that each holds the same share. */
    private void produce(Workload workload) throws Exception {
        long t0 = System.nanoTime();
        Map<String, Object> configs = new HashMap<>();
        configs.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, cluster.bootstrapServers());
        configs.put(ProducerConfig.CLIENT_ID_CONFIG, "bench-producer-data");
        configs.put(ProducerConfig.ACKS_CONFIG, "1");
        configs.put(ProducerConfig.LINGER_MS_CONFIG, 20);
        configs.put(ProducerConfig.BATCH_SIZE_CONFIG, 256 * 1024);
        configs.put(ProducerConfig.BUFFER_MEMORY_CONFIG, 128L * 1024 * 1024);
        configs.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, false);
        configs.put(ProducerConfig.COMPRESSION_TYPE_CONFIG, workload.compression());
        byte[][] payloads;
        if (workload.json()) {
            payloads = JsonValues.generate(Workload.JSON_SEED, workload.valueBytes(), 4096);
        } else {
            Random random = new Random(42);
            payloads = new byte[64][workload.valueBytes()];
            for (byte[] payload : payloads) {
                random.nextBytes(payload);
            }
        }
        AtomicLong failed = new AtomicLong();
        AtomicReference<Exception> firstError = new AtomicReference<>();
        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(configs, new ByteArraySerializer(), new ByteArraySerializer())) {
            for (long i = 0; i < workload.datasetRecords(); i++) {
                producer.send(new ProducerRecord<>(workload.topic(), (int) (i % PARTITIONS), null,
                        payloads[(int) (i % payloads.length)]), (metadata, e) -> {
                    if (e != null) {
                        failed.incrementAndGet();
                        firstError.compareAndSet(null, e);
                    }
                });
            }
            producer.flush();
        }
        if (failed.get() > 0) {
            throw new IllegalStateException(failed.get() + " records failed to produce to " + workload.topic(), firstError.get());
        }
        log("produced %,d x %d B to %s (%s) in %.1f s", workload.datasetRecords(), workload.valueBytes(),
                workload.topic(), workload.compression(), (System.nanoTime() - t0) / 1e9);
    }

    // ------------------------------------------------------------------ phases

    private void runPhase(String phase, ConsumerKind kind, int round) {
        Map<String, Double> measured = guarded(phase, kind, round, () -> switch (phase) {
            case PHASE_LATENCY -> latency(kind, round);
            case PHASE_IDLE -> idle(kind, round);
            case PHASE_UNREACHABLE -> unreachable(kind, round);
            case PHASE_HEARTBEAT -> heartbeat(kind, round);
            case PHASE_HEAP -> heap(kind, round);
            case PHASE_COMMIT -> commit(kind, round);
            default -> throw new IllegalArgumentException(phase);
        });
        if (measured != null) {
            measured.forEach((key, value) -> values.get(key).get(kind).add(value));
        }
    }

    /** One consumer's measurement of a round, taken again while the hypervisor's steal disturbs it (see DisturbedRounds). */
    private void runThroughput(Workload workload, ConsumerKind kind, int round) {
        String what = PHASE_THROUGHPUT + " " + workload.name();
        for (int attempt = 0; ; attempt++) {
            Map<String, Double> measured = guarded(what, kind, round, () -> throughput(workload, kind, round));
            if (measured == null) {
                return;
            }
            String measurement = String.format(Locale.ROOT, "%s %s round %d", workload.name(), kind.key(), round + 1);
            if (!disturbedRounds.measureAgain(measurement, measured, attempt)) {
                results.addThroughput(workload.name(), kind, measured);
                return;
            }
            log("  %-22s %-7s steal over %.0f%%: measured again", what, kind.label(), disturbedRounds.maxStealPercent());
        }
    }

    /** A phase body that would return a measurement: measured at most for the phase bound, logged; null if it failed. */
    private interface PhaseBody {
        Map<String, Double> run() throws Exception;
    }

    /**
     * Runs {@code body} under the watchdog (the process exits if the phase bound is passed), logs its
     * result, and turns a failure into a note; returns null then.
     */
    private Map<String, Double> guarded(String what, ConsumerKind kind, int round, PhaseBody body) {
        Thread phaseThread = Thread.currentThread();
        ScheduledFuture<?> timeout = watchdog.schedule(() -> {
            System.err.printf("%n%s of %s (round %d) exceeded %d s; stopping the benchmark%n", what, kind,
                    round + 1, options.phaseTimeoutSeconds);
            for (StackTraceElement element : phaseThread.getStackTrace()) {
                System.err.println("    at " + element);
            }
            System.exit(3); // the shutdown hook stops the broker
        }, options.phaseTimeoutSeconds, TimeUnit.SECONDS);
        long t0 = System.nanoTime();
        try {
            Map<String, Double> measured = body.run();
            if (round >= 0) {
                log("  %-22s %-7s %5.1f s  %s", what, kind.label(), (System.nanoTime() - t0) / 1e9, brief(measured));
            }
            return measured;
        } catch (Exception e) {
            String note = (round < 0 ? "warm-up" : "round " + (round + 1)) + " " + what + " " + kind.key() + " failed: " + e;
            notes.add(note);
            log("  %-22s %-7s FAILED: %s", what, kind.label(), e);
            e.printStackTrace();
            return null;
        } finally {
            timeout.cancel(false);
        }
    }

    private Map<String, Object> settings(ConsumerKind kind, String phase, int round, String groupId) {
        Map<String, Object> settings = new HashMap<>();
        settings.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, cluster.bootstrapServers());
        settings.put(ConsumerConfig.CLIENT_ID_CONFIG, clientId(kind, phase, round));
        settings.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        settings.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        if (groupId != null) {
            settings.put(ConsumerConfig.GROUP_ID_CONFIG, groupId);
        }
        settings.putAll(options.consumerSettings);
        if (kind == ConsumerKind.LANES) {
            settings.putAll(options.lanesSettings);
        }
        return settings;
    }

    private String clientId(ConsumerKind kind, String phase, int round) {
        return "bench-" + kind.key() + "-" + phase + "-r" + (round + 1) + "-" + runId;
    }

    private String groupId(ConsumerKind kind, String phase, int round) {
        return "group-" + clientId(kind, phase, round);
    }

    private static List<TopicPartition> partitions(String topic) {
        return IntStream.range(0, PARTITIONS).mapToObj(p -> new TopicPartition(topic, p)).toList();
    }

    private long phaseDeadlineNanos() {
        return System.nanoTime() + TimeUnit.SECONDS.toNanos(Math.max(5, options.phaseTimeoutSeconds - 20));
    }

    /**
     * Reads a round's worth of the workload's records with assign() + seekToBeginning(), starting over
     * from the beginning whenever the data set is exhausted; records/s, and CPU per million records of the
     * polling thread and of all the consumer's threads.
     */
    private Map<String, Double> throughput(Workload workload, ConsumerKind kind, int round) {
        String phase = PHASE_THROUGHPUT + "-" + workload.name();
        Map<String, Object> settings = settings(kind, phase, round, null);
        ThreadCpu cpu = new ThreadCpu(Thread.currentThread(), clientId(kind, phase, round));
        System.gc(); // the previous run's garbage is not this one's to collect
        try (Consumer<byte[], byte[]> consumer = kind.create(settings, options.heartbeatIntervalMs)) {
            List<TopicPartition> partitions = partitions(workload.topic());
            consumer.assign(partitions);
            consumer.seekToBeginning(partitions);
            Map<Long, Long> cpuBefore = cpu.snapshot();
            MeasuredSpan span = MeasuredSpan.start(processCpu);
            RecordGaps gaps = new RecordGaps(System.nanoTime(), workload.recordsPerRound());
            long[] read = consume(consumer, partitions, workload.datasetRecords(), workload.recordsPerRound(), gaps);
            MeasuredSpan.Figures figures = span.stop();
            Map<Long, Long> cpuAfter = cpu.snapshot();
            long cpuNanos = ThreadCpu.between(cpuBefore, cpuAfter);
            long appNanos = cpuAfter.get(cpu.pollingThreadId()) - cpuBefore.get(cpu.pollingThreadId());
            double seconds = figures.seconds();
            double millions = read[0] / 1e6;
            Map<String, Double> result = new LinkedHashMap<>();
            result.put(ResultTables.RECORDS_PER_S, read[0] / seconds);
            result.put(ResultTables.MB_PER_S, read[1] / MB / seconds);
            result.put(ResultTables.SECONDS, seconds);
            result.put(ResultTables.APP_CPU, appNanos / 1e9 / millions);
            result.put(ResultTables.CONSUMER_CPU, cpuNanos / 1e9 / millions);
            result.put(ResultTables.LONGEST_WAIT_MS, gaps.longestMillis());
            result.put(ResultTables.LONGEST_WAIT_AT_PERCENT, gaps.longestAtPercent());
            figures.addTo(result, read[0]);
            return result;
        }
    }

    /**
     * Polls until {@code wanted} records are read, seeking back to the beginning each time the
     * {@code perPass} records of the assigned partitions are read; returns records and value bytes read. Each poll
     * is told to {@code gaps}.
     */
    private long[] consume(Consumer<byte[], byte[]> consumer, List<TopicPartition> partitions, long perPass, long wanted,
                           RecordGaps gaps) {
        long deadline = phaseDeadlineNanos();
        long count = 0;
        long inPass = 0;
        long bytes = 0;
        while (count < wanted && System.nanoTime() < deadline) {
            ConsumerRecords<byte[], byte[]> records = consumer.poll(Duration.ofMillis(100));
            gaps.polled(System.nanoTime(), records.count(), count);
            for (ConsumerRecord<byte[], byte[]> record : records) {
                byte[] value = record.value();
                bytes += value == null ? 0 : value.length;
            }
            count += records.count();
            inPass += records.count();
            if (inPass >= perPass && count < wanted) {
                consumer.seekToBeginning(partitions);
                inPass = 0;
            }
        }
        if (count < wanted) {
            throw new IllegalStateException("consumed only " + count + " of " + wanted + " records of "
                    + partitions + " within the phase bound");
        }
        return new long[] {count, bytes};
    }

    /** Produces at a fixed rate while the consumer reads from the end; latency = receive - send time. */
    private Map<String, Double> latency(ConsumerKind kind, int round) throws Exception {
        Map<String, Object> settings = settings(kind, PHASE_LATENCY, round, null);
        Map<String, Object> producerConfigs = new HashMap<>();
        producerConfigs.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, cluster.bootstrapServers());
        producerConfigs.put(ProducerConfig.CLIENT_ID_CONFIG, "bench-producer-latency");
        producerConfigs.put(ProducerConfig.ACKS_CONFIG, "1");
        producerConfigs.put(ProducerConfig.LINGER_MS_CONFIG, 0);
        producerConfigs.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, false);
        Stats.Samples samples = new Stats.Samples();
        try (Consumer<byte[], byte[]> consumer = kind.create(settings, options.heartbeatIntervalMs);
             KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(producerConfigs, new ByteArraySerializer(), new ByteArraySerializer())) {
            List<TopicPartition> partitions = partitions(TOPIC_LATENCY);
            consumer.assign(partitions);
            consumer.seekToEnd(partitions);
            for (TopicPartition partition : partitions) {
                consumer.position(partition, Duration.ofSeconds(30));
            }
            producer.partitionsFor(TOPIC_LATENCY); // metadata before the clock starts
            consumer.poll(Duration.ofMillis(100));

            long durationNanos = TimeUnit.SECONDS.toNanos(options.latencySeconds);
            long start = System.nanoTime();
            long warmupEnd = start + TimeUnit.SECONDS.toNanos(Math.min(1, options.latencySeconds - 1));
            AtomicLong sent = new AtomicLong();
            AtomicReference<Exception> producerError = new AtomicReference<>();
            Thread pacer = new Thread(() -> {
                try {
                    long i = 0;
                    while (true) {
                        long elapsed = System.nanoTime() - start;
                        if (elapsed >= durationNanos) {
                            break;
                        }
                        long due = elapsed * options.latencyRate / 1_000_000_000L;
                        while (i < due) {
                            byte[] value = new byte[100];
                            ByteBuffer.wrap(value).putLong(0, System.nanoTime());
                            producer.send(new ProducerRecord<>(TOPIC_LATENCY, (int) (i % PARTITIONS), null, value));
                            i++;
                        }
                        sent.set(i);
                        LockSupport.parkNanos(200_000);
                    }
                    sent.set(i);
                    producer.flush();
                } catch (Exception e) {
                    producerError.set(e);
                }
            }, "bench-producer-pacer");
            pacer.setDaemon(true);
            pacer.start();

            long received = 0;
            long endBy = start + durationNanos + TimeUnit.SECONDS.toNanos(10);
            while (System.nanoTime() < endBy) {
                ConsumerRecords<byte[], byte[]> records = consumer.poll(Duration.ofMillis(100));
                long now = System.nanoTime();
                for (ConsumerRecord<byte[], byte[]> record : records) {
                    long stamp = ByteBuffer.wrap(record.value()).getLong(0);
                    received++;
                    if (stamp >= warmupEnd) {
                        samples.add((now - stamp) / 1e6);
                    }
                }
                if (!pacer.isAlive() && received >= sent.get()) {
                    break;
                }
            }
            pacer.join(5_000);
            if (producerError.get() != null) {
                throw producerError.get();
            }
            if (received < sent.get()) {
                notes.add(String.format("round %d latency %s: received %d of %d records", round + 1, kind.key(), received, sent.get()));
            }
        }
        double[] latencies = samples.toArray();
        if (latencies.length == 0) {
            throw new IllegalStateException("no latency samples");
        }
        return Map.of("latency.p50_ms", Stats.percentile(latencies, 50), "latency.p99_ms", Stats.percentile(latencies, 99));
    }

    /**
     * commitSync latency of a caught-up group member: one record is produced, polled and committed at a time,
     * so every commit follows a poll that found the consumer at the end of the log, where a fetch may be
     * long-polling on the broker's connection.
     */
    private Map<String, Double> commit(ConsumerKind kind, int round) throws Exception {
        String groupId = groupId(kind, PHASE_COMMIT, round);
        Map<String, Object> settings = settings(kind, PHASE_COMMIT, round, groupId);
        settings.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "latest");
        Map<String, Object> producerConfigs = new HashMap<>();
        producerConfigs.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, cluster.bootstrapServers());
        producerConfigs.put(ProducerConfig.CLIENT_ID_CONFIG, "bench-producer-commit");
        producerConfigs.put(ProducerConfig.LINGER_MS_CONFIG, 0);
        Stats.Samples samples = new Stats.Samples();
        try (Consumer<byte[], byte[]> consumer = kind.create(settings, options.heartbeatIntervalMs);
             KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(producerConfigs, new ByteArraySerializer(), new ByteArraySerializer())) {
            consumer.subscribe(List.of(TOPIC_COMMIT));
            awaitAssignment(consumer, 1);
            consumer.position(new TopicPartition(TOPIC_COMMIT, 0), Duration.ofSeconds(30));
            for (int i = 0; i <= COMMIT_SAMPLES; i++) {
                producer.send(new ProducerRecord<>(TOPIC_COMMIT, 0, null, new byte[100])).get(30, TimeUnit.SECONDS);
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
                while (consumer.poll(Duration.ofMillis(100)).isEmpty()) {
                    if (System.nanoTime() > deadline) {
                        throw new IllegalStateException("record " + i + " not received within 30 s");
                    }
                }
                long t0 = System.nanoTime();
                consumer.commitSync(Duration.ofSeconds(30));
                if (i > 0) { // the first commit also looks up the coordinator
                    samples.add((System.nanoTime() - t0) / 1e6);
                }
            }
        }
        double[] times = samples.toArray();
        return Map.of("commit.p50_ms", Stats.percentile(times, 50), "commit.p99_ms", Stats.percentile(times, 99));
    }

    /** CPU of all the consumer's threads while it is subscribed, assigned and has nothing to read. */
    private Map<String, Double> idle(ConsumerKind kind, int round) {
        String groupId = groupId(kind, PHASE_IDLE, round);
        Map<String, Object> settings = settings(kind, PHASE_IDLE, round, groupId);
        ThreadCpu cpu = new ThreadCpu(Thread.currentThread(), clientId(kind, PHASE_IDLE, round), groupId);
        try (Consumer<byte[], byte[]> consumer = kind.create(settings, options.heartbeatIntervalMs)) {
            consumer.subscribe(List.of(TOPIC_IDLE));
            awaitAssignment(consumer, PARTITIONS);
            // Let positions resolve and the first fetches go out before measuring.
            long settle = System.nanoTime() + TimeUnit.SECONDS.toNanos(2);
            while (System.nanoTime() < settle) {
                consumer.poll(Duration.ofMillis(200));
            }
            Map<Long, Long> before = cpu.snapshot();
            long t0 = System.nanoTime();
            long end = t0 + TimeUnit.SECONDS.toNanos(options.idleSeconds);
            while (System.nanoTime() < end) {
                long left = (end - System.nanoTime()) / 1_000_000;
                consumer.poll(Duration.ofMillis(Math.max(1, Math.min(options.idlePollMs, left))));
            }
            long wall = System.nanoTime() - t0;
            long cpuNanos = ThreadCpu.between(before, cpu.snapshot());
            return Map.of("idle.cpu_ms_per_s", (cpuNanos / 1e6) / (wall / 1e9));
        }
    }

    private void awaitAssignment(Consumer<byte[], byte[]> consumer, int expected) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (consumer.assignment().size() < expected) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("no assignment within 60 s: " + consumer.assignment());
            }
            consumer.poll(Duration.ofMillis(100));
        }
    }

    /** poll(100 ms) return times of a subscribed consumer whose bootstrap address has nothing listening. */
    private Map<String, Double> unreachable(ConsumerKind kind, int round) throws Exception {
        String groupId = groupId(kind, PHASE_UNREACHABLE, round);
        Map<String, Object> settings = settings(kind, PHASE_UNREACHABLE, round, groupId);
        settings.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, "127.0.0.1:" + BrokerProcess.freePort());
        Stats.Samples samples = new Stats.Samples();
        Consumer<byte[], byte[]> consumer = kind.create(settings, options.heartbeatIntervalMs);
        try {
            consumer.subscribe(List.of("bench-unreachable"));
            for (int i = 0; i < options.unreachablePolls; i++) {
                long t0 = System.nanoTime();
                consumer.poll(Duration.ofMillis(100));
                samples.add((System.nanoTime() - t0) / 1e6);
            }
        } finally {
            closeQuietly(consumer, Duration.ofSeconds(1), kind, round, PHASE_UNREACHABLE);
        }
        double[] times = samples.toArray();
        return Map.of("unreachable.poll_p50_ms", Stats.percentile(times, 50),
                "unreachable.poll_p99_ms", Stats.percentile(times, 99),
                "unreachable.poll_max_ms", Stats.max(times));
    }

    /**
     * Gaps between heartbeat answers (seen as steps of the heartbeat-total metric, sampled every ms by
     * another thread) while the application processes slowly and calls commitAsync many times per poll.
     */
    private Map<String, Double> heartbeat(ConsumerKind kind, int round) throws Exception {
        String groupId = groupId(kind, PHASE_HEARTBEAT, round);
        Map<String, Object> settings = settings(kind, PHASE_HEARTBEAT, round, groupId);
        settings.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 100);
        AtomicReference<Metric> heartbeats = new AtomicReference<>();
        Stats.Samples answerTimes = new Stats.Samples();
        long refused = 0;
        double interval = options.heartbeatIntervalMs;
        double measureStartMs = Double.NaN;
        double measureEndMs = Double.NaN;
        Consumer<byte[], byte[]> consumer = kind.create(settings, options.heartbeatIntervalMs);
        Thread sampler = null;
        try {
            consumer.subscribe(List.of(options.heartbeatWorkload.topic()));
            awaitAssignment(consumer, PARTITIONS);
            Metric total = findMetric(consumer, "heartbeat-total");
            if (total == null) {
                throw new IllegalStateException("no heartbeat-total metric");
            }
            heartbeats.set(total);
            sampler = new Thread(() -> {
                double last = metricValue(heartbeats.get());
                while (!Thread.currentThread().isInterrupted()) {
                    double now = metricValue(heartbeats.get());
                    if (now != last) {
                        long at = System.nanoTime();
                        synchronized (answerTimes) {
                            answerTimes.add(at / 1e6);
                        }
                        last = now;
                    }
                    LockSupport.parkNanos(500_000);
                }
            }, "bench-heartbeat-sampler");
            sampler.setDaemon(true);
            sampler.start();

            AtomicLong commitErrors = new AtomicLong();
            measureStartMs = System.nanoTime() / 1e6;
            long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(options.heartbeatSeconds);
            while (System.nanoTime() < end) {
                if (consumer.poll(Duration.ofMillis(100)).isEmpty()) {
                    consumer.seekToBeginning(consumer.assignment()); // read through: keep the load on
                }
                Thread.sleep(options.slowProcessingMs);
                for (int i = 0; i < options.commitsPerPoll; i++) {
                    try {
                        consumer.commitAsync((offsets, e) -> {
                            if (e != null) {
                                commitErrors.incrementAndGet();
                            }
                        });
                    } catch (RuntimeException e) {
                        refused++;
                    }
                }
            }
            measureEndMs = System.nanoTime() / 1e6;
            if (kind == ConsumerKind.LANES) {
                Metric lanesInterval = findMetric(consumer, "heartbeat-interval-ms");
                if (lanesInterval != null) {
                    interval = metricValue(lanesInterval);
                }
            }
        } finally {
            if (sampler != null) {
                sampler.interrupt();
                sampler.join(1_000);
            }
            closeQuietly(consumer, Duration.ofSeconds(5), kind, round, PHASE_HEARTBEAT);
        }
        double[] times;
        synchronized (answerTimes) {
            times = answerTimes.toArray();
        }
        // A gap still open at the end (or no answer at all) is a lower bound of a real gap: it counts
        // when it is longer than every completed gap, so that a starved heartbeat is not hidden.
        Stats.Samples gapSamples = new Stats.Samples();
        double longest = 0;
        for (int i = 1; i < times.length; i++) {
            double gap = times[i] - times[i - 1];
            gapSamples.add(gap);
            longest = Math.max(longest, gap);
        }
        double openGap = measureEndMs - (times.length == 0 ? measureStartMs : times[times.length - 1]);
        if (openGap > longest) {
            gapSamples.add(openGap);
            if (times.length < 2) {
                notes.add(String.format("round %d heartbeat %s: %d heartbeat answer(s) in %d s; the gap is a lower bound",
                        round + 1, kind.key(), times.length, options.heartbeatSeconds));
            }
        }
        double[] gaps = gapSamples.toArray();
        Map<String, Double> result = new LinkedHashMap<>();
        result.put("heartbeat.interval_ms", interval);
        result.put("heartbeat.gap_p50_ms", Stats.percentile(gaps, 50));
        result.put("heartbeat.gap_p99_ms", Stats.percentile(gaps, 99));
        result.put("heartbeat.gap_max_ms", Stats.max(gaps));
        result.put("heartbeat.commits_refused", (double) refused);
        return result;
    }

    /**
     * Heap held by fetched data while a slow listener reads a large backlog: for Lanes the peak of its
     * fetch-buffer-bytes metric; for all three, heap retained after a full GC minus the baseline.
     */
    private Map<String, Double> heap(ConsumerKind kind, int round) throws Exception {
        MemoryMXBean memory = ManagementFactory.getMemoryMXBean();
        Map<String, Object> settings = settings(kind, PHASE_HEAP, round, null);
        System.gc();
        System.gc();
        long baseline = memory.getHeapMemoryUsage().getUsed();
        double retainedMax = 0;
        AtomicLong bufferMax = new AtomicLong(-1);
        Thread sampler = null;
        Consumer<byte[], byte[]> consumer = kind.create(settings, options.heartbeatIntervalMs);
        try {
            List<TopicPartition> partitions = partitions(TOPIC_1K);
            consumer.assign(partitions);
            consumer.seekToBeginning(partitions);
            Metric bufferBytes = findMetric(consumer, "fetch-buffer-bytes");
            if (bufferBytes != null) {
                sampler = new Thread(() -> {
                    while (!Thread.currentThread().isInterrupted()) {
                        long value = (long) metricValue(bufferBytes);
                        bufferMax.accumulateAndGet(value, Math::max);
                        LockSupport.parkNanos(5_000_000);
                    }
                }, "bench-heap-sampler");
                sampler.setDaemon(true);
                sampler.start();
            }
            long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(options.heapSeconds);
            long nextGc = System.nanoTime() + TimeUnit.SECONDS.toNanos(1);
            while (System.nanoTime() < end) {
                ConsumerRecords<byte[], byte[]> records = consumer.poll(Duration.ofMillis(100));
                if (!records.isEmpty()) {
                    Thread.sleep(HEAP_PROCESSING_MS);
                }
                records = null;
                if (System.nanoTime() >= nextGc) {
                    System.gc();
                    retainedMax = Math.max(retainedMax, (memory.getHeapMemoryUsage().getUsed() - baseline) / MB);
                    nextGc = System.nanoTime() + TimeUnit.SECONDS.toNanos(1);
                }
            }
        } finally {
            if (sampler != null) {
                sampler.interrupt();
                sampler.join(1_000);
            }
            closeQuietly(consumer, Duration.ofSeconds(5), kind, round, PHASE_HEAP);
        }
        Map<String, Double> result = new LinkedHashMap<>();
        result.put("heap.fetch_buffer_max_mb", bufferMax.get() < 0 ? Double.NaN : bufferMax.get() / MB);
        result.put("heap.retained_max_mb", retainedMax);
        return result;
    }

    // ------------------------------------------------------------------ buffer sweep

    /**
     * One round of the sweep, Lanes only: for each workload, number of consumers in this JVM and bound of
     * lanes.fetch.buffer.max.bytes (the bounds in an order that changes from round to round), the
     * consumers' total throughput over the workload's partitions, split between them as a group would,
     * then the heap they retain while a slow listener leaves each of them a backlog larger than the bound.
     * For the heap, every consumer reads the whole topic: a group's share of a compressed data set can be
     * smaller than the bound, and a buffer that never fills would understate the heap. A rate measured while
     * the hypervisor's steal passed the limit is measured again, as a throughput round is (DisturbedRounds).
     */
    private void bufferSweep(int round) {
        for (Workload workload : options.workloadsToRun()) {
            for (int consumers : options.sweepConsumers) {
                for (int boundMib : RoundOrder.of(options.bufferBoundsMib, round)) {
                    if (round == 0 && consumers == options.sweepConsumers.get(0)) {
                        noteShortBacklog(workload, boundMib);
                    }
                    String what = String.format(Locale.ROOT, "%s %s x%d %d MiB", PHASE_BUFFER_SWEEP, workload.name(), consumers, boundMib);
                    String measurement = String.format(Locale.ROOT, "%s x%d %d MiB round %d", workload.name(), consumers,
                            boundMib, round + 1);
                    Map<String, Double> measured = guarded(what, ConsumerKind.LANES, round, () -> {
                        Map<String, Double> result = sweepThroughput(workload, consumers, boundMib, round);
                        for (int attempt = 0; disturbedRounds.measureAgain(measurement, result, attempt); attempt++) {
                            log("  %-22s steal over %.0f%%: rate measured again", what, disturbedRounds.maxStealPercent());
                            result = sweepThroughput(workload, consumers, boundMib, round);
                        }
                        result = new LinkedHashMap<>(result);
                        result.putAll(sweepHeap(workload, consumers, boundMib, round));
                        return result;
                    });
                    if (measured != null) {
                        results.addSweep(new ResultTables.SweepKey(workload.name(), consumers, boundMib), measured);
                    }
                }
            }
        }
    }

    /** The heap figure means "at a full buffer" only if the topic (each consumer's backlog) exceeds the bound. */
    private void noteShortBacklog(Workload workload, int boundMib) {
        long backlog = topicBytes.getOrDefault(workload.topic(), 0L);
        if (backlog < boundMib * 1024L * 1024L) {
            notes.add(String.format(Locale.ROOT, "buffer-sweep %s at %d MiB: the backlog is %.1f MB on the broker, under "
                    + "the bound, so the heap is not measured at a full buffer", workload.name(), boundMib, backlog / MB));
        }
    }

    /** The workload's partitions dealt round-robin to {@code consumers}, nearly evenly, as a group would spread them. */
    private static List<List<TopicPartition>> shares(String topic, int consumers) {
        List<List<TopicPartition>> shares = new ArrayList<>();
        for (int i = 0; i < consumers; i++) {
            shares.add(new ArrayList<>());
        }
        for (int p = 0; p < PARTITIONS; p++) {
            shares.get(p % consumers).add(new TopicPartition(topic, p));
        }
        return shares;
    }

    /** Lanes consumers with the bound, assigned their share of the topic or, with {@code shared} false, all of it. */
    private List<Consumer<byte[], byte[]>> sweepConsumers(Workload workload, int consumers, int boundMib, int round,
                                                          String step, boolean shared) {
        List<List<TopicPartition>> shares = shared ? shares(workload.topic(), consumers)
                : Collections.nCopies(consumers, partitions(workload.topic()));
        List<Consumer<byte[], byte[]>> created = new ArrayList<>();
        for (int i = 0; i < consumers; i++) {
            String phase = String.format(Locale.ROOT, "sweep-%s-%s-%dm-%d", step, workload.name(), boundMib, i);
            Map<String, Object> settings = settings(ConsumerKind.LANES, phase, round, null);
            settings.put(LanesConsumerConfig.FETCH_BUFFER_MAX_BYTES_CONFIG, boundMib * 1024L * 1024L);
            Consumer<byte[], byte[]> consumer = ConsumerKind.LANES.create(settings, options.heartbeatIntervalMs);
            created.add(consumer);
            consumer.assign(shares.get(i));
            consumer.seekToBeginning(shares.get(i));
        }
        return created;
    }

    /** Records/s of all the consumers together, from a common start until the last one has read its share of a round. */
    private Map<String, Double> sweepThroughput(Workload workload, int consumers, int boundMib, int round) throws Exception {
        System.gc();
        List<Consumer<byte[], byte[]>> created = sweepConsumers(workload, consumers, boundMib, round, "rate", true);
        try {
            List<List<TopicPartition>> shares = shares(workload.topic(), consumers);
            CountDownLatch start = new CountDownLatch(1);
            AtomicLong total = new AtomicLong();
            AtomicReference<Exception> error = new AtomicReference<>();
            List<Thread> threads = new ArrayList<>();
            List<RecordGaps> gapsByConsumer = new CopyOnWriteArrayList<>();
            for (int i = 0; i < consumers; i++) {
                Consumer<byte[], byte[]> consumer = created.get(i);
                List<TopicPartition> share = shares.get(i);
                long perPass = share.stream().mapToLong(tp -> workload.recordsIn(tp.partition(), PARTITIONS)).sum();
                long wanted = (long) Math.ceil((double) workload.recordsPerRound() * perPass / workload.datasetRecords());
                Thread thread = new Thread(() -> {
                    try {
                        start.await();
                        RecordGaps gaps = new RecordGaps(System.nanoTime(), wanted);
                        gapsByConsumer.add(gaps);
                        total.addAndGet(consume(consumer, share, perPass, wanted, gaps)[0]);
                    } catch (Exception e) {
                        error.compareAndSet(null, e);
                    }
                }, "bench-sweep-poller-" + i);
                thread.start();
                threads.add(thread);
            }
            MeasuredSpan span = MeasuredSpan.start(processCpu);
            start.countDown();
            for (Thread thread : threads) {
                thread.join();
            }
            MeasuredSpan.Figures figures = span.stop();
            if (error.get() != null) {
                throw error.get();
            }
            Map<String, Double> result = new LinkedHashMap<>();
            result.put(ResultTables.RECORDS_PER_S, total.get() / figures.seconds());
            gapsByConsumer.stream().max(Comparator.comparingDouble(RecordGaps::longestMillis)).ifPresent(longest -> {
                result.put(ResultTables.LONGEST_WAIT_MS, longest.longestMillis());
                result.put(ResultTables.LONGEST_WAIT_AT_PERCENT, longest.longestAtPercent());
            });
            figures.addTo(result, total.get());
            return result;
        } finally {
            for (Consumer<byte[], byte[]> consumer : created) {
                closeQuietly(consumer, Duration.ofSeconds(5), ConsumerKind.LANES, round, PHASE_BUFFER_SWEEP);
            }
        }
    }

    /**
     * Heap retained after a full GC, minus the baseline before the consumers were created, at most over
     * the samples taken each second once the buffers had two seconds to fill, while each consumer reads
     * the whole topic and its listener sleeps after every poll; and the sum of the consumers'
     * fetch-buffer-bytes-peak.
     */
    private Map<String, Double> sweepHeap(Workload workload, int consumers, int boundMib, int round) throws Exception {
        MemoryMXBean memory = ManagementFactory.getMemoryMXBean();
        System.gc();
        System.gc();
        long baseline = memory.getHeapMemoryUsage().getUsed();
        List<Consumer<byte[], byte[]>> created = sweepConsumers(workload, consumers, boundMib, round, "heap", false);
        List<Thread> threads = new ArrayList<>();
        AtomicBoolean listening = new AtomicBoolean(true);
        double retainedMax = 0;
        double bufferPeak = 0;
        try {
            for (int i = 0; i < consumers; i++) {
                Consumer<byte[], byte[]> consumer = created.get(i);
                Thread thread = new Thread(() -> {
                    while (listening.get()) {
                        if (!consumer.poll(Duration.ofMillis(100)).isEmpty()) {
                            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(HEAP_PROCESSING_MS));
                        }
                    }
                }, "bench-sweep-listener-" + i);
                thread.start();
                threads.add(thread);
            }
            long settle = System.nanoTime() + TimeUnit.SECONDS.toNanos(2);
            long end = settle + TimeUnit.SECONDS.toNanos(Math.max(1, options.heapSeconds - 2));
            Thread.sleep(TimeUnit.NANOSECONDS.toMillis(settle - System.nanoTime()));
            while (System.nanoTime() < end) {
                System.gc();
                retainedMax = Math.max(retainedMax, (memory.getHeapMemoryUsage().getUsed() - baseline) / MB);
                Thread.sleep(1_000);
            }
        } finally {
            listening.set(false);
            for (Thread thread : threads) {
                thread.join(5_000);
            }
            for (Consumer<byte[], byte[]> consumer : created) {
                Metric peak = findMetric(consumer, "fetch-buffer-bytes-peak");
                if (peak != null) {
                    bufferPeak += metricValue(peak) / MB;
                }
                closeQuietly(consumer, Duration.ofSeconds(5), ConsumerKind.LANES, round, PHASE_BUFFER_SWEEP);
            }
        }
        return Map.of(ResultTables.RETAINED_MB, retainedMax, ResultTables.BUFFER_PEAK_MB, bufferPeak);
    }

    /** Closes within the timeout; a failing close (pending commits timing out) is noted, not fatal. */
    private void closeQuietly(Consumer<byte[], byte[]> consumer, Duration timeout, ConsumerKind kind, int round, String phase) {
        try {
            consumer.close(CloseOptions.timeout(timeout));
        } catch (RuntimeException e) {
            notes.add(String.format("round %d %s %s: close failed: %s%s", round + 1, phase, kind.key(), e,
                    e.getCause() == null ? "" : " (" + e.getCause() + ")"));
        }
    }

    private static Metric findMetric(Consumer<byte[], byte[]> consumer, String name) {
        for (Map.Entry<MetricName, ? extends Metric> entry : consumer.metrics().entrySet()) {
            MetricName metricName = entry.getKey();
            if (metricName.name().equals(name) && (metricName.group().equals("lanes-consumer-metrics")
                    || metricName.group().equals("consumer-coordinator-metrics"))) {
                return entry.getValue();
            }
        }
        return null;
    }

    private static double metricValue(Metric metric) {
        Object value = metric.metricValue();
        return value instanceof Number number ? number.doubleValue() : Double.NaN;
    }

    // ------------------------------------------------------------------ output

    /** Medians of the phases other than throughput and buffer-sweep, one row per metric; null when none ran. */
    String table() {
        List<ConsumerKind> kinds = options.consumers;
        boolean hasClassic = kinds.contains(ConsumerKind.CLASSIC);
        List<String> header = new ArrayList<>(List.of("Metric", "Unit"));
        for (ConsumerKind kind : kinds) {
            header.add(kind.label());
        }
        if (hasClassic) {
            for (ConsumerKind kind : kinds) {
                if (kind != ConsumerKind.CLASSIC) {
                    header.add(kind.label() + "/Classic");
                }
            }
        }
        MarkdownTable table = new MarkdownTable(2, header);
        for (MetricDef metric : METRICS) {
            Map<ConsumerKind, List<Double>> byKind = values.get(metric.key());
            if (byKind.values().stream().allMatch(List::isEmpty)) {
                continue;
            }
            List<String> row = new ArrayList<>(List.of(metric.label(), metric.unit()));
            for (ConsumerKind kind : kinds) {
                row.add(format(Stats.median(byKind.get(kind))));
            }
            if (hasClassic) {
                double classic = Stats.median(byKind.get(ConsumerKind.CLASSIC));
                for (ConsumerKind kind : kinds) {
                    if (kind != ConsumerKind.CLASSIC) {
                        row.add(ResultTables.ratio(Stats.median(byKind.get(kind)), classic));
                    }
                }
            }
            table.row(row);
        }
        return table.isEmpty() ? null : table.render();
    }

    /** Every phase's table, each under a heading, then the notes: what the output file ends in .md holds. */
    String markdown() {
        StringBuilder out = new StringBuilder();
        out.append(String.format(Locale.ROOT, "Medians of %d round(s) after %d warm-up round(s); %s; %s%n", options.rounds,
                options.warmupRounds, machine(), brokersDescribed()));
        MarkdownTable throughput = results.throughputTable(options.workloadsToRun(), options.consumers);
        if (!throughput.isEmpty()) {
            out.append("\n### Throughput and CPU per record by workload\n\n");
            for (Workload workload : options.workloadsToRun()) {
                out.append(String.format(Locale.ROOT, "- `%s`: %s, %,d records per round, %,d in the topic%n",
                        workload.name(), workload.describe(), workload.recordsPerRound(), workload.datasetRecords()));
            }
            out.append("\nCPU is per million records: \"app\" is the polling thread, \"consumer\" all the consumer's threads. "
                    + "\"round s\" is the median length of a measured round. Spread is the farthest round from the median; in bold when over ±"
                    + (int) ResultTables.SPREAD_LIMIT_PERCENT + "%. IQR spread is the same for the middle half of the rounds "
                    + "(with five rounds, the second lowest and second highest), which one disturbed round does not move.\n\n");
            out.append(throughput.render());
            MarkdownTable machineCpu = results.machineCpuTable(options.workloadsToRun(), options.consumers);
            if (!machineCpu.isEmpty()) {
                out.append("\nWhere the machine's CPU went in the same rounds, per million records: the benchmark JVM "
                        + "(the consumer's threads, its garbage collector and JIT compiler) and the broker's process; "
                        + "\"cores busy\" is both together per second of the round, out of ")
                        .append(Runtime.getRuntime().availableProcessors())
                        .append(". Steal is the share of the machine's CPU time the hypervisor gave to other guests, iowait the share "
                                + "spent waiting for the disk (a topic read from disk, not the page cache), and \"other processes\" "
                                + "the CPU of everything else on this machine, and \"JIT compiling\" the time this JVM's JIT compiler "
                                + "threads spent compiling per second of the round (part of the JVM's CPU), each the largest over "
                                + "the row's rounds.\n\n").append(machineCpu.render());
            }
            List<String> noisy = results.noisyThroughput();
            if (!noisy.isEmpty()) {
                out.append("\nSpread over ±").append((int) ResultTables.SPREAD_LIMIT_PERCENT)
                        .append("% (not trustworthy, rerun on a quiet machine): ").append(String.join(", ", noisy)).append('\n');
            }
        }
        String phases = table();
        if (phases != null) {
            out.append("\n### Latency, idle, unreachable broker, heartbeats, heap and commits\n\n").append(phases);
        }
        MarkdownTable sweep = results.sweepTable();
        if (!sweep.isEmpty()) {
            out.append("\n### Lanes against lanes.fetch.buffer.max.bytes\n\n")
                    .append("Throughput of the consumers together, sharing the partitions. Heap retained after a full GC "
                            + "while each consumer has the whole topic as backlog and a listener sleeping ").append(HEAP_PROCESSING_MS)
                    .append(" ms per poll, peak over the samples; fetch buffer peak summed over the consumers; the largest "
                            + "steal (the hypervisor's share of the machine's CPU time given to other guests) and iowait (the share "
                            + "spent waiting for the disk) over the rounds of the rate measurement.\n\n")
                    .append(sweep.render());
        }
        // Throughput rounds and sweep rates alike (see DisturbedRounds).
        if (!disturbedRounds.repeated().isEmpty()) {
            out.append(String.format(Locale.ROOT, "%nMeasured again because the hypervisor's steal passed %.0f%% of the "
                            + "machine's CPU time (%d): %s%n", disturbedRounds.maxStealPercent(),
                    disturbedRounds.repeated().size(), String.join(", ", disturbedRounds.repeated())));
        }
        if (!disturbedRounds.keptDisturbed().isEmpty()) {
            out.append(String.format(Locale.ROOT, "%nKept although disturbed, after %d repeats: %s%n",
                    DisturbedRounds.MAX_REPEATS, String.join(", ", disturbedRounds.keptDisturbed())));
        }
        if (!notes.isEmpty()) {
            out.append('\n');
            for (String note : notes) {
                out.append("- note: ").append(note).append('\n');
            }
        }
        return out.toString();
    }

    static String format(double value) {
        return ResultTables.format(value);
    }

    /** How many brokers served the run: the partitions' leaders are spread over them. */
    private String brokersDescribed() {
        return options.brokers == 1 ? "one broker"
                : options.brokers + " brokers, the " + PARTITIONS + " partitions of each topic spread over them";
    }

    private static String machine() {
        Runtime runtime = Runtime.getRuntime();
        return String.format(Locale.ROOT, "%d CPUs, %s %s, Java %s, max heap %d MB", runtime.availableProcessors(),
                System.getProperty("os.name"), System.getProperty("os.arch"), System.getProperty("java.version"),
                runtime.maxMemory() / (1024 * 1024));
    }

    private void writeJson(Path output, Instant started, String markdown) throws Exception {
        Map<String, Object> root = new LinkedHashMap<>();
        root.put("started", started.toString());
        root.put("finished", Instant.now().toString());
        root.put("machine", machine());
        root.put("brokers", options.brokers);
        Map<String, Object> opts = new LinkedHashMap<>();
        opts.put("rounds", options.rounds);
        opts.put("warmupRounds", options.warmupRounds);
        opts.put("records", options.records);
        opts.put("workloads", options.workloadsToRun());
        opts.put("bufferBoundsMib", options.bufferBoundsMib);
        opts.put("sweepConsumers", options.sweepConsumers);
        opts.put("quick", options.quick);
        opts.put("latencyRate", options.latencyRate);
        opts.put("latencySeconds", options.latencySeconds);
        opts.put("idleSeconds", options.idleSeconds);
        opts.put("idlePollMs", options.idlePollMs);
        opts.put("unreachablePolls", options.unreachablePolls);
        opts.put("heartbeatSeconds", options.heartbeatSeconds);
        opts.put("heartbeatIntervalMs", options.heartbeatIntervalMs);
        opts.put("commitsPerPoll", options.commitsPerPoll);
        opts.put("slowProcessingMs", options.slowProcessingMs);
        opts.put("heartbeatWorkload", options.heartbeatWorkload.name());
        opts.put("heapSeconds", options.heapSeconds);
        opts.put("heapProcessingMs", HEAP_PROCESSING_MS);
        opts.put("consumers", options.consumers.stream().map(ConsumerKind::key).toList());
        opts.put("phases", options.phases);
        root.put("options", opts);
        root.put("brokerSettings", brokerSettings);
        List<Map<String, Object>> metrics = new ArrayList<>();
        for (MetricDef metric : METRICS) {
            Map<ConsumerKind, List<Double>> byKind = values.get(metric.key());
            Map<String, Object> entry = new LinkedHashMap<>();
            entry.put("key", metric.key());
            entry.put("label", metric.label());
            entry.put("unit", metric.unit());
            entry.put("better", metric.higherIsBetter() ? "higher" : "lower");
            if (metric.note() != null) {
                entry.put("note", metric.note());
            }
            Map<String, Object> perRound = new LinkedHashMap<>();
            Map<String, Object> medians = new LinkedHashMap<>();
            Map<String, Object> ratios = new LinkedHashMap<>();
            double classic = byKind.containsKey(ConsumerKind.CLASSIC) ? Stats.median(byKind.get(ConsumerKind.CLASSIC)) : Double.NaN;
            for (Map.Entry<ConsumerKind, List<Double>> kindValues : byKind.entrySet()) {
                String key = kindValues.getKey().key();
                perRound.put(key, kindValues.getValue().stream().map(ConsumerBenchmark::jsonNumber).toList());
                double median = Stats.median(kindValues.getValue());
                medians.put(key, jsonNumber(median));
                ratios.put(key, jsonNumber(median / classic));
            }
            entry.put("values", perRound);
            entry.put("median", medians);
            entry.put("ratioToClassic", ratios);
            metrics.add(entry);
        }
        root.put("metrics", metrics);
        Map<String, Object> throughput = new LinkedHashMap<>();
        results.throughputValues().forEach((workload, byKind) -> {
            Map<String, Object> perKind = new LinkedHashMap<>();
            byKind.forEach((kind, byKey) -> perKind.put(kind.key(), byKey));
            throughput.put(workload, perKind);
        });
        root.put("throughput", throughput);
        List<Map<String, Object>> sweep = new ArrayList<>();
        results.sweepValues().forEach((key, byName) -> {
            Map<String, Object> entry = new LinkedHashMap<>();
            entry.put("workload", key.workload());
            entry.put("consumers", key.consumers());
            entry.put("boundMib", key.boundMib());
            entry.put("values", byName);
            sweep.add(entry);
        });
        root.put("bufferSweep", sweep);
        root.put("topicBytes", topicBytes);
        root.put("notes", notes);
        root.put("repeatedForSteal", disturbedRounds.repeated());
        root.put("keptDisturbed", disturbedRounds.keptDisturbed());
        root.put("markdown", markdown);
        Files.createDirectories(output.toAbsolutePath().getParent());
        new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValue(output.toFile(), root);
    }

    private static Object jsonNumber(Double value) {
        return value == null || value.isNaN() || value.isInfinite() ? null : value;
    }

    /** target/benchmark-results.json of this module (next to the jar or the classes directory). */
    private Path outputPath() {
        if (options.output != null) {
            return options.output;
        }
        try {
            Path location = Path.of(ConsumerBenchmark.class.getProtectionDomain().getCodeSource().getLocation().toURI());
            Path target = location.getParent();
            if (target != null && target.getFileName() != null && target.getFileName().toString().equals("target")) {
                return target.resolve("benchmark-results.json");
            }
        } catch (URISyntaxException | RuntimeException ignored) {
            // fall through
        }
        return Path.of("target", "benchmark-results.json");
    }

    /** The Markdown file next to the JSON one: the same name, ending in .md. */
    static Path markdownPath(Path output) {
        String name = output.getFileName().toString();
        String base = name.endsWith(".json") ? name.substring(0, name.length() - ".json".length()) : name;
        return output.resolveSibling(base + ".md");
    }

    private static String brief(Map<String, Double> measured) {
        StringBuilder out = new StringBuilder();
        measured.forEach((key, value) -> out.append(key.substring(key.indexOf('.') + 1)).append('=').append(format(value)).append(' '));
        return out.toString().trim();
    }

    private static void log(String format, Object... args) {
        System.out.printf(Locale.ROOT, "[%tT] %s%n", System.currentTimeMillis(), String.format(Locale.ROOT, format, args));
        System.out.flush();
    }
}
