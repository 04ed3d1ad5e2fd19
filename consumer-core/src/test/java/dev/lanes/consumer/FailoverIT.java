package dev.lanes.consumer;

import dev.lanes.consumer.testing.ConsumerImplementation;
import dev.lanes.consumer.testing.KafkaCluster;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.assertj.core.api.SoftAssertions;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.time.Duration;
import java.time.LocalTime;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.IntStream;
import java.util.stream.Stream;

import static dev.lanes.consumer.testing.TestConsumers.consumerConfig;
import static dev.lanes.consumer.testing.TestConsumers.sleep;
import static dev.lanes.consumer.testing.TestConsumers.waitUntil;

/**
 * Failover figures on a three-broker cluster (a topic of 6 partitions, replication factor 3,
 * {@code min.insync.replicas=2}) for Lanes and for KafkaConsumer, same scenario, same assertions. A producer
 * writes about 2,000 records/s ({@code acks=all}, idempotent) and books the offset of every acknowledged send;
 * one group member polls, books every record it processes and calls {@code commitSync} after every non-empty
 * poll ({@code enable.auto.commit=false}). Scenarios, each on a fresh topic and group:
 * <ul>
 *   <li>{@link Scenario#LEADER_KILL}: SIGKILL of the broker leading the most partitions of the topic, ~10 s down,
 *       restart, wait until in sync, preferred leaders elected again;</li>
 *   <li>{@link Scenario#COORDINATOR_KILL}: the same with the broker hosting the group's coordinator;</li>
 *   <li>{@link Scenario#ROLLING_RESTART}: each broker in turn stopped (controlled shutdown), restarted, in sync,
 *       preferred leaders elected.</li>
 * </ul>
 * Then the producer stops and the member drains. Asserted: no acknowledged record lost; no record processed
 * twice unless one of its processings was in a batch whose {@code commitSync} threw (those are counted as
 * excused and printed); Lanes resumes no later than KafkaConsumer did in the same scenario plus 3 s (loose:
 * the machines are shared and a run is one sample).
 *
 * <p>Resume time of a fault (a kill or a stop): for each partition whose leader it moved (every partition for
 * the coordinator kill), the time from the fault to the first processing of a record sent after the fault; the
 * maximum over those partitions, and over the faults of the scenario. Records sent before the fault do not count:
 * the member may hold some it fetched before the fault and hand them out at once, which would hide the stall
 * behind them. The producer's resume time (from the fault to the first acknowledgement of a record sent after it)
 * is printed beside it: as every replica set holds every broker, a kill stalls {@code acks=all} writes, and the
 * high watermark, of every partition until the controller fences the broker (~3 s), and the group's commits with
 * them. The same figures after each preferred leader election (leaders moving back) are printed, not asserted;
 * so are the commitSync calls of {@value #SLOW_COMMIT_MS} ms or more: the member processes nothing meanwhile.
 *
 * <p>One line per run (scenario, implementation) and the whole table at the end go to the test output
 * ({@code target/failsafe-reports/dev.lanes.consumer.FailoverIT-output.txt}). JUnit tag {@code soak}: runs only
 * with {@code mvn verify -Psoak -Dit.test=FailoverIT} (4 to 5 minutes), never in the time-budgeted
 * {@code mvn verify}.
 */
@Tag("soak")
class FailoverIT {

