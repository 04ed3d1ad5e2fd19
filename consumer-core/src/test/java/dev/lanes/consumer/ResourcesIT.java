package dev.lanes.consumer;

import dev.lanes.consumer.testing.KafkaBroker;
import dev.lanes.consumer.testing.KafkaBrokerExtension;
import dev.lanes.consumer.testing.TestConsumers;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.RetriableException;
import org.apache.kafka.common.errors.TimeoutException;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static dev.lanes.consumer.testing.TestConsumers.lanesMetricOrZero;
import static dev.lanes.consumer.testing.TestConsumers.manualCommitConfig;
import static dev.lanes.consumer.testing.TestConsumers.metricOrZero;
import static dev.lanes.consumer.testing.TestConsumers.pollRecords;
import static dev.lanes.consumer.testing.TestConsumers.produceToEveryPartition;
import static dev.lanes.consumer.testing.TestConsumers.requestsSent;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * R2, R4, R6, R9, R10 and R14 against a real broker: what the consumer costs in CPU, sockets,
 * requests and memory, and what happens when its background thread dies.
 */
class ResourcesIT {

    @RegisterExtension
    static final KafkaBrokerExtension BROKER = new KafkaBrokerExtension();

    private static final AtomicInteger IDS = new AtomicInteger();

    /**
     * The broker creates its offsets topic on the first coordinator lookup and answers that one with
     * COORDINATOR_NOT_AVAILABLE; done here once, so that request counts in the tests are the consumer's own.
     */
    @BeforeAll
    static void createOffsetsTopic() throws Exception {
        TestConsumers.createOffsetsTopic(BROKER.broker());
    }

    private static String unique(String prefix) {
        return prefix + "-" + IDS.incrementAndGet();
    }

    private static Map<String, Object> config(String group) {
        return manualCommitConfig(BROKER.broker().bootstrapServers(), group, group + "-client");
    }

    private static Thread backgroundThread(LanesConsumer<?, ?> consumer) {
        String name = consumer.networkThreadName();
        return Thread.getAllStackTraces().keySet().stream()
                .filter(thread -> thread.getName().equals(name))
                .findFirst()
                .orElseThrow(() -> new AssertionError("No thread named " + name));
    }

