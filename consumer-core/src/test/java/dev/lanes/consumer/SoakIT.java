package dev.lanes.consumer;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.LocalTime;
import java.util.ArrayList;
import java.util.Collection;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BooleanSupplier;
import java.util.function.Function;
import java.util.stream.Collectors;

import dev.lanes.consumer.internals.background.NetworkThread;
import dev.lanes.consumer.testing.KafkaBroker;
import dev.lanes.consumer.testing.KafkaBrokerExtension;
import dev.lanes.consumer.testing.ProcessResources;
import dev.lanes.consumer.testing.TcpProxy;
import org.apache.kafka.clients.admin.AlterConfigOp;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.consumer.CloseOptions;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.LongDeserializer;
import org.assertj.core.api.SoftAssertions;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Issue 7, soak: a group of three {@link LanesConsumer}s consumes a topic that a producer writes to
 * without pause, for minutes, while random faults hit it: members restarted (closed and replaced by a
 * new consumer, gracefully or with a zero close timeout), a member's network cut (shorter than the
 * session timeout, or longer so that it is fenced and must rejoin; stalled, refused or black-holed),
 * and the broker restarted (once a minute). Runs only with {@code mvn verify -Psoak} (JUnit tag {@code soak}).
 *
 * <p>Each member reaches the broker through its own {@link TcpProxy}, so a cut hits one member. The
 * members commit in three styles: {@code commitSync} after each batch, {@code commitAsync} after each
 * batch (and {@code commitSync} when partitions are revoked), and auto-commit. Every record carries a
 * unique sequence number as its key; the test books every acknowledged send and every processing, and
 * whether the commit covering it is known to have succeeded.
 *
 * <p>Checked, after production stopped and the group drained: every acknowledged record was processed
 * at least once (lost = 0); a record is processed again only if an earlier processing was not covered by
 * a commit known to have succeeded; after a commit covering a record succeeded, only a member just cut
 * off from the group (a zombie: fenced without knowing it yet, see {@link Member#inDoubt()}) processes
 * it again, and those processings are counted; the group's committed offsets never go backwards; at
 * most one background thread per member at any time and none after close; no member socket open after
 * close; thread and file descriptor counts at the end within a small margin of what they were after
 * warm-up.
 *
 * <p>System properties: {@code soak.duration} (ISO-8601, default {@code PT5M}: how long faults are
 * injected), {@code soak.seed} (default random; printed, and the same seed replays the same sequence of
 * fault choices, though not the same thread timing), {@code soak.rate} (records per second, default
 * 1000), {@code soak.summary} (default {@code target/soak-summary.txt}).
 */
@Tag("soak")
class SoakIT {

    private static final String TOPIC = "soak";
    private static final String GROUP = "soak-group";
    private static final int PARTITIONS = 6;
    private static final int SESSION_TIMEOUT_MS = 3_000;
    private static final Duration POLL_TIMEOUT = Duration.ofMillis(200);
    private static final Duration COMMIT_TIMEOUT = Duration.ofSeconds(2);
    private static final Duration GRACEFUL_CLOSE_TIMEOUT = Duration.ofSeconds(5);
    private static final Duration DRAIN_TIMEOUT = Duration.ofMinutes(2);
    private static final Duration BROKER_RESTART_EVERY = Duration.ofSeconds(60);
    private static final Duration IN_DOUBT_AFTER_CUT = Duration.ofSeconds(5);
    // Broker threads and descriptors move a little with its own housekeeping; a leak grows without bound.
    private static final int THREAD_MARGIN = 10;
    private static final int FD_MARGIN = 20;

    @RegisterExtension
    static final KafkaBrokerExtension BROKER = new KafkaBrokerExtension(KafkaBroker.builder().behindProxies(CommitStyle.values().length));

    private final long startNanos = System.nanoTime();

    @Test
    void threeMembersLoseNothingAndLeakNothingThroughRestartsCutsAndBrokerRestarts() throws Exception {
        Settings settings = Settings.fromSystemProperties();
        log("seed %d (replay with -Dsoak.seed=%d), faults for %s, %d records/s", settings.seed, settings.seed,
                settings.duration, settings.recordsPerSecond);
        KafkaBroker broker = BROKER.broker();
        broker.createTopic(TOPIC, PARTITIONS);
        broker.admin().incrementalAlterConfigs(Map.of(new ConfigResource(ConfigResource.Type.GROUP, GROUP),
                        List.of(new AlterConfigOp(new ConfigEntry("consumer.session.timeout.ms", String.valueOf(SESSION_TIMEOUT_MS)),
                                AlterConfigOp.OpType.SET))))
                .all().get(10, TimeUnit.SECONDS);

        SoakLedger ledger = new SoakLedger();
        Problems problems = new Problems();
        List<Member> members = new ArrayList<>();
        for (CommitStyle style : CommitStyle.values()) {
            members.add(new Member(style.ordinal(), style, broker.proxy(style.ordinal()), ledger, problems));
        }
        Set<Integer> proxyPorts = members.stream().map(m -> m.proxy.port()).collect(Collectors.toSet());
        Sampler sampler = new Sampler(proxyPorts, members.size(), problems);
        CommittedOffsetsWatch committedOffsets = new CommittedOffsetsWatch(broker);
        Producer producer = new Producer(broker, settings.recordsPerSecond, ledger);
        ScheduledExecutorService restorer = Executors.newSingleThreadScheduledExecutor(r -> daemon(r, "soak-restorer"));
        Faults faults = new Faults();
        Summary summary = new Summary(settings);
        try {
            sampler.start();
            committedOffsets.start();
            producer.start();
            members.forEach(Member::start);

            assertThat(waitUntil(Duration.ofSeconds(60), () -> members.stream().allMatch(Member::hasPartitions)
                    && ledger.distinctProcessed() >= settings.recordsPerSecond))
                    .as("every member has partitions and records flow: %s", members).isTrue();
            sleep(5_000);
            summary.baseline = sampler.sample();
            log("warmed up: %s", summary.baseline);

            injectFaults(settings, broker, members, restorer, faults, ledger, sampler);

            restorer.shutdownNow();
            members.forEach(Member::reconnect);
            if (!waitUntil(Duration.ofSeconds(30), () -> members.stream().noneMatch(Member::isRestarting))) {
                problems.add("member restarts still pending 30 s after the last fault: " + members);
            }
            long productionStopped = System.nanoTime();
            producer.finish();
            log("production stopped: %d sent, %d acknowledged; draining", producer.sent(), ledger.acknowledged());
            if (!waitUntil(DRAIN_TIMEOUT, () -> ledger.missing() == 0)) {
                problems.add("not drained after " + DRAIN_TIMEOUT + ": " + ledger.missing() + " acknowledged records not processed, "
                        + "for example " + ledger.missingSample() + "; " + members);
            }
            summary.drainMillis = (System.nanoTime() - productionStopped) / 1_000_000;
            sleep(3_000); // a late redelivery would show up now
            summary.end = sampler.sample();
        } finally {
            restorer.shutdownNow();
            members.forEach(Member::reconnect);
            members.forEach(Member::finish);
            producer.finish();
            producer.close();
        }
        // Both should be gone as close returns; a little time only for the sockets' FIN handshake.
        waitUntil(Duration.ofSeconds(10), () -> ProcessResources.threadsNamed(NetworkThread.THREAD_NAME_PREFIX).isEmpty()
                && (!ProcessResources.canCountSockets() || ProcessResources.socketsConnectedTo(proxyPorts) == 0));
        summary.afterClose = sampler.sample();
        sampler.stop();
        committedOffsets.stop();

        summary.fill(ledger, producer, faults, members, sampler, problems);
        String text = summary.text();
        System.out.println(text);
        Files.createDirectories(settings.summaryFile.toAbsolutePath().getParent());
        Files.writeString(settings.summaryFile, text, StandardCharsets.UTF_8);

        SoftAssertions softly = new SoftAssertions();
        softly.assertThat(ledger.lost()).as("acknowledged records never processed (lost)").isZero();
        softly.assertThat(ledger.unexplainedDuplicates()).as("records processed again although every earlier processing "
                + "was covered by a commit known to have succeeded").isZero();
        softly.assertThat(ledger.afterConfirmedCommit()).as("processings of a record after a commit covering it had "
                + "succeeded, by a member not cut off: %s", ledger.afterConfirmedCommitSamples()).isZero();
        softly.assertThat(committedOffsets.regressions).as("committed offsets that went backwards").isEmpty();
        softly.assertThat(ledger.neverSent()).as("processed sequence numbers that were never sent").isZero();
        softly.assertThat(producer.failures()).as("producer send failures").isZero();
        softly.assertThat(problems.list).as("problems seen while running").isEmpty();
        softly.assertThat(members.stream().mapToLong(m -> m.asyncCommitsIssued.get() - m.asyncCommitsCompleted.get()).sum())
                .as("commitAsync callbacks never run").isZero();
        softly.assertThat(sampler.maxNetworkThreads).as("background threads at any time while running")
                .isLessThanOrEqualTo(members.size());
        softly.assertThat(summary.afterClose.networkThreads).as("background threads after close").isZero();
        if (ProcessResources.canCountSockets()) {
            // One connection per member (R6), two for a moment while a restarted member's new consumer connects.
            softly.assertThat(sampler.maxMemberSockets).as("member sockets at any time while running")
                    .isLessThanOrEqualTo(2 * members.size());
            softly.assertThat(summary.afterClose.memberSockets).as("member sockets after close").isZero();
        }
        softly.assertThat(summary.end.threads).as("threads at the end against after warm-up (%d)", summary.baseline.threads)
                .isLessThanOrEqualTo(summary.baseline.threads + THREAD_MARGIN);
        softly.assertThat(summary.end.fds).as("open file descriptors at the end against after warm-up (%d)", summary.baseline.fds)
                .isLessThanOrEqualTo(summary.baseline.fds + FD_MARGIN);
        softly.assertThat(summary.afterClose.fds).as("open file descriptors after close against after warm-up (%d)", summary.baseline.fds)
                .isLessThanOrEqualTo(summary.baseline.fds + FD_MARGIN);
        softly.assertThat(members.stream().mapToLong(m -> m.slowestGracefulCloseMs.get()).max().orElse(0))
                .as("slowest close(%s) in ms", GRACEFUL_CLOSE_TIMEOUT)
                .isLessThanOrEqualTo(GRACEFUL_CLOSE_TIMEOUT.toMillis() + 1_000);
        softly.assertAll();
    }

    // ------------------------------------------------------------------ faults

    private void injectFaults(Settings settings, KafkaBroker broker, List<Member> members, ScheduledExecutorService restorer,
                              Faults faults, SoakLedger ledger, Sampler sampler) {
        Random random = new Random(settings.seed);
        long start = System.nanoTime();
        long end = start + settings.duration.toNanos();
        long nextBrokerRestart = start + BROKER_RESTART_EVERY.toNanos();
        long nextProgress = start + TimeUnit.SECONDS.toNanos(30);
        while (true) {
            long gapMs = 2_000 + random.nextInt(4_000);
            long remainingMs = (end - System.nanoTime()) / 1_000_000;
            if (remainingMs <= gapMs) {
                sleep(Math.max(0, remainingMs));
                return;
            }
            sleep(gapMs);
            if (System.nanoTime() > nextProgress) {
                nextProgress += TimeUnit.SECONDS.toNanos(30);
                log("progress: acknowledged %d, processed %d (distinct %d, not yet %d), faults %s, %s", ledger.acknowledged(),
                        ledger.processings(), ledger.distinctProcessed(), ledger.missing(), faults, sampler.sample());
            }
            if (System.nanoTime() >= nextBrokerRestart) {
                nextBrokerRestart += BROKER_RESTART_EVERY.toNanos();
                Duration downtime = Duration.ofMillis(random.nextInt(3_000));
                faults.count(FaultKind.BROKER_RESTART);
                log("fault %d: %s, down for %d ms", faults.total(), FaultKind.BROKER_RESTART.label, downtime.toMillis());
                log("broker back after %d ms", broker.restart(downtime).toMillis());
                continue;
            }
            FaultKind kind = FaultKind.pick(random);
            boolean cut = kind == FaultKind.SHORT_CUT || kind == FaultKind.LONG_CUT;
            List<Member> eligible = members.stream().filter(m -> cut ? !m.cut.get() : !m.isRestarting()).toList();
            if (eligible.isEmpty()) {
                continue;
            }
            Member member = eligible.get(random.nextInt(eligible.size()));
            if (cut) {
                TcpProxy.Cut how = random.nextBoolean() ? TcpProxy.Cut.STALL
                        : random.nextBoolean() ? TcpProxy.Cut.REFUSE : TcpProxy.Cut.BLACKHOLE;
                long cutMs = kind == FaultKind.SHORT_CUT ? 300 + random.nextInt(SESSION_TIMEOUT_MS - 1_000)
                        : SESSION_TIMEOUT_MS + 1_000 + random.nextInt(5_000);
                faults.count(kind);
                faults.countCut(how);
                member.cutOff(how);
                restorer.schedule(member::reconnect, cutMs, TimeUnit.MILLISECONDS);
                log("fault %d: %s of member %d, %s for %d ms", faults.total(), kind.label, member.index, how, cutMs);
            } else {
                member.requestRestart(kind == FaultKind.MEMBER_KILL ? Duration.ZERO : GRACEFUL_CLOSE_TIMEOUT);
                faults.count(kind);
                log("fault %d: %s of member %d", faults.total(), kind.label, member.index);
            }
        }
    }

    enum FaultKind {
        MEMBER_RESTART("member-restart", "member restart (close, new consumer)", 25),
        MEMBER_KILL("member-kill", "member killed (close with a zero timeout, new consumer)", 15),
        SHORT_CUT("cut-short", "network cut shorter than the session timeout", 30),
        LONG_CUT("cut-long", "network cut longer than the session timeout (fenced)", 30),
        /** Not drawn at random: one every {@link #BROKER_RESTART_EVERY}. */
        BROKER_RESTART("broker-restart", "broker restart", 0);

        final String key;
        final String label;
        final int weight;

        FaultKind(String key, String label, int weight) {
            this.key = key;
            this.label = label;
            this.weight = weight;
        }

        static FaultKind pick(Random random) {
            int total = 0;
            for (FaultKind kind : values()) {
                total += kind.weight;
            }
            int roll = random.nextInt(total);
            for (FaultKind kind : values()) {
                roll -= kind.weight;
                if (roll < 0) {
                    return kind;
                }
            }
            throw new AssertionError();
        }
    }

    /** Faults injected, by kind, and cuts by how they cut. Counted on the injecting thread, read at the end. */
    static final class Faults {
        final Map<FaultKind, Integer> byKind = new EnumMap<>(FaultKind.class);
        final Map<TcpProxy.Cut, Integer> byCut = new EnumMap<>(TcpProxy.Cut.class);

        synchronized void count(FaultKind kind) {
            byKind.merge(kind, 1, Integer::sum);
        }

        synchronized void countCut(TcpProxy.Cut how) {
            byCut.merge(how, 1, Integer::sum);
        }

        synchronized int total() {
            return byKind.values().stream().mapToInt(Integer::intValue).sum();
        }

        @Override
        public synchronized String toString() {
            return total() + ": " + List.of(FaultKind.values()).stream()
                    .map(kind -> kind.key + "=" + byKind.getOrDefault(kind, 0)).collect(Collectors.joining(" "))
                    + " (cuts: " + List.of(TcpProxy.Cut.values()).stream()
                    .map(how -> how + "=" + byCut.getOrDefault(how, 0)).collect(Collectors.joining(" ")) + ")";
        }
    }

    // ------------------------------------------------------------------ members

    /** How a member commits what it processed. */
    enum CommitStyle {
        SYNC("commitSync after each batch"),
        ASYNC("commitAsync after each batch, commitSync on revocation"),
        AUTO("auto-commit");

        final String description;

        CommitStyle(String description) {
            this.description = description;
        }
    }

    /**
     * One member slot: a thread that runs one consumer after another in the group. A restart request
     * closes the current consumer (on this thread, as consumers are confined to theirs) and starts a new one.
     */
    private static final class Member {
        final int index;
        final CommitStyle style;
        final TcpProxy proxy;
        final SoakLedger ledger;
        final Problems problems;
        final Thread thread;
        final AtomicBoolean cut = new AtomicBoolean();
        // From the start of a cut until a while after it ends: the member may have been fenced without knowing it.
        private volatile long inDoubtUntilNanos = Long.MIN_VALUE;
        final AtomicReference<Duration> restartRequest = new AtomicReference<>();
        final AtomicBoolean restarting = new AtomicBoolean();
        final AtomicLong asyncCommitsIssued = new AtomicLong();
        final AtomicLong asyncCommitsCompleted = new AtomicLong();
        final AtomicLong slowestGracefulCloseMs = new AtomicLong();
        final AtomicLong slowestKillCloseMs = new AtomicLong();
        final AtomicLong slowestThreadEndAfterKillMs = new AtomicLong();
        final Map<String, AtomicInteger> callbacks = new ConcurrentHashMap<>();
        volatile LanesConsumer<Long, byte[]> consumer;
        volatile boolean finishing;
        int incarnations;

        Member(int index, CommitStyle style, TcpProxy proxy, SoakLedger ledger, Problems problems) {
            this.index = index;
            this.style = style;
            this.proxy = proxy;
            this.ledger = ledger;
            this.problems = problems;
            this.thread = daemon(this::run, "soak-member-" + index);
        }

        void start() {
            thread.start();
        }

        boolean hasPartitions() {
            LanesConsumer<Long, byte[]> current = consumer;
            return current != null && !current.assignmentSnapshot().isEmpty();
        }

        boolean isRestarting() {
            return restarting.get();
        }

        void cutOff(TcpProxy.Cut how) {
            cut.set(true);
            inDoubtUntilNanos = Long.MAX_VALUE;
            proxy.cut(how);
        }

        void reconnect() {
            proxy.restore();
            inDoubtUntilNanos = System.nanoTime() + IN_DOUBT_AFTER_CUT.toNanos();
            cut.set(false);
        }

        /**
         * Whether the member may be a zombie: a member cut off longer than the session timeout is fenced,
         * and its partitions go to others, but it learns so only from a heartbeat response after the cut.
         * Until then it returns records from poll (already buffered, or fetched as the network comes
         * back) that the new owner may have processed and committed. Kafka's consumers do the same: a
         * broker does not check group membership on Fetch.
         */
        boolean inDoubt() {
            return System.nanoTime() < inDoubtUntilNanos;
        }

        /** Asks the member to close its consumer with {@code closeTimeout} and start a new one. Not while one is pending. */
        void requestRestart(Duration closeTimeout) {
            restarting.set(true);
            restartRequest.set(closeTimeout);
        }

        void finish() {
            finishing = true;
            try {
                thread.join(TimeUnit.SECONDS.toMillis(30));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            if (thread.isAlive()) {
                problems.add("member " + index + " did not finish within 30 s");
            }
        }

        private void run() {
            try {
                while (!finishing) {
                    runConsumer(++incarnations);
                }
            } catch (Throwable t) {
                problems.add("member " + index + " died: " + t);
                throw t;
            }
        }

        private void runConsumer(int incarnation) {
            LanesConsumer<Long, byte[]> current = new LanesConsumer<>(config(incarnation), new LongDeserializer(), new ByteArrayDeserializer());
            consumer = current;
            restarting.set(false);
            Duration closeTimeout = GRACEFUL_CLOSE_TIMEOUT;
            try {
                current.subscribe(List.of(TOPIC), new Listener(current));
                while (!finishing) {
                    Duration requested = restartRequest.getAndSet(null);
                    if (requested != null) {
                        closeTimeout = requested;
                        break;
                    }
                    pollAndProcess(current);
                }
            } catch (RuntimeException e) {
                problems.add("member " + index + " consumer " + current.clientId() + " failed: " + e);
            } finally {
                close(current, closeTimeout);
            }
        }

        private Map<String, Object> config(int incarnation) {
            Map<String, Object> config = new HashMap<>();
            config.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, proxy.address());
            config.put(ConsumerConfig.GROUP_ID_CONFIG, GROUP);
            config.put(ConsumerConfig.CLIENT_ID_CONFIG, "soak-m" + index + "-" + incarnation);
            config.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
            config.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 500);
            config.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, style == CommitStyle.AUTO);
            config.put(ConsumerConfig.AUTO_COMMIT_INTERVAL_MS_CONFIG, 1_000);
            return config;
        }

        private void pollAndProcess(LanesConsumer<Long, byte[]> current) {
            ConsumerRecords<Long, byte[]> records;
            try {
                records = current.poll(POLL_TIMEOUT);
            } catch (RuntimeException e) {
                problems.add("member " + index + ": poll threw " + e);
                sleep(100);
                return;
            }
            if (records.isEmpty()) {
                return;
            }
            int[] sequences = new int[records.count()];
            Map<TopicPartition, OffsetAndMetadata> offsets = new HashMap<>();
            int i = 0;
            for (ConsumerRecord<Long, byte[]> record : records) {
                int sequence = Math.toIntExact(record.key());
                String unexpected = ledger.processed(sequence, current.clientId(), inDoubt(), record.partition(), record.offset());
                if (unexpected != null) {
                    System.out.printf("%s SoakIT: processed %s (member state %s)%n", LocalTime.now(), unexpected, current.memberState());
                }
                sequences[i++] = sequence;
                offsets.put(new TopicPartition(record.topic(), record.partition()), new OffsetAndMetadata(record.offset() + 1));
            }
            switch (style) {
                case SYNC -> {
                    try {
                        current.commitSync(offsets, COMMIT_TIMEOUT);
                        ledger.settled(sequences, true, current.clientId());
                    } catch (RuntimeException e) {
                        ledger.settled(sequences, false, current.clientId());
                        ledger.commitFailed(e);
                    }
                }
                case ASYNC -> {
                    asyncCommitsIssued.incrementAndGet();
                    try {
                        current.commitAsync(offsets, (committed, error) -> {
                            asyncCommitsCompleted.incrementAndGet();
                            ledger.settled(sequences, error == null, current.clientId());
                            if (error != null) {
                                ledger.commitFailed(error);
                            }
                        });
                    } catch (RuntimeException e) {
                        asyncCommitsCompleted.incrementAndGet();
                        ledger.settled(sequences, false, current.clientId());
                        ledger.commitFailed(e);
                    }
                }
                case AUTO -> ledger.settled(sequences, false, current.clientId()); // the application cannot see which auto-commit covers what
            }
        }

        private void close(LanesConsumer<Long, byte[]> current, Duration timeout) {
            String networkThread = current.networkThreadName();
            long start = System.nanoTime();
            current.close(CloseOptions.timeout(timeout));
            long closeMs = (System.nanoTime() - start) / 1_000_000;
            if (!timeout.isZero()) {
                slowestGracefulCloseMs.accumulateAndGet(closeMs, Math::max);
                return;
            }
            slowestKillCloseMs.accumulateAndGet(closeMs, Math::max);
            // close(0) may return while the background thread is still on its way out; the new consumer
            // waits for it, so that the sampler's one-background-thread-per-member check stays exact.
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (ProcessResources.threadsNamed(networkThread).stream().anyMatch(t -> t.getName().equals(networkThread))) {
                if (System.nanoTime() > deadline) {
                    problems.add(networkThread + " still alive 10 s after close(0)");
                    break;
                }
                sleep(5);
            }
            slowestThreadEndAfterKillMs.accumulateAndGet((System.nanoTime() - start) / 1_000_000, Math::max);
        }

        @Override
        public String toString() {
            LanesConsumer<Long, byte[]> current = consumer;
            return "member " + index + (current == null ? "" : " " + current.clientId() + " " + current.memberState()
                    + " " + current.assignmentSnapshot().size() + " partitions") + (cut.get() ? " (cut)" : "");
        }

        /** Counts callbacks; the commitAsync member commits what it processed before giving partitions up. */
        private final class Listener implements ConsumerRebalanceListener {
            private final LanesConsumer<Long, byte[]> owner;

            Listener(LanesConsumer<Long, byte[]> owner) {
                this.owner = owner;
            }

            @Override
            public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
                count("revoked");
                if (style == CommitStyle.ASYNC && !partitions.isEmpty()) {
                    try {
                        owner.commitSync(COMMIT_TIMEOUT);
                    } catch (RuntimeException e) {
                        ledger.commitFailed(e);
                    }
                }
            }

            @Override
            public void onPartitionsAssigned(Collection<TopicPartition> partitions) {
                count("assigned");
            }

            @Override
            public void onPartitionsLost(Collection<TopicPartition> partitions) {
                count("lost");
            }

            private void count(String callback) {
                callbacks.computeIfAbsent(callback, c -> new AtomicInteger()).incrementAndGet();
            }
        }
    }

    // ------------------------------------------------------------------ production

    /** Sends sequence numbers 0, 1, 2, ... as keys at a steady rate, spread over the partitions in turn. */
    private static final class Producer {
        private final KafkaProducer<byte[], byte[]> producer;
        private final int recordsPerSecond;
        private final SoakLedger ledger;
        private final Thread thread;
        private final AtomicInteger sent = new AtomicInteger();
        private final AtomicInteger failures = new AtomicInteger();
        private final List<String> failureSamples = new CopyOnWriteArrayList<>();
        private volatile boolean finishing;

        Producer(KafkaBroker broker, int recordsPerSecond, SoakLedger ledger) {
            this.producer = broker.producer(Map.of(
                    ProducerConfig.ACKS_CONFIG, "all",
                    ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true,
                    ProducerConfig.RETRIES_CONFIG, Integer.MAX_VALUE,
                    ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, 120_000,
                    ProducerConfig.LINGER_MS_CONFIG, 5));
            this.recordsPerSecond = recordsPerSecond;
            this.ledger = ledger;
            this.thread = daemon(this::run, "soak-producer");
        }

        void start() {
            thread.start();
        }

        int sent() {
            return sent.get();
        }

        int failures() {
            return failures.get();
        }

        private void run() {
            byte[] value = new byte[100];
            long start = System.nanoTime();
            while (!finishing) {
                long due = (System.nanoTime() - start) * recordsPerSecond / 1_000_000_000L;
                while (sent.get() < due && !finishing) {
                    int sequence = sent.getAndIncrement();
                    byte[] key = ByteBuffer.allocate(Long.BYTES).putLong(sequence).array();
                    producer.send(new ProducerRecord<>(TOPIC, sequence % PARTITIONS, key, value), (metadata, error) -> {
                        if (error == null) {
                            ledger.acknowledged(sequence);
                        } else {
                            failures.incrementAndGet();
                            if (failureSamples.size() < 5) {
                                failureSamples.add(sequence + ": " + error);
                            }
                        }
                    });
                }
                sleep(10);
            }
            producer.flush();
        }

        /** Stops sending and waits until every send is acknowledged or failed. */
        void finish() {
            finishing = true;
            try {
                thread.join(TimeUnit.SECONDS.toMillis(150));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }

        void close() {
            producer.close(Duration.ofSeconds(10));
        }
    }

    // ------------------------------------------------------------------ bookkeeping

    /** Unexpected events from any thread; each one fails the test. */
    static final class Problems {
        final List<String> list = new CopyOnWriteArrayList<>();

        void add(String problem) {
            list.add(problem);
            System.out.println("SoakIT problem: " + problem);
        }
    }

    // ------------------------------------------------------------------ resources

    /** One look at the process: threads, background threads, open file descriptors, member sockets. */
    record Snapshot(int threads, int networkThreads, long fds, int memberSockets) {
        @Override
        public String toString() {
            return "threads " + threads + ", background threads " + networkThreads + ", open fds " + fds
                    + ", member sockets " + (memberSockets < 0 ? "n/a" : memberSockets);
        }
    }

    /**
     * Samples background threads every 100 ms (there must never be more than one per member) and the
     * other counts every 500 ms, keeping their minimum and maximum.
     */
    private static final class Sampler {
        private final Set<Integer> proxyPorts;
        private final int members;
        private final Problems problems;
        private final Thread thread;
        private volatile boolean stopped;
        volatile int maxNetworkThreads;
        volatile int minThreads = Integer.MAX_VALUE;
        volatile int maxThreads;
        volatile long minFds = Long.MAX_VALUE;
        volatile long maxFds;
        volatile int maxMemberSockets;

        Sampler(Set<Integer> proxyPorts, int members, Problems problems) {
            this.proxyPorts = proxyPorts;
            this.members = members;
            this.problems = problems;
            this.thread = daemon(this::run, "soak-sampler");
        }

        void start() {
            thread.start();
        }

        void stop() throws InterruptedException {
            stopped = true;
            thread.join(5_000);
        }

        Snapshot sample() {
            return new Snapshot(ProcessResources.threadCount(),
                    ProcessResources.threadsNamed(NetworkThread.THREAD_NAME_PREFIX).size(),
                    ProcessResources.openFileDescriptors(),
                    ProcessResources.canCountSockets() ? ProcessResources.socketsConnectedTo(proxyPorts) : -1);
        }

        private void run() {
            for (long tick = 0; !stopped; tick++) {
                List<Thread> networkThreads = ProcessResources.threadsNamed(NetworkThread.THREAD_NAME_PREFIX);
                if (networkThreads.size() > maxNetworkThreads) {
                    maxNetworkThreads = networkThreads.size();
                }
                if (networkThreads.size() > members) {
                    problems.add(networkThreads.size() + " background threads for " + members + " members: "
                            + networkThreads.stream().map(Thread::getName).toList());
                }
                if (tick % 5 == 0) {
                    Snapshot snapshot = sample();
                    minThreads = Math.min(minThreads, snapshot.threads);
                    maxThreads = Math.max(maxThreads, snapshot.threads);
                    minFds = Math.min(minFds, snapshot.fds);
                    maxFds = Math.max(maxFds, snapshot.fds);
                    maxMemberSockets = Math.max(maxMemberSockets, snapshot.memberSockets);
                }
                sleep(100);
            }
        }
    }

    /** Reads the group's committed offsets every 500 ms; a committed offset must never go backwards. */
    private static final class CommittedOffsetsWatch {
        private final KafkaBroker broker;
        private final Thread thread;
        private final Map<TopicPartition, Long> highest = new HashMap<>();
        final List<String> regressions = new CopyOnWriteArrayList<>();
        private volatile boolean stopped;

        CommittedOffsetsWatch(KafkaBroker broker) {
            this.broker = broker;
            this.thread = daemon(this::run, "soak-committed-offsets");
        }

        void start() {
            thread.start();
        }

        void stop() throws InterruptedException {
            stopped = true;
            thread.join(5_000);
        }

        private void run() {
            while (!stopped) {
                try {
                    broker.admin().listConsumerGroupOffsets(GROUP).partitionsToOffsetAndMetadata().get(2, TimeUnit.SECONDS)
                            .forEach((partition, committed) -> {
                                if (committed == null) {
                                    return;
                                }
                                Long before = highest.get(partition);
                                if (before != null && committed.offset() < before) {
                                    String regression = partition + " " + before + " -> " + committed.offset() + " at "
                                            + LocalTime.now();
                                    regressions.add(regression);
                                    System.out.println("SoakIT: committed offset went backwards: " + regression);
                                }
                                highest.merge(partition, committed.offset(), Math::max);
                            });
                } catch (Exception e) {
                    // the broker is restarting
                }
                sleep(500);
            }
        }
    }

    // ------------------------------------------------------------------ summary

    record Settings(Duration duration, long seed, int recordsPerSecond, Path summaryFile) {
        static Settings fromSystemProperties() {
            String seed = System.getProperty("soak.seed", "");
            return new Settings(
                    Duration.parse(System.getProperty("soak.duration", "PT5M")),
                    seed.isBlank() ? new SecureRandom().nextLong() : Long.parseLong(seed.trim()),
                    Integer.getInteger("soak.rate", 1_000),
                    Path.of(System.getProperty("soak.summary", "target/soak-summary.txt")));
        }
    }

    private final class Summary {
        final Settings settings;
        Snapshot baseline;
        Snapshot end;
        Snapshot afterClose;
        long drainMillis;
        final Map<String, String> lines = new LinkedHashMap<>();

        Summary(Settings settings) {
            this.settings = settings;
        }

        void fill(SoakLedger ledger, Producer producer, Faults faults, List<Member> members, Sampler sampler, Problems problems) {
            lines.put("faults for", settings.duration + " (whole run " + Duration.ofNanos(System.nanoTime() - startNanos).toSeconds() + " s)");
            lines.put("seed", settings.seed + " (replay: -Dsoak.seed=" + settings.seed + ")");
            lines.put("group", members.size() + " members (" + members.stream().map(m -> m.style.description)
                    .collect(Collectors.joining("; ")) + "), " + PARTITIONS + " partitions, session timeout "
                    + SESSION_TIMEOUT_MS + " ms, heartbeat interval 500 ms");
            lines.put("records produced", ledger.acknowledged() + " acknowledged of " + producer.sent() + " sent ("
                    + settings.recordsPerSecond + "/s), send failures " + producer.failures() + " " + producer.failureSamples);
            lines.put("records consumed", ledger.processings() + " processings, " + ledger.distinctProcessed() + " distinct");
            lines.put("records lost", String.valueOf(ledger.lost()));
            lines.put("duplicates", ledger.duplicates() + " extra processings of " + ledger.duplicatedRecords()
                    + " records; unexplained by an unconfirmed commit: " + ledger.unexplainedDuplicates()
                    + "; processed after another member had committed them: " + ledger.afterConfirmedCommitInDoubt()
                    + " by a member just cut off (zombie), " + ledger.afterConfirmedCommit() + " otherwise");
            List<String> samples = ledger.afterConfirmedCommitSamples();
            for (int i = 0; i < samples.size(); i++) {
                lines.put("  e.g. " + (i + 1), samples.get(i));
            }
            lines.put("faults injected", faults.toString());
            lines.put("member consumers", members.stream().map(m -> "m" + m.index + "=" + m.incarnations).collect(Collectors.joining(" ")));
            lines.put("rebalance callbacks", members.stream().map(m -> "m" + m.index + "=" + new TreeMap<>(m.callbacks))
                    .collect(Collectors.joining(" ")));
            lines.put("commit failures", ledger.commitFailures().isEmpty() ? "none" : new TreeMap<>(ledger.commitFailures()).toString());
            ledger.commitFailureSamples().forEach((type, message) -> lines.put("  " + type, message));
            // close(0) still runs onPartitionsRevoked, where the commitAsync member commits (commitSync, 2 s).
            lines.put("close", "slowest close(" + GRACEFUL_CLOSE_TIMEOUT.toSeconds() + " s) "
                    + max(members, m -> m.slowestGracefulCloseMs) + " ms; slowest close(0) " + members.stream()
                    .map(m -> "m" + m.index + " " + m.slowestKillCloseMs.get() + " ms").collect(Collectors.joining(", "))
                    + "; background thread gone at most " + max(members, m -> m.slowestThreadEndAfterKillMs) + " ms after close(0)");
            lines.put("drain", "every acknowledged record processed " + drainMillis + " ms after production stopped");
            lines.put("background threads", "max " + sampler.maxNetworkThreads + " while running (limit " + members.size()
                    + "), " + afterClose.networkThreads + " after close");
            lines.put("member sockets", "after warm-up " + baseline.memberSockets + ", max " + sampler.maxMemberSockets
                    + ", end " + end.memberSockets + ", after close " + afterClose.memberSockets);
            lines.put("threads (JVM)", "after warm-up " + baseline.threads + ", min " + sampler.minThreads + ", max "
                    + sampler.maxThreads + ", end " + end.threads + ", after close " + afterClose.threads);
            lines.put("open fds", "after warm-up " + baseline.fds + ", min " + sampler.minFds + ", max " + sampler.maxFds
                    + ", end " + end.fds + ", after close " + afterClose.fds);
            lines.put("problems", problems.list.isEmpty() ? "none" : problems.list.toString());
        }

        String text() {
            StringBuilder text = new StringBuilder("Lanes soak summary\n");
            lines.forEach((key, value) -> text.append(String.format("  %-20s %s%n", key + ":", value)));
            return text.toString();
        }

        private long max(List<Member> members, Function<Member, AtomicLong> field) {
            return members.stream().mapToLong(m -> field.apply(m).get()).max().orElse(0);
        }
    }

    // ------------------------------------------------------------------ helpers

    private void log(String format, Object... args) {
        System.out.printf("%s SoakIT %6.1f s: %s%n", LocalTime.now(), (System.nanoTime() - startNanos) / 1e9, String.format(format, args));
    }

    private static Thread daemon(Runnable body, String name) {
        Thread thread = new Thread(body, name);
        thread.setDaemon(true);
        return thread;
    }

    /** Whether {@code condition} became true within {@code timeout}. */
    private static boolean waitUntil(Duration timeout, BooleanSupplier condition) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                return false;
            }
            sleep(100);
        }
        return true;
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