    private static final int PARTITIONS = 6;
    private static final int REPLICATION_FACTOR = 3;
    private static final int RECORDS_PER_SECOND = 2_000;
    private static final int VALUE_SIZE = 100;
    private static final Duration POLL_TIMEOUT = Duration.ofMillis(100);
    // Longer than a coordinator move (~3 s fencing, then a lookup): a commit that times out is a figure, not a goal.
    private static final Duration COMMIT_TIMEOUT = Duration.ofSeconds(15);
    private static final Duration CLOSE_TIMEOUT = Duration.ofSeconds(10);
    private static final Duration START_TIMEOUT = Duration.ofSeconds(60);
    private static final Duration STEADY_BEFORE_FAULT = Duration.ofSeconds(3);
    private static final Duration DOWN_TIME = Duration.ofSeconds(10);
    // Production after the last election, before the producer stops: records to measure the election's resume time by.
    private static final Duration STEADY_AFTER_RECOVERY = Duration.ofSeconds(3);
    private static final Duration IN_SYNC_TIMEOUT = Duration.ofSeconds(60);
    private static final Duration DRAIN_TIMEOUT = Duration.ofSeconds(60);
    private static final long RESUME_SLACK_MS = 3_000;
    // commitSync calls at least this long are listed with their start: they hold up every partition.
    private static final long SLOW_COMMIT_MS = 500;
    private static final String HEADER = String.format("%-17s %-15s %8s %9s %5s %8s %8s %9s %9s %9s %10s %7s %7s %7s %6s",
            "scenario", "implementation", "produced", "processed", "lost", "dup-exc", "dup-not", "resume-ms",
            "prod-ms", "elect-ms", "commit-max", "commit!", "poll!", "send!", "lostcb");

    private static final Map<Scenario, Figures> KAFKA_CONSUMER_FIGURES = new EnumMap<>(Scenario.class);
    private static final List<String> TABLE = new ArrayList<>();
    private static KafkaCluster cluster;

    enum Scenario { LEADER_KILL, COORDINATOR_KILL, ROLLING_RESTART }

    @BeforeAll
    static void startCluster() {
        cluster = KafkaCluster.start();
    }

    @AfterAll
    static void stopCluster() {
        System.out.println("FailoverIT figures. Times in ms; dup-exc/dup-not: records processed twice, excused (a batch whose "
                + "commitSync threw) or not; prod-ms: the producer's resume time; elect-ms: the member's after the preferred "
                + "leader elections; commit-max: the longest commitSync; commit!/poll!/send!: failed commitSync/poll/send calls; "
                + "lostcb: onPartitionsLost calls");
        System.out.println(HEADER);
        TABLE.forEach(System.out::println);
        if (cluster != null) {
            cluster.close();
        }
    }

    /** KafkaConsumer first in each scenario: Lanes' run compares its resume time with KafkaConsumer's. */
    static Stream<Arguments> runs() {
        return Stream.of(Scenario.values()).flatMap(scenario -> Stream.of(
                Arguments.of(scenario, ConsumerImplementation.KAFKA_CONSUMER),
                Arguments.of(scenario, ConsumerImplementation.LANES)));
    }

    @ParameterizedTest(name = "{0}, {1}")
    @MethodSource("runs")
    void everyRecordIsProcessedOnceThroughTheFailover(Scenario scenario, ConsumerImplementation implementation) {
        String topic = "failover-" + scenario.name().toLowerCase().replace('_', '-') + "-" + implementation.id();
        String group = topic + "-group";
        cluster.waitForInSync(IN_SYNC_TIMEOUT);
        cluster.createTopic(topic, PARTITIONS, REPLICATION_FACTOR);
        Figures figures;
        try {
            figures = run(scenario, implementation, topic, group);
        } finally {
            restoreCluster(topic);
        }
        String line = figures.line();
        TABLE.add(line);
        System.out.println(HEADER);
        System.out.println(line);
        figures.details.forEach(System.out::println);
        if (implementation == ConsumerImplementation.KAFKA_CONSUMER) {
            KAFKA_CONSUMER_FIGURES.put(scenario, figures);
        }

        SoftAssertions softly = new SoftAssertions();
        softly.assertThat(figures.memberFailure).as("the member thread's failure\n" + line).isNull();
        softly.assertThat(figures.lost).as("acknowledged records never processed\n" + line).isZero();
        softly.assertThat(figures.duplicatesNotExcused)
                .as("records processed twice, none of whose batches' commitSync threw\n" + line).isZero();
        Figures kafkaConsumer = KAFKA_CONSUMER_FIGURES.get(scenario);
        if (implementation == ConsumerImplementation.LANES && kafkaConsumer != null) {
            // The member's own share of the resume: how long after the producer's first acknowledged record it was
            // processed. The producer's stall (the dead broker's fencing, a loaded machine) is the cluster's, and
            // differs between the two runs.
            long bound = kafkaConsumer.resumeMs == Long.MAX_VALUE ? Long.MAX_VALUE
                    : memberShare(kafkaConsumer) + RESUME_SLACK_MS;
            softly.assertThat(memberShare(figures))
                    .as("Lanes' share of the resume vs KafkaConsumer's (%s ms) + %d ms\n%s", show(memberShare(kafkaConsumer)),
                            RESUME_SLACK_MS, line)
                    .isLessThanOrEqualTo(bound);
        }
        softly.assertAll();
    }