    @Test
    void idleAssignedConsumerBurnsNearlyNoBackgroundCpu() throws Exception {
        String topic = unique("idle");
        BROKER.broker().createTopic(topic, 1);
        TopicPartition tp = new TopicPartition(topic, 0);
        Map<String, Object> config = config(unique("idle-group"));
        // Rate metrics divide by at least (samples - 1) windows: with the default 30 s window a young
        // consumer's ratios would be diluted by time it has not lived yet.
        config.put(ConsumerConfig.METRICS_SAMPLE_WINDOW_MS_CONFIG, 1_000);
        try (LanesConsumer<String, String> consumer = new LanesConsumer<>(config)) {
            consumer.assign(List.of(tp));
            consumer.poll(Duration.ofSeconds(1));
            assertThat(consumer.position(tp, Duration.ofSeconds(10))).isZero();
            Thread background = backgroundThread(consumer);
            assertThat(background.getName()).isEqualTo("lanes-consumer-network-thread | " + consumer.groupMetadata().groupId() + "-client");
            ThreadMXBean mx = ManagementFactory.getThreadMXBean();
            long cpuBefore = mx.getThreadCpuTime(background.getId());
            long wallBefore = System.nanoTime();
            for (int i = 0; i < 3; i++) {
                assertThat(consumer.poll(Duration.ofSeconds(1)).isEmpty()).isTrue();
            }
            long cpuMs = TimeUnit.NANOSECONDS.toMillis(mx.getThreadCpuTime(background.getId()) - cpuBefore);
            long wallMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - wallBefore);
            double idleRatio = lanesMetricOrZero(consumer, "background-thread-idle-ratio");
            double cpuRatio = lanesMetricOrZero(consumer, "background-thread-cpu-ratio");
            System.out.printf("[ResourcesIT] R2 idle: background CPU %d ms over %d ms wall, idle-ratio=%.3f, cpu-ratio=%.4f%n",
                    cpuMs, wallMs, idleRatio, cpuRatio);
            assertThat(cpuMs).isLessThan(200);
            assertThat(idleRatio).isGreaterThan(0.8);
            assertThat(cpuRatio).isLessThan(0.1);
        }
    }

    @Test
    void systemAndUserRequestsShareOneConnection() {
        KafkaBroker broker = BROKER.broker();
        String topic = unique("one-socket");
        broker.createTopic(topic, 2);
        broker.produce(topic, 0, 10, 50);
        TopicPartition tp = new TopicPartition(topic, 0);
        try (LanesConsumer<String, String> consumer = new LanesConsumer<>(config(unique("one-socket-group")))) {
            consumer.assign(List.of(tp, new TopicPartition(topic, 1)));
            assertThat(pollRecords(consumer, 10, Duration.ofSeconds(20))).hasSize(10);
            consumer.commitSync(Duration.ofSeconds(10));
            assertThat(consumer.committed(Set.of(tp), Duration.ofSeconds(10)).get(tp).offset()).isEqualTo(10);
            consumer.poll(Duration.ofMillis(200));
            double connections = metricOrZero(consumer, "consumer-metrics", "connection-count", Map.of());
            double creations = metricOrZero(consumer, "consumer-metrics", "connection-creation-total", Map.of());
            System.out.printf("[ResourcesIT] R6: connection-count=%.0f, connection-creation-total=%.0f, FindCoordinator sent=%.0f%n",
                    connections, creations, requestsSent(consumer, "FindCoordinator"));
            assertThat(connections).isEqualTo(1.0);
        }
    }

    @Test
    void manualAssignmentWithoutCommitsNeverLooksUpTheCoordinator() {
        KafkaBroker broker = BROKER.broker();
        String topic = unique("no-coordinator");
        broker.createTopic(topic, 1);
        broker.produce(topic, 0, 20, 50);
        TopicPartition tp = new TopicPartition(topic, 0);
        try (LanesConsumer<String, String> consumer = new LanesConsumer<>(config(unique("no-coordinator-group")))) {
            consumer.assign(List.of(tp));
            consumer.seek(tp, 5);
            int received = 0;
            for (int i = 0; i < 5 || received < 15; i++) {
                received += consumer.poll(Duration.ofMillis(200)).count();
                assertThat(i).isLessThan(100);
            }
            assertThat(received).isEqualTo(15);
            double before = requestsSent(consumer, "FindCoordinator");
            consumer.committed(Set.of(tp), Duration.ofSeconds(10));
            consumer.committed(Set.of(tp), Duration.ofSeconds(10));
            double after = requestsSent(consumer, "FindCoordinator");
            System.out.printf("[ResourcesIT] R14: FindCoordinator sent after assign+seek+poll=%.0f, after committed()x2=%.0f%n",
                    before, after);
            assertThat(before).isZero();
            assertThat(after).isEqualTo(1.0);
        }
    }

    @Test
    void asyncCommitFloodIsFoldedIntoFewRequestsAndEveryCallbackCompletes() {
        KafkaBroker broker = BROKER.broker();
        String topic = unique("commit-flood");
        broker.createTopic(topic, 1);
        TopicPartition tp = new TopicPartition(topic, 0);
        Map<String, Object> config = config(unique("commit-flood-group"));
        config.put(LanesConsumerConfig.USER_LANE_CAPACITY_CONFIG, 4096);
        int calls = 500;
        try (LanesConsumer<String, String> consumer = new LanesConsumer<>(config)) {
            consumer.assign(List.of(tp));
            consumer.committed(Set.of(tp), Duration.ofSeconds(10)); // the coordinator is known from here on
            AtomicInteger completed = new AtomicInteger();
            AtomicInteger failed = new AtomicInteger();
            for (int i = 1; i <= calls; i++) {
                consumer.commitAsync(Map.of(tp, new OffsetAndMetadata(i)), (offsets, exception) -> {
                    completed.incrementAndGet();
                    if (exception != null) {
                        failed.incrementAndGet();
                    }
                });
            }
            consumer.commitSync(Map.of(tp, new OffsetAndMetadata(calls)), Duration.ofSeconds(10));
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (completed.get() < calls && System.nanoTime() < deadline) {
                consumer.poll(Duration.ofMillis(100));
            }
            double commits = requestsSent(consumer, "OffsetCommit");
            double coalesced = lanesMetricOrZero(consumer, "requests-coalesced-total");
            System.out.printf("[ResourcesIT] R4a: %d commitAsync + 1 commitSync -> %.0f OffsetCommit requests, "
                    + "requests-coalesced-total=%.0f, callbacks=%d (failed %d)%n", calls, commits, coalesced, completed.get(), failed.get());
            assertThat(completed.get()).isEqualTo(calls);
            assertThat(failed.get()).isZero();
            assertThat(commits).isLessThan(calls / 5.0);
            assertThat(coalesced).isGreaterThan(0);
            assertThat(consumer.committed(Set.of(tp), Duration.ofSeconds(10)).get(tp).offset()).isEqualTo(calls);
        }
    }

    @Test
    void lookupWhoseCallerTimedOutWhileInFlightIsSharedWithTheNextIdenticalLookup() {
        KafkaBroker broker = BROKER.broker();
        String topic = unique("coalesce-committed");
        broker.createTopic(topic, 1);
        TopicPartition tp = new TopicPartition(topic, 0);
        try (LanesConsumer<String, String> consumer = new LanesConsumer<>(config(unique("coalesce-committed-group")))) {
            consumer.assign(List.of(tp));
            consumer.committed(Set.of(tp), Duration.ofSeconds(10)); // coordinator known
            double coalescedBefore = lanesMetricOrZero(consumer, "requests-coalesced-total");
            int attempts = 0;
            int timedOut = 0;
            while (attempts < 20 && lanesMetricOrZero(consumer, "requests-coalesced-total") == coalescedBefore) {
                attempts++;
                try {
                    consumer.committed(Set.of(tp), Duration.ofMillis(1));
                } catch (TimeoutException expected) {
                    timedOut++;
                }
                assertThat(consumer.committed(Set.of(tp), Duration.ofSeconds(5))).containsKey(tp);
            }
            double coalesced = lanesMetricOrZero(consumer, "requests-coalesced-total") - coalescedBefore;
            System.out.printf("[ResourcesIT] R4b: %d attempts (%d timed out), coalesced +%.0f, OffsetFetch sent=%.0f, "
                    + "expired unsent=%.0f%n", attempts, timedOut, coalesced, requestsSent(consumer, "OffsetFetch"),
                    lanesMetricOrZero(consumer, "requests-expired-unsent-total"));
            assertThat(coalesced).isGreaterThan(0);
        }
    }

    @Test
    void asyncCommitsBeyondTheUserLaneCapacityAreRefusedAtOnceAndNoAcceptedOneIsLost() {
        KafkaBroker broker = BROKER.broker();
        String topic = unique("back-pressure");
        broker.createTopic(topic, 1);
        TopicPartition tp = new TopicPartition(topic, 0);
        Map<String, Object> config = config(unique("back-pressure-group"));
        config.put(LanesConsumerConfig.USER_LANE_CAPACITY_CONFIG, 8);
        try (LanesConsumer<String, String> consumer = new LanesConsumer<>(config)) {
            consumer.assign(List.of(tp));
            AtomicInteger callbacks = new AtomicInteger();
            AtomicInteger failedCallbacks = new AtomicInteger();
            int accepted = 0;
            int refused = 0;
            long lastAccepted = -1;
            long slowestRefusalNanos = 0;
            for (int i = 1; i <= 10_000; i++) {
                long start = System.nanoTime();
                try {
                    consumer.commitAsync(Map.of(tp, new OffsetAndMetadata(i)), (offsets, exception) -> {
                        callbacks.incrementAndGet();
                        if (exception != null) {
                            failedCallbacks.incrementAndGet();
                        }
                    });
                    accepted++;
                    lastAccepted = i;
                } catch (BackPressureException e) {
                    assertThat(e).isInstanceOf(RetriableException.class);
                    refused++;
                    slowestRefusalNanos = Math.max(slowestRefusalNanos, System.nanoTime() - start);
                }
            }
            double rejections = lanesMetricOrZero(consumer, "back-pressure-rejections-total");
            consumer.commitSync(Map.of(tp, new OffsetAndMetadata(lastAccepted)), Duration.ofSeconds(10));
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (callbacks.get() < accepted && System.nanoTime() < deadline) {
                consumer.poll(Duration.ofMillis(100));
            }
            System.out.printf("[ResourcesIT] R9a: 10000 commitAsync at capacity 8 -> accepted=%d refused=%d "
                    + "(back-pressure-rejections-total=%.0f, slowest refusal %d us), callbacks=%d (failed %d), OffsetCommit sent=%.0f%n",
                    accepted, refused, rejections, TimeUnit.NANOSECONDS.toMicros(slowestRefusalNanos), callbacks.get(),
                    failedCallbacks.get(), requestsSent(consumer, "OffsetCommit"));
            assertThat(refused).isPositive();
            assertThat(accepted + refused).isEqualTo(10_000);
            assertThat(rejections).isEqualTo(refused);
            assertThat(slowestRefusalNanos).isLessThan(TimeUnit.MILLISECONDS.toNanos(500));
            assertThat(callbacks.get()).isEqualTo(accepted);
            assertThat(failedCallbacks.get()).isZero();
        }
    }

    @Test
    void onCompressedDataTheBoundCountsDecompressedBytesAndHoldsWhileDecodingAheadFillsItsWindow() throws Exception {
        KafkaBroker broker = BROKER.broker();
        String topic = unique("bounded-compressed");
        broker.createTopic(topic, 2);
        int perPartition = 30_000;
        // JSON-like values that lz4 shrinks about threefold: several times the bound once decompressed.
        Random random = new Random(17);
        try (KafkaProducer<byte[], byte[]> producer = broker.producer(Map.of(
                ProducerConfig.COMPRESSION_TYPE_CONFIG, "lz4",
                ProducerConfig.LINGER_MS_CONFIG, 10))) {
            for (int partition = 0; partition < 2; partition++) {
                for (int i = 0; i < perPartition; i++) {
                    String value = "v" + i + " {\"order\":" + random.nextInt(1_000_000) + ",\"customer\":\"c-"
                            + Long.toHexString(random.nextLong()) + "\",\"amount\":" + random.nextInt(100_000)
                            + ",\"currency\":\"EUR\",\"status\":\"created\",\"items\":[{\"sku\":\"s-"
                            + random.nextInt(5_000) + "\",\"quantity\":" + (1 + random.nextInt(9)) + "}]}";
                    producer.send(new ProducerRecord<>(topic, partition, null,
                            value.getBytes(StandardCharsets.UTF_8)));
                }
            }
            producer.flush();
        }
        long bound = 2L << 20; // decode-ahead window: half of it, 1 MiB
        long decodedBatchAtMost = 256 * 1024; // one producer batch of about 16 KB, decompressed, with room to spare
        Map<String, Object> config = config(unique("bounded-compressed-group"));
        config.put(LanesConsumerConfig.FETCH_BUFFER_MAX_BYTES_CONFIG, bound);
        Set<String> seen = new HashSet<>();
        try (LanesConsumer<String, String> consumer = new LanesConsumer<>(config)) {
            consumer.assign(List.of(new TopicPartition(topic, 0), new TopicPartition(topic, 1)));
            int total = 0;
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            // Reads in spurts, pausing between them, so that fetches go out while decoding ahead refills its window.
            while (total < 2 * perPartition && System.nanoTime() < deadline) {
                for (ConsumerRecord<String, String> record : consumer.poll(Duration.ofMillis(200))) {
                    total++;
                    assertThat(seen.add(record.partition() + "/" + record.offset())).as("no duplicates").isTrue();
                    assertThat(record.value()).startsWith("v" + record.offset() + " {");
                }
                if (total % 4 == 0) {
                    Thread.sleep(20);
                }
            }
            double peak = lanesMetricOrZero(consumer, "fetch-buffer-bytes-peak");
            System.out.printf("[ResourcesIT] compressed: bound=%d, peak %.0f, %d records%n", bound, peak, total);
            assertThat(total).isEqualTo(2 * perPartition);
            // A fetch may ask for the bound less the decode-ahead window (1 MiB here); when the application takes
            // each fetch before decoding ahead adds to it, that is the peak, so the fill is checked against it.
            assertThat(peak).as("the buffer filled up to what a fetch may ask for").isGreaterThanOrEqualTo(bound / 2.0)
                    .isLessThanOrEqualTo(bound + decodedBatchAtMost);
        }
    }

    @Test
    void consumerThatStopsPollingHoldsNoMoreFetchedDataThanTheBound() throws Exception {
        KafkaBroker broker = BROKER.broker();
        String topic = unique("bounded-buffer");
        broker.createTopic(topic, 2);
        int perPartition = 2_500;
        int valueSize = 1_000;
        int batchSize = 16_384;
        produceToEveryPartition(broker, topic, 2, perPartition, valueSize); // producer batch.size default 16 KiB
        long bound = 65_536;
        Map<String, Object> config = config(unique("bounded-buffer-group"));
        config.put(LanesConsumerConfig.FETCH_BUFFER_MAX_BYTES_CONFIG, bound);
        Set<String> seen = new HashSet<>();
        int duplicates = 0;
        try (LanesConsumer<String, String> consumer = new LanesConsumer<>(config)) {
            consumer.assign(List.of(new TopicPartition(topic, 0), new TopicPartition(topic, 1)));
            int firstPoll = 0;
            for (int i = 0; i < 100 && firstPoll == 0; i++) {
                for (ConsumerRecord<String, String> record : consumer.poll(Duration.ofMillis(200))) {
                    firstPoll++;
                    duplicates += seen.add(record.partition() + "/" + record.offset()) ? 0 : 1;
                }
            }
            assertThat(firstPoll).isPositive();
            double maxSeen = 0;
            int samples = 0;
            long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(2);
            while (System.nanoTime() < until) {
                maxSeen = Math.max(maxSeen, lanesMetricOrZero(consumer, "fetch-buffer-bytes"));
                samples++;
                Thread.sleep(50);
            }
            double reportedBound = lanesMetricOrZero(consumer, "fetch-buffer-max-bytes");
            double peak = lanesMetricOrZero(consumer, "fetch-buffer-bytes-peak");
            long consumeStart = System.nanoTime();
            long deadline = consumeStart + TimeUnit.SECONDS.toNanos(60);
            int total = firstPoll;
            while (total < 2 * perPartition && System.nanoTime() < deadline) {
                for (ConsumerRecord<String, String> record : consumer.poll(Duration.ofMillis(200))) {
                    total++;
                    duplicates += seen.add(record.partition() + "/" + record.offset()) ? 0 : 1;
                    assertThat(record.value()).startsWith("v" + record.offset());
                }
            }
            long consumeMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - consumeStart);
            System.out.printf("[ResourcesIT] R9b: bound=%d (metric %.0f), first poll %d records, max fetch-buffer-bytes over %d "
                    + "samples while not polling=%.0f (peak metric %.0f), then %d records in %d ms, duplicates=%d, paused-ratio=%.3f%n",
                    bound, reportedBound, firstPoll, samples, maxSeen, peak, total, consumeMs, duplicates,
                    lanesMetricOrZero(consumer, "fetch-paused-ratio"));
            assertThat(reportedBound).isEqualTo(bound);
            assertThat(maxSeen).isPositive();
            assertThat(maxSeen).isLessThanOrEqualTo(bound + batchSize + 1_024);
            assertThat(peak).as("fetch-buffer-bytes-peak sees what sampling saw").isGreaterThanOrEqualTo(maxSeen)
                    .isLessThanOrEqualTo(bound + batchSize + 1_024);
            assertThat(duplicates).isZero();
            assertThat(total).isEqualTo(2 * perPartition);
            assertThat(seen).hasSize(2 * perPartition);
        }
    }

    @Test
    void interruptedBackgroundThreadClosesTheConsumerWithAClearReason() throws Exception {
        String topic = unique("interrupted");
        BROKER.broker().createTopic(topic, 1);
        TopicPartition tp = new TopicPartition(topic, 0);
        LanesConsumer<String, String> consumer = new LanesConsumer<>(config(unique("interrupted-group")));
        try {
            consumer.assign(List.of(tp));
            consumer.poll(Duration.ofMillis(500));
            Thread background = backgroundThread(consumer);
            long start = System.nanoTime();
            background.interrupt();
            background.join(5_000);
            long terminatedMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
            assertThat(background.isAlive()).isFalse();
            assertThatThrownBy(() -> consumer.poll(Duration.ofMillis(500)))
                    .isInstanceOf(ConsumerClosedException.class)
                    .isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("nterrupt")
                    .satisfies(e -> System.out.printf("[ResourcesIT] R10: thread ended %d ms after interrupt; next call: %s%n",
                            terminatedMs, e));
            assertThatThrownBy(() -> consumer.position(tp, Duration.ofSeconds(1)))
                    .isInstanceOf(ConsumerClosedException.class)
                    .hasMessageContaining("nterrupt");
        } finally {
            long closeStart = System.nanoTime();
            consumer.close(Duration.ofSeconds(5));
            long closeMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - closeStart);
            System.out.printf("[ResourcesIT] R10: close() after the thread died took %d ms%n", closeMs);
            assertThat(closeMs).isLessThan(5_000);
        }
        assertThatThrownBy(() -> consumer.poll(Duration.ofMillis(10))).isInstanceOf(IllegalStateException.class);
    }

    @Test
    void aPollWaitingWhenTheBackgroundThreadDiesThrowsAtOnce() throws Exception {
        String topic = unique("dies-during-poll");
        BROKER.broker().createTopic(topic, 1);
        try (LanesConsumer<String, String> consumer = new LanesConsumer<>(config(unique("dies-during-poll-group")))) {
            consumer.assign(List.of(new TopicPartition(topic, 0)));
            consumer.poll(Duration.ofMillis(200));
            Thread background = backgroundThread(consumer);
            java.util.concurrent.ScheduledExecutorService killer = java.util.concurrent.Executors.newSingleThreadScheduledExecutor();
            try {
                killer.schedule(background::interrupt, 300, TimeUnit.MILLISECONDS);
                long start = System.nanoTime();
                assertThatThrownBy(() -> consumer.poll(Duration.ofSeconds(20)))
                        .isInstanceOf(ConsumerClosedException.class)
                        .hasMessageContaining("nterrupt");
                long tookMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
                System.out.printf("[ResourcesIT] R10: poll(20 s) threw %d ms after it began (thread interrupted at 300 ms)%n", tookMs);
                assertThat(tookMs).as("the waiting poll learns of the death, not its own timeout").isLessThan(10_000);
            } finally {
                killer.shutdownNow();
            }
        }
    }
}
