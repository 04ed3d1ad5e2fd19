package dev.lanes.consumer;

import dev.lanes.consumer.testing.ConsumerImplementation;
import dev.lanes.consumer.testing.KafkaCluster;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BooleanSupplier;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import java.util.stream.Stream;

import static dev.lanes.consumer.testing.TestConsumers.consumerConfig;
import static dev.lanes.consumer.testing.TestConsumers.metricOrZero;
import static dev.lanes.consumer.testing.TestConsumers.pollRecords;
import static dev.lanes.consumer.testing.TestConsumers.waitUntil;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Lanes' fetch path on a three-broker cluster (racks {@code rack-1..rack-3}, rack-aware replica selection), each
 * scenario run on KafkaConsumer and then on Lanes with the same assertions:
 * <ol>
 *   <li>a consumer with {@code client.rack} fetches from the follower in its rack (KIP-392): the records come from
 *       the follower, and once caught up the consumer does not keep sending fetches to the leader;</li>
 *   <li>the broker leading the most partitions is killed while a group member consumes and commits every batch
 *       under continuous production, then restarted and made leader again: nothing acknowledged is lost, nothing
 *       is delivered twice, and the moved partitions resume about as fast as with KafkaConsumer;</li>
 *   <li>under {@code read_committed} with a transaction left open, {@code currentLag} counts up to the last stable
 *       offset, so a consumer that has read every committed record has lag 0.</li>
 * </ol>
 * Figures are printed; time bounds are loose (the machines are shared).
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class FetchPathIT {

    private static final String NODE_METRICS = "consumer-node-metrics";
    private static final int VALUE_SIZE = 100;
    private static final AtomicInteger SEQUENCE = new AtomicInteger();
    /** Resume times after the leader kill, by implementation: Lanes' is compared with KafkaConsumer's. */
    private static final Map<ConsumerImplementation, Long> RESUME_MS = new ConcurrentHashMap<>();
    private static KafkaCluster cluster;

    @BeforeAll
    static void startCluster() {
        // Racks default to rack-<id>; the selector makes a leader name the follower in the client's rack.
        cluster = KafkaCluster.builder()
                .serverProperty("replica.selector.class", "org.apache.kafka.common.replica.RackAwareReplicaSelector")
                .start();
    }

    @AfterAll
    static void stopCluster() {
        if (cluster != null) {
            cluster.close();
        }
    }

    /** KafkaConsumer first, so that Lanes' run can compare its figures with the reference's. */
    static Stream<ConsumerImplementation> kafkaConsumerFirst() {
        return Stream.of(ConsumerImplementation.KAFKA_CONSUMER, ConsumerImplementation.LANES);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("kafkaConsumerFirst")
    @Order(1)
    void fetchesFromTheFollowerInItsRackAndLeavesTheLeaderAlone(ConsumerImplementation implementation) {
        String topic = name("follower", implementation);
        cluster.createTopic(topic, 1, 3);
        TopicPartition partition = new TopicPartition(topic, 0);
        int leader = cluster.leader(partition);
        int follower = cluster.brokerIds().stream().filter(id -> id != leader).findFirst().orElseThrow();
        Map<String, Object> config = consumerConfig(cluster.bootstrapServers(), null, topic);
        config.put(ConsumerConfig.CLIENT_RACK_CONFIG, "rack-" + follower);

        try (Consumer<byte[], byte[]> consumer = implementation.create(config)) {
            consumer.assign(List.of(partition));
            consumer.seekToBeginning(List.of(partition));
            cluster.produce(topic, 0, 200, VALUE_SIZE);
            long start = System.nanoTime();
            int records = pollRecords(consumer, 200, Duration.ofSeconds(15)).size();
            long caughtUpMs = millisSince(start);

            double leaderBefore = nodeMetric(consumer, leader, "request-total");
            double followerBefore = nodeMetric(consumer, follower, "request-total");
            // Idle: nothing more is produced, so every request now is a long poll or housekeeping.
            pollRecords(consumer, Integer.MAX_VALUE, Duration.ofSeconds(3));
            double leaderIdle = nodeMetric(consumer, leader, "request-total") - leaderBefore;
            double followerIdle = nodeMetric(consumer, follower, "request-total") - followerBefore;
            double followerBytes = nodeMetric(consumer, follower, "incoming-byte-total");
            double leaderBytes = nodeMetric(consumer, leader, "incoming-byte-total");
            // Figures first: when the records do not arrive, the requests to the leader tell why.
            System.out.printf("fetch from follower (%s): leader %d, follower %d (rack-%d); %d of 200 records in %d ms; "
                            + "requests before idle: leader %.0f, follower %.0f; in the 3 s idle window: leader %.0f, "
                            + "follower %.0f; bytes received: leader %.0f, follower %.0f%n",
                    implementation, leader, follower, follower, records, caughtUpMs, leaderBefore, followerBefore,
                    leaderIdle, followerIdle, leaderBytes, followerBytes);

            assertThat(records).as("records fetched from the follower within 15 s").isEqualTo(200);
            // The first fetch (and ListOffsets) goes to the leader, which answers with the preferred read replica.
            assertThat(leaderBefore).as("requests to the leader, node %d", leader).isPositive();
            assertThat(followerBytes).as("bytes from the follower, node %d: the 200 records came from it", follower)
                    .isGreaterThan(200.0 * VALUE_SIZE);
            assertThat(followerIdle).as("fetches to the follower while idle: it is still fetched from").isGreaterThan(0);
            assertThat(leaderIdle).as("requests to the leader in a 3 s idle window (no fetch storm)").isLessThan(50);
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("kafkaConsumerFirst")
    @Order(2)
    void lagUnderReadCommittedEndsAtTheLastStableOffset(ConsumerImplementation implementation) {
        String topic = name("lso", implementation);
        cluster.createTopic(topic, 1, 3);
        TopicPartition partition = new TopicPartition(topic, 0);
        try (KafkaProducer<byte[], byte[]> producer = cluster.newProducer(Map.of(
                ProducerConfig.TRANSACTIONAL_ID_CONFIG, topic + "-tx",
                ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true,
                ProducerConfig.ACKS_CONFIG, "all"))) {
            producer.initTransactions();
            producer.beginTransaction();
            for (int i = 0; i < 10; i++) {
                producer.send(new ProducerRecord<>(topic, 0, null, new byte[VALUE_SIZE]));
            }
            producer.commitTransaction();
            // A second transaction stays open through the check: its records sit between the LSO and the high watermark.
            producer.beginTransaction();
            for (int i = 0; i < 30; i++) {
                producer.send(new ProducerRecord<>(topic, 0, null, new byte[VALUE_SIZE]));
            }
            producer.flush();

            Map<String, Object> config = consumerConfig(cluster.bootstrapServers(), null, topic);
            config.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
            try (Consumer<byte[], byte[]> consumer = implementation.create(config)) {
                consumer.assign(List.of(partition));
                consumer.seekToBeginning(List.of(partition));
                assertThat(pollRecords(consumer, 10, Duration.ofSeconds(15))).as("the committed records").hasSize(10);
                // A little slack: the fetch that tells the LSO may be answered just after the records were returned.
                OptionalLong lag = consumer.currentLag(partition);
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(3);
                int extra = 0;
                while (!lag.equals(OptionalLong.of(0)) && System.nanoTime() < deadline) {
                    extra += consumer.poll(Duration.ofMillis(100)).count();
                    lag = consumer.currentLag(partition);
                }
                long position = consumer.position(partition);
                long endOffset = consumer.endOffsets(List.of(partition)).get(partition);
                System.out.printf("lag under read_committed (%s): currentLag %s, position %d, endOffsets %d "
                        + "(10 committed records + marker, 30 open), records after the first 10: %d%n",
                        implementation, lag, position, endOffset, extra);
                assertThat(extra).as("records of the open transaction delivered under read_committed").isZero();
                assertThat(lag).as("currentLag with every committed record read and a transaction open")
                        .isEqualTo(OptionalLong.of(0));
            }
            producer.abortTransaction();
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("kafkaConsumerFirst")
    @Order(3)
    void nothingIsLostOrDuplicatedWhenTheLeaderIsKilledAndComesBack(ConsumerImplementation implementation) throws Exception {
        int partitions = 3;
        String topic = name("leader-moves", implementation);
        cluster.createTopic(topic, partitions, 3);
        Map<Integer, Set<Long>> produced = perPartition(partitions);
        Map<Integer, Set<Long>> received = perPartition(partitions);
        // Set once the killed broker's process is gone; records sent after it can only come from a new leader.
        AtomicLong killedAt = new AtomicLong(Long.MAX_VALUE);
        Map<Integer, Long> ackedAfterKill = new ConcurrentHashMap<>();
        Map<Integer, Long> deliveredAfterKill = new ConcurrentHashMap<>();
        AtomicInteger duplicates = new AtomicInteger();
        AtomicInteger sendFailures = new AtomicInteger();
        AtomicInteger batches = new AtomicInteger();
        AtomicBoolean stopProducing = new AtomicBoolean();
        AtomicBoolean stopConsuming = new AtomicBoolean();

        Map<String, Object> config = consumerConfig(cluster.bootstrapServers(), topic + "-group", topic);
        config.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        ExecutorService threads = Executors.newFixedThreadPool(2);
        int victim = -1;
        boolean victimDown = false;
        try {
            Future<?> producing = threads.submit(() -> {
                try (KafkaProducer<byte[], byte[]> producer = cluster.newProducer(Map.of(ProducerConfig.ACKS_CONFIG, "all"))) {
                    long sequence = 0;
                    while (!stopProducing.get()) {
                        // ~1,000 records/s: ten every 10 ms.
                        for (int i = 0; i < 10; i++, sequence++) {
                            int partition = (int) (sequence % partitions);
                            long sentAt = System.nanoTime();
                            byte[] value = ByteBuffer.allocate(VALUE_SIZE).putLong(sentAt).array();
                            producer.send(new ProducerRecord<>(topic, partition, null, value), (metadata, error) -> {
                                if (error != null) {
                                    sendFailures.incrementAndGet();
                                    return;
                                }
                                produced.get(metadata.partition()).add(metadata.offset());
                                if (sentAt > killedAt.get()) {
                                    ackedAfterKill.putIfAbsent(metadata.partition(), System.nanoTime());
                                }
                            });
                        }
                        Thread.sleep(10);
                    }
                    producer.flush();
                }
                return null;
            });
            Future<?> consuming = threads.submit(() -> {
                try (Consumer<byte[], byte[]> consumer = implementation.create(config)) {
                    consumer.subscribe(List.of(topic));
                    while (!stopConsuming.get()) {
                        ConsumerRecords<byte[], byte[]> records = consumer.poll(Duration.ofMillis(100));
                        long now = System.nanoTime();
                        for (ConsumerRecord<byte[], byte[]> record : records) {
                            if (!received.get(record.partition()).add(record.offset())) {
                                duplicates.incrementAndGet();
                            }
                            if (ByteBuffer.wrap(record.value()).getLong() > killedAt.get()) {
                                deliveredAfterKill.putIfAbsent(record.partition(), now);
                            }
                        }
                        if (!records.isEmpty()) {
                            consumer.commitSync(Duration.ofSeconds(30));
                            batches.incrementAndGet();
                        }
                    }
                }
                return null;
            });
            List<Future<?>> running = List.of(producing, consuming);

            awaitWhileRunning(Duration.ofSeconds(30), () -> total(received) >= 2000, "records flowing", running);
            Map<Integer, Integer> leaders = IntStream.range(0, partitions).boxed()
                    .collect(Collectors.toMap(p -> p, p -> cluster.leader(new TopicPartition(topic, p))));
            int coordinator = cluster.coordinator(topic + "-group");
            // Ties (each broker usually leads one partition) go to a broker that is not the group's coordinator, so
            // that both runs measure the fetch path under the same conditions (CoordinatorFailoverIT covers the
            // coordinator's moves). Commits stall for the fencing time either way: every broker holds a replica.
            victim = leaders.values().stream()
                    .collect(Collectors.groupingBy(id -> id, Collectors.counting()))
                    .entrySet().stream()
                    .max(Comparator.comparing(Map.Entry<Integer, Long>::getValue)
                            .thenComparing(entry -> entry.getKey() != coordinator))
                    .orElseThrow().getKey();
            int killed = victim;
            List<Integer> moved = leaders.entrySet().stream().filter(entry -> entry.getValue() == killed)
                    .map(Map.Entry::getKey).sorted().toList();

            cluster.kill(victim);
            victimDown = true;
            long kill = System.nanoTime();
            killedAt.set(kill);
            awaitWhileRunning(Duration.ofSeconds(30), () -> moved.stream().allMatch(deliveredAfterKill::containsKey),
                    "a record sent after the kill delivered from every moved partition " + moved, running);
            long resumeMs = moved.stream().mapToLong(p -> deliveredAfterKill.get(p) - kill).max().orElseThrow() / 1_000_000;
            long producerMs = moved.stream().mapToLong(p -> ackedAfterKill.getOrDefault(p, kill) - kill).max()
                    .orElseThrow() / 1_000_000;
            // The consumer's own share: from the producer's acknowledgement to the delivery.
            long consumerMs = moved.stream()
                    .mapToLong(p -> deliveredAfterKill.get(p) - ackedAfterKill.getOrDefault(p, kill)).max()
                    .orElseThrow() / 1_000_000;
            Map<Integer, Integer> newLeaders = moved.stream()
                    .collect(Collectors.toMap(p -> p, p -> cluster.leader(new TopicPartition(topic, p))));

            long restartStart = System.nanoTime();
            cluster.restart(victim);
            cluster.waitForInSync(Duration.ofSeconds(60));
            victimDown = false;
            cluster.electPreferredLeaders();
            long restartMs = millisSince(restartStart);
            // Consume on through the move back to the preferred leader.
            int afterElection = total(received) + 1000;
            awaitWhileRunning(Duration.ofSeconds(30), () -> total(received) >= afterElection,
                    "records after the preferred leaders were elected", running);

            stopProducing.set(true);
            producing.get(60, TimeUnit.SECONDS);
            // Not failing here: the figures below, and the missing offsets, say more than a timeout.
            long drainDeadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (!missing(produced, received).isEmpty() && !consuming.isDone() && System.nanoTime() < drainDeadline) {
                Thread.sleep(50);
            }
            stopConsuming.set(true);
            consuming.get(60, TimeUnit.SECONDS);

            RESUME_MS.put(implementation, resumeMs);
            System.out.printf("leader moves (%s): killed broker %d leading partitions %s (new leaders %s; group "
                            + "coordinator was %d); first record sent after the kill delivered after %d ms "
                            + "(acknowledged to the producer after %d ms, consumer's share %d ms); restart + in sync + "
                            + "preferred election %d ms; produced %d, received %d, duplicates %d, send failures %d, "
                            + "batches committed %d%n",
                    implementation, victim, moved, newLeaders, coordinator, resumeMs, producerMs, consumerMs, restartMs,
                    total(produced), total(received), duplicates.get(), sendFailures.get(), batches.get());

            assertThat(missing(produced, received)).as("acknowledged records never received, by partition").isEmpty();
            assertThat(duplicates.get()).as("records received twice (one member, commitSync per batch)").isZero();
            assertThat(resumeMs).as("time until a moved partition delivers again").isLessThan(20_000);
            Long reference = RESUME_MS.get(ConsumerImplementation.KAFKA_CONSUMER);
            if (implementation == ConsumerImplementation.LANES && reference != null) {
                assertThat(resumeMs).as("Lanes' resume time vs KafkaConsumer's %d ms (+5 s)", reference)
                        .isLessThanOrEqualTo(reference + 5_000);
            }
        } finally {
            stopProducing.set(true);
            stopConsuming.set(true);
            threads.shutdown();
            if (!threads.awaitTermination(60, TimeUnit.SECONDS)) {
                threads.shutdownNow();
            }
            if (victimDown) {
                // The next test needs the whole cluster.
                cluster.restart(victim);
                cluster.waitForInSync(Duration.ofSeconds(60));
                cluster.electPreferredLeaders();
            }
        }
    }

    private static String name(String scenario, ConsumerImplementation implementation) {
        return "fetch-" + scenario + "-" + implementation.id() + "-" + SEQUENCE.incrementAndGet();
    }

    private static double nodeMetric(Consumer<?, ?> consumer, int nodeId, String name) {
        return metricOrZero(consumer, NODE_METRICS, name, Map.of("node-id", "node-" + nodeId));
    }

    private static Map<Integer, Set<Long>> perPartition(int partitions) {
        Map<Integer, Set<Long>> offsets = new ConcurrentHashMap<>();
        for (int partition = 0; partition < partitions; partition++) {
            offsets.put(partition, ConcurrentHashMap.newKeySet());
        }
        return offsets;
    }

    private static int total(Map<Integer, Set<Long>> offsets) {
        return offsets.values().stream().mapToInt(Set::size).sum();
    }

    /** Offsets produced but not received, by partition (partitions missing nothing left out). */
    private static Map<Integer, Set<Long>> missing(Map<Integer, Set<Long>> produced, Map<Integer, Set<Long>> received) {
        Map<Integer, Set<Long>> missing = new ConcurrentHashMap<>();
        produced.forEach((partition, offsets) -> {
            Set<Long> notReceived = new TreeSet<>(offsets);
            notReceived.removeAll(received.get(partition));
            if (!notReceived.isEmpty()) {
                missing.put(partition, notReceived);
            }
        });
        return missing;
    }

    /** {@code waitUntil}, failing at once (with the worker's exception) if a worker thread has ended. */
    private static void awaitWhileRunning(Duration timeout, BooleanSupplier condition, String what, List<Future<?>> workers) {
        waitUntil(timeout, () -> {
            for (Future<?> worker : workers) {
                if (worker.isDone()) {
                    try {
                        worker.get();
                    } catch (Exception e) {
                        throw new AssertionError("A worker failed while waiting for: " + what, e);
                    }
                    throw new AssertionError("A worker stopped while waiting for: " + what);
                }
            }
            return condition.getAsBoolean();
        }, what);
    }

    private static long millisSince(long startNanos) {
        return (System.nanoTime() - startNanos) / 1_000_000;
    }
}