    private static Figures run(Scenario scenario, ConsumerImplementation implementation, String topic, String group) {
        Ledger ledger = new Ledger();
        List<Event> events = new ArrayList<>();
        boolean drained;
        Member member = new Member(implementation, topic, group, ledger);
        try (member; Producer producer = new Producer(topic, ledger)) {
            member.start();
            producer.start();
            waitUntil(START_TIMEOUT, () -> member.assigned.size() == PARTITIONS && ledger.partitionsProcessed() == PARTITIONS,
                    "the member owns and processes every partition");
            sleep(STEADY_BEFORE_FAULT.toMillis());

            switch (scenario) {
                case LEADER_KILL -> {
                    Map<Integer, Integer> leaders = leaders(topic);
                    int broker = mostLeaderships(leaders);
                    killAndRecover(topic, broker, partitionsLedBy(leaders, broker), events);
                }
                case COORDINATOR_KILL -> {
                    int broker = cluster.coordinator(group);
                    if (broker < 0) {
                        throw new IllegalStateException("No coordinator for " + group);
                    }
                    // The member stalls on its commits, hence on every partition, until the coordinator has moved.
                    killAndRecover(topic, broker, allPartitions(), events);
                }
                case ROLLING_RESTART -> {
                    for (int broker : cluster.brokerIds()) {
                        Set<Integer> moved = partitionsLedBy(leaders(topic), broker);
                        events.add(new Event("stop broker " + broker, true, moved));
                        cluster.stop(broker);
                        cluster.restart(broker);
                        electPreferredLeaders(topic, events);
                    }
                }
            }
            sleep(STEADY_AFTER_RECOVERY.toMillis());
            producer.close();
            drained = drain(ledger);
        }
        return new Figures(scenario, implementation, ledger, member, events, drained);
    }

    private static void killAndRecover(String topic, int broker, Set<Integer> moved, List<Event> events) {
        events.add(new Event("kill broker " + broker, true, moved));
        cluster.kill(broker);
        sleep(DOWN_TIME.toMillis());
        cluster.restart(broker);
        electPreferredLeaders(topic, events);
    }

    /** Waits until the restarted broker is in sync, moves the leaderships back to it and books that as an event. */
    private static void electPreferredLeaders(String topic, List<Event> events) {
        cluster.waitForInSync(IN_SYNC_TIMEOUT);
        Map<Integer, Integer> before = leaders(topic);
        long atNanos = System.nanoTime();
        LocalTime atTime = LocalTime.now();
        cluster.electPreferredLeaders();
        Map<Integer, Integer> after = leaders(topic);
        Set<Integer> moved = new TreeSet<>();
        before.forEach((partition, leader) -> {
            if (!leader.equals(after.get(partition))) {
                moved.add(partition);
            }
        });
        if (!moved.isEmpty()) {
            events.add(new Event("preferred leaders", false, atNanos, atTime, moved));
        }
    }

    /** Waits (bounded) until every acknowledged record has been processed; false if some never were. */
    private static boolean drain(Ledger ledger) {
        long deadline = System.nanoTime() + DRAIN_TIMEOUT.toNanos();
        while (System.nanoTime() < deadline) {
            if (ledger.unprocessed() == 0) {
                return true;
            }
            sleep(200);
        }
        return false;
    }

    /** Whatever a run left behind: a broker down (if it failed halfway), leaders off their preferred replicas, its topic. */
    private static void restoreCluster(String topic) {
        try {
            for (int broker : cluster.brokerIds()) {
                if (!cluster.isRunning(broker)) {
                    cluster.restart(broker);
                }
            }
            cluster.waitForInSync(IN_SYNC_TIMEOUT);
            cluster.electPreferredLeaders();
            // Fewer logs for the next runs' restarts to recover and replicate.
            cluster.admin().deleteTopics(List.of(topic)).all().get(30, TimeUnit.SECONDS);
        } catch (Exception e) {
            // The next run's waitForInSync fails plainly if the cluster is still broken; this run's own failure matters more.
            System.out.println("FailoverIT: could not restore the cluster after " + topic + ": " + e);
        }
    }

    private static Map<Integer, Integer> leaders(String topic) {
        Map<Integer, Integer> leaders = new TreeMap<>();
        for (int partition = 0; partition < PARTITIONS; partition++) {
            leaders.put(partition, cluster.leader(new TopicPartition(topic, partition)));
        }
        return leaders;
    }

    /** The broker leading the most partitions; the lowest id among equals. */
    private static int mostLeaderships(Map<Integer, Integer> leaders) {
        Comparator<Integer> byLeaderships = Comparator.comparingInt(broker -> partitionsLedBy(leaders, broker).size());
        return cluster.brokerIds().stream().max(byLeaderships.thenComparing(Comparator.reverseOrder())).orElseThrow();
    }

    private static Set<Integer> partitionsLedBy(Map<Integer, Integer> leaders, int broker) {
        Set<Integer> partitions = new TreeSet<>();
        leaders.forEach((partition, leader) -> {
            if (leader == broker) {
                partitions.add(partition);
            }
        });
        return partitions;
    }

    private static Set<Integer> allPartitions() {
        return new TreeSet<>(IntStream.range(0, PARTITIONS).boxed().toList());
    }

    private static long millis(long nanos) {
        return TimeUnit.NANOSECONDS.toMillis(nanos);
    }

    /** Nanoseconds as milliseconds, {@code Long.MAX_VALUE} (never) kept as it is. */
    private static long millisOrNever(long nanos) {
        return nanos == Long.MAX_VALUE ? Long.MAX_VALUE : millis(nanos);
    }

    private static String show(long millis) {
        return millis == Long.MAX_VALUE ? "never" : String.valueOf(millis);
    }

    /** A fault (kill, stop) or a preferred leader election, when it began, and the partitions whose leader it moved. */
    private record Event(String what, boolean fault, long atNanos, LocalTime atTime, Set<Integer> moved) {
        /** An event beginning now. */
        Event(String what, boolean fault, Set<Integer> moved) {
            this(what, fault, System.nanoTime(), LocalTime.now(), moved);
        }
    }

    /**
     * What was acknowledged (and when it was sent) and what was processed, per partition and offset. The producer's
     * callbacks and the member's thread write; the test thread reads while draining, and reads everything after both
     * have stopped.
     */
    private static final class Ledger {
        final List<Map<Long, Long>> sentNanos = perPartition();
        final List<Map<Long, Long>> ackedNanos = perPartition();
        final List<Map<Long, Long>> firstProcessedNanos = perPartition();
        final List<Map<Long, Integer>> timesProcessed = perPartition();
        // Offsets of records in a batch whose commitSync threw: processing them again is at-least-once, excused.
        final List<Set<Long>> uncommitted = IntStream.range(0, PARTITIONS)
                .<Set<Long>>mapToObj(partition -> ConcurrentHashMap.newKeySet()).toList();
        final AtomicInteger sendFailures = new AtomicInteger();
        final AtomicInteger processings = new AtomicInteger();

        private static <V> List<Map<Long, V>> perPartition() {
            return IntStream.range(0, PARTITIONS).<Map<Long, V>>mapToObj(partition -> new ConcurrentHashMap<>()).toList();
        }

        void acked(int partition, long offset, long sentAtNanos) {
            sentNanos.get(partition).put(offset, sentAtNanos);
            ackedNanos.get(partition).put(offset, System.nanoTime());
        }

        void processed(int partition, long offset, long nanos) {
            firstProcessedNanos.get(partition).putIfAbsent(offset, nanos);
            timesProcessed.get(partition).merge(offset, 1, Integer::sum);
            processings.incrementAndGet();
        }

        int partitionsProcessed() {
            return (int) timesProcessed.stream().filter(offsets -> !offsets.isEmpty()).count();
        }

        long unprocessed() {
            long count = 0;
            for (int partition = 0; partition < PARTITIONS; partition++) {
                Map<Long, Integer> processed = timesProcessed.get(partition);
                count += ackedNanos.get(partition).keySet().stream().filter(offset -> !processed.containsKey(offset)).count();
            }
            return count;
        }

        /**
         * The time from {@code atNanos} to the first processing of a record of the partition sent after it;
         * {@code Long.MAX_VALUE} if there is none. With {@code processed} false, to the first acknowledgement of
         * such a record instead: the producer's resume time.
         */
        long resumeNanos(int partition, long atNanos, boolean processed) {
            Map<Long, Long> times = processed ? firstProcessedNanos.get(partition) : ackedNanos.get(partition);
            long first = Long.MAX_VALUE;
            for (Map.Entry<Long, Long> sent : sentNanos.get(partition).entrySet()) {
                Long when = times.get(sent.getKey());
                if (sent.getValue() > atNanos && when != null) {
                    first = Math.min(first, when);
                }
            }
            return first == Long.MAX_VALUE ? Long.MAX_VALUE : first - atNanos;
        }
    }

    /** The figures of one run, computed once the producer and the member have stopped. */
    /** The resume time past the producer's own; the whole resume time if the producer's is unknown. */
    private static long memberShare(Figures figures) {
        if (figures.resumeMs == Long.MAX_VALUE || figures.producerResumeMs == Long.MAX_VALUE || figures.producerResumeMs < 0) {
            return figures.resumeMs;
        }
        return Math.max(0, figures.resumeMs - figures.producerResumeMs);
    }

    private static final class Figures {
        final Scenario scenario;
        final ConsumerImplementation implementation;
        final long produced;
        final long processed;
        final int processings;
        final long lost;
        final long unexpected;
        final long duplicatesExcused;
        final long duplicatesNotExcused;
        final long resumeMs;
        final long producerResumeMs;
        final long electionResumeMs;
        final long longestCommitMs;
        final int commitFailures;
        final Map<String, Integer> commitFailuresByType;
        final int pollErrors;
        final int sendFailures;
        final int lostCallbacks;
        final boolean drained;
        final Throwable memberFailure;
        final List<String> details = new ArrayList<>();

        Figures(Scenario scenario, ConsumerImplementation implementation, Ledger ledger, Member member, List<Event> events,
                boolean drained) {
            this.scenario = scenario;
            this.implementation = implementation;
            this.drained = drained;
            long produced = 0;
            long processed = 0;
            long lost = 0;
            long unexpected = 0;
            long excused = 0;
            long notExcused = 0;
            for (int partition = 0; partition < PARTITIONS; partition++) {
                Map<Long, Long> acked = ledger.ackedNanos.get(partition);
                Map<Long, Integer> times = ledger.timesProcessed.get(partition);
                Set<Long> uncommitted = ledger.uncommitted.get(partition);
                produced += acked.size();
                processed += times.size();
                lost += acked.keySet().stream().filter(offset -> !times.containsKey(offset)).count();
                // Sends that failed (if any) may still have been written; processing them is not a fault of the member.
                unexpected += times.keySet().stream().filter(offset -> !acked.containsKey(offset)).count();
                for (Map.Entry<Long, Integer> entry : times.entrySet()) {
                    if (entry.getValue() > 1) {
                        if (uncommitted.contains(entry.getKey())) {
                            excused++;
                        } else {
                            notExcused++;
                            if (notExcused <= 10) {
                                details.add(String.format("  duplicate not excused: partition %d offset %d processed %d times",
                                        partition, entry.getKey(), entry.getValue()));
                            }
                        }
                    }
                }
            }
            this.produced = produced;
            this.processed = processed;
            this.processings = ledger.processings.get();
            this.lost = lost;
            this.unexpected = unexpected;
            this.duplicatesExcused = excused;
            this.duplicatesNotExcused = notExcused;

            long resume = 0;
            long producerResume = 0;
            long electionResume = 0;
            for (Event event : events) {
                long eventResume = 0;
                long eventProducerResume = 0;
                StringBuilder perPartition = new StringBuilder();
                for (int partition : event.moved) {
                    long consumer = ledger.resumeNanos(partition, event.atNanos, true);
                    long producer = ledger.resumeNanos(partition, event.atNanos, false);
                    eventResume = Math.max(eventResume, consumer);
                    eventProducerResume = Math.max(eventProducerResume, producer);
                    perPartition.append(String.format(" p%d %s/%s", partition, show(millisOrNever(consumer)),
                            show(millisOrNever(producer))));
                }
                details.add(String.format("  %s: %s at %s, moved partitions %s, resume %s ms (producer %s ms); "
                                + "per partition member/producer ms:%s", scenario, event.what, event.atTime, event.moved,
                        show(millisOrNever(eventResume)), show(millisOrNever(eventProducerResume)), perPartition));
                if (event.fault) {
                    resume = Math.max(resume, eventResume);
                    producerResume = Math.max(producerResume, eventProducerResume);
                } else {
                    electionResume = Math.max(electionResume, eventResume);
                }
            }
            this.resumeMs = millisOrNever(resume);
            this.producerResumeMs = millisOrNever(producerResume);
            this.electionResumeMs = millisOrNever(electionResume);
            this.longestCommitMs = millis(member.longestCommitNanos.get());
            this.commitFailuresByType = new TreeMap<>(member.commitFailures);
            this.commitFailures = commitFailuresByType.values().stream().mapToInt(Integer::intValue).sum();
            this.pollErrors = member.pollErrors.get();
            this.sendFailures = ledger.sendFailures.get();
            this.lostCallbacks = member.lostCallbacks.get();
            this.memberFailure = member.failure.get();
            details.add(String.format("  %s, %s: %d processings, %d processed records never acknowledged, drained %s, "
                            + "commit failures %s, poll errors %s", scenario, implementation, processings, unexpected, drained,
                    commitFailuresByType, member.pollErrorTypes));
            if (!member.slowCommits.isEmpty()) {
                details.add(String.format("  %s, %s: commitSync calls over %d ms (start, ms): %s", scenario, implementation,
                        SLOW_COMMIT_MS, member.slowCommits));
            }
        }

        String line() {
            return String.format("%-17s %-15s %8d %9d %5d %8d %8d %9s %9s %9s %10d %7d %7d %7d %6d", scenario,
                    implementation, produced, processed, lost, duplicatesExcused, duplicatesNotExcused, show(resumeMs),
                    show(producerResumeMs), show(electionResumeMs), longestCommitMs, commitFailures, pollErrors,
                    sendFailures, lostCallbacks);
        }
    }

    /** The group member on its own thread: poll, book each record, commitSync after every non-empty poll. */
    private static final class Member implements ConsumerRebalanceListener, AutoCloseable {
        final Set<TopicPartition> assigned = ConcurrentHashMap.newKeySet();
        final Map<String, Integer> commitFailures = new ConcurrentHashMap<>();
        final List<String> pollErrorTypes = new CopyOnWriteArrayList<>();
        final AtomicInteger pollErrors = new AtomicInteger();
        final AtomicInteger lostCallbacks = new AtomicInteger();
        final AtomicLong longestCommitNanos = new AtomicLong();
        final List<String> slowCommits = new CopyOnWriteArrayList<>();
        final AtomicReference<Throwable> failure = new AtomicReference<>();
        private final AtomicBoolean running = new AtomicBoolean(true);
        private final Thread thread;

        Member(ConsumerImplementation implementation, String topic, String group, Ledger ledger) {
            Map<String, Object> config = consumerConfig(cluster.bootstrapServers(), group, topic + "-member");
            config.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
            this.thread = new Thread(() -> {
                Consumer<byte[], byte[]> consumer = null;
                try {
                    consumer = implementation.create(config);
                    consumer.subscribe(List.of(topic), this);
                    while (running.get()) {
                        ConsumerRecords<byte[], byte[]> records;
                        try {
                            records = consumer.poll(POLL_TIMEOUT);
                        } catch (RuntimeException e) {
                            // Counted and printed; a member that keeps going is what an application would want.
                            pollErrors.incrementAndGet();
                            if (pollErrorTypes.size() < 10) {
                                pollErrorTypes.add(e.toString());
                            }
                            sleep(POLL_TIMEOUT.toMillis());
                            continue;
                        }
                        if (records.isEmpty()) {
                            continue;
                        }
                        long now = System.nanoTime();
                        for (ConsumerRecord<byte[], byte[]> record : records) {
                            ledger.processed(record.partition(), record.offset(), now);
                        }
                        long commitStart = System.nanoTime();
                        LocalTime commitStartTime = LocalTime.now();
                        try {
                            consumer.commitSync(COMMIT_TIMEOUT);
                        } catch (RuntimeException e) {
                            commitFailures.merge(e.getClass().getSimpleName(), 1, Integer::sum);
                            for (ConsumerRecord<byte[], byte[]> record : records) {
                                ledger.uncommitted.get(record.partition()).add(record.offset());
                            }
                        } finally {
                            long commitNanos = System.nanoTime() - commitStart;
                            longestCommitNanos.accumulateAndGet(commitNanos, Math::max);
                            if (millis(commitNanos) >= SLOW_COMMIT_MS) {
                                slowCommits.add(commitStartTime + " " + millis(commitNanos));
                            }
                        }
                    }
                } catch (Throwable t) {
                    failure.set(t);
                } finally {
                    closeQuietly(consumer);
                }
            }, topic + "-member");
        }

        private void closeQuietly(Consumer<byte[], byte[]> consumer) {
            if (consumer == null) {
                return;
            }
            try {
                consumer.close(CLOSE_TIMEOUT);
            } catch (RuntimeException e) {
                failure.compareAndSet(null, e);
            }
        }

        void start() {
            thread.start();
        }

        @Override
        public void close() {
            running.set(false);
            try {
                thread.join(CLOSE_TIMEOUT.toMillis() + COMMIT_TIMEOUT.toMillis() + 5_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(e);
            }
            if (thread.isAlive()) {
                failure.compareAndSet(null, new AssertionError("the member did not stop within "
                        + (CLOSE_TIMEOUT.toMillis() + COMMIT_TIMEOUT.toMillis() + 5_000) + " ms"));
            }
        }

        @Override
        public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
            assigned.removeAll(partitions);
        }

        @Override
        public void onPartitionsAssigned(Collection<TopicPartition> partitions) {
            assigned.addAll(partitions);
        }

        @Override
        public void onPartitionsLost(Collection<TopicPartition> partitions) {
            lostCallbacks.incrementAndGet();
            assigned.removeAll(partitions);
        }
    }

    /** Sends about {@link #RECORDS_PER_SECOND} records a second, round robin over the partitions, on its own thread. */
    private static final class Producer implements AutoCloseable {
        private final AtomicBoolean running = new AtomicBoolean(true);
        private final KafkaProducer<byte[], byte[]> producer =
                cluster.newProducer(Map.of(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true, ProducerConfig.LINGER_MS_CONFIG, 5));
        private final Thread thread;
        private boolean closed;

        Producer(String topic, Ledger ledger) {
            byte[] value = new byte[VALUE_SIZE];
            this.thread = new Thread(() -> {
                long start = System.nanoTime();
                long sent = 0;
                while (running.get()) {
                    // Paced by the clock: a send held up (metadata, a full buffer) is caught up afterwards.
                    long due = millis(System.nanoTime() - start) * RECORDS_PER_SECOND / 1000;
                    while (sent < due && running.get()) {
                        int partition = (int) (sent++ % PARTITIONS);
                        long sentAtNanos = System.nanoTime();
                        try {
                            producer.send(new ProducerRecord<>(topic, partition, null, value), (metadata, error) -> {
                                if (error == null) {
                                    ledger.acked(metadata.partition(), metadata.offset(), sentAtNanos);
                                } else {
                                    ledger.sendFailures.incrementAndGet();
                                }
                            });
                        } catch (RuntimeException e) {
                            ledger.sendFailures.incrementAndGet();
                        }
                    }
                    sleep(5);
                }
            }, topic + "-producer");
        }

        void start() {
            thread.start();
        }

        /** Stops sending and waits for every outstanding send's callback. */
        @Override
        public void close() {
            if (closed) {
                return;
            }
            closed = true;
            running.set(false);
            try {
                thread.join(30_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(e);
            }
            producer.flush();
            producer.close(Duration.ofSeconds(30));
        }
    }
}
