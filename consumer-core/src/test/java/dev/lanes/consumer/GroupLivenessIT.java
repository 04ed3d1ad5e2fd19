package dev.lanes.consumer;

import dev.lanes.consumer.testing.KafkaBroker;
import dev.lanes.consumer.testing.KafkaBrokerExtension;
import dev.lanes.consumer.testing.TcpProxy;
import org.apache.kafka.clients.admin.AlterConfigOp;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

import static dev.lanes.consumer.testing.TestConsumers.autoCommitConfig;
import static dev.lanes.consumer.testing.TestConsumers.lanesMetric;
import static dev.lanes.consumer.testing.TestConsumers.pollRecords;
import static dev.lanes.consumer.testing.TestConsumers.produceToEveryPartition;
import static dev.lanes.consumer.testing.TestConsumers.sleep;
import static dev.lanes.consumer.testing.TestConsumers.waitUntil;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Issue 3 liveness against a real broker (heartbeat interval 500 ms): slow batches within
 * max.poll.interval.ms keep the membership; exceeding it leaves and rejoins; heartbeats keep their
 * timing while the user lane is flooded; a member fenced after a network stall loses its partitions and
 * rejoins. Measured numbers go to stdout; timed assertions are loose bounds only.
 */
class GroupLivenessIT {

    @RegisterExtension
    static final KafkaBrokerExtension BROKER = new KafkaBrokerExtension(KafkaBroker.builder().behindProxy());

    private static final long STABLE = MemberState.STABLE.ordinal();
    private static final long STALE = MemberState.STALE.ordinal();
    private static final long FENCED = MemberState.FENCED.ordinal();

    // ------------------------------------------------------------------ slow batches

    @Test
    void memberWhoseBatchesTakeThreeHeartbeatIntervalsKeepsItsMembership() {
        String topic = "slow-batches";
        BROKER.broker().createTopic(topic, 2);
        produceToEveryPartition(BROKER.broker(), topic, 2, 100, 20);
        Map<String, Object> config = autoCommitConfig(BROKER.broker().bootstrapServers(), "slow-batches-group", "slow-batches");
        config.put(ConsumerConfig.MAX_POLL_INTERVAL_MS_CONFIG, 10_000);
        config.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 10);
        Callbacks callbacks = new Callbacks();
        try (LanesConsumer<String, String> consumer = new LanesConsumer<>(config, new StringDeserializer(), new StringDeserializer())) {
            consumer.subscribe(List.of(topic), callbacks);
            awaitRecords(consumer, 1, Duration.ofSeconds(20));
            assertThat(consumer.assignment()).hasSize(2);
            int epoch = consumer.groupMetadata().generationId();
            List<String> samples = new ArrayList<>();
            for (int batch = 0; batch < 6; batch++) {
                double before = lanesMetric(consumer, "heartbeat-total");
                sleep(1500); // processing: three heartbeat intervals
                double after = lanesMetric(consumer, "heartbeat-total");
                long state = (long) lanesMetric(consumer, "member-state");
                samples.add(String.format("batch %d: heartbeats +%.0f while sleeping, state %s, last-heartbeat-ms-ago %.0f",
                        batch, after - before, MemberState.values()[(int) state], lanesMetric(consumer, "last-heartbeat-ms-ago")));
                assertThat(after).as("heartbeat-total grows while the application sleeps (batch %d)", batch).isGreaterThan(before);
                assertThat(state).as("member-state after batch %d", batch).isEqualTo(STABLE);
                ConsumerRecords<String, String> records = consumer.poll(Duration.ofMillis(500));
                assertThat(records.count()).as("batch %d", batch + 1).isPositive();
            }
            samples.forEach(s -> System.out.println("slow batches: " + s));
            assertThat(callbacks.lost).isEmpty();
            assertThat(callbacks.revoked).isEmpty();
            assertThat(consumer.groupMetadata().generationId()).as("member epoch unchanged").isEqualTo(epoch);
            assertThat(consumer.assignment()).hasSize(2);
        }
    }

    // ------------------------------------------------------------------ max.poll.interval.ms

    @Test
    void memberThatExceedsMaxPollIntervalLeavesAndRejoinsOnItsNextPoll() throws Exception {
        String topic = "poll-timeout";
        String group = "poll-timeout-group";
        BROKER.broker().createTopic(topic, 2);
        produceToEveryPartition(BROKER.broker(), topic, 2, 20, 20);
        Map<String, Object> config = autoCommitConfig(BROKER.broker().bootstrapServers(), group, "poll-timeout-a");
        config.put(ConsumerConfig.MAX_POLL_INTERVAL_MS_CONFIG, 2000);
        Callbacks callbacks = new Callbacks();

        // A second member that takes the partitions while the first one is gone.
        AtomicInteger otherAssigned = new AtomicInteger();
        AtomicInteger otherMaxAssigned = new AtomicInteger();
        AtomicBoolean stopOther = new AtomicBoolean();
        List<Throwable> otherErrors = new CopyOnWriteArrayList<>();
        Thread other = new Thread(() -> {
            Map<String, Object> otherConfig = autoCommitConfig(BROKER.broker().bootstrapServers(), group, "poll-timeout-b");
            try (LanesConsumer<String, String> b = new LanesConsumer<>(otherConfig, new StringDeserializer(), new StringDeserializer())) {
                b.subscribe(List.of(topic), new ConsumerRebalanceListener() {
                    @Override
                    public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
                        otherAssigned.addAndGet(-partitions.size());
                    }

                    @Override
                    public void onPartitionsAssigned(Collection<TopicPartition> partitions) {
                        otherMaxAssigned.accumulateAndGet(otherAssigned.addAndGet(partitions.size()), Math::max);
                    }
                });
                while (!stopOther.get()) {
                    b.poll(Duration.ofMillis(100));
                }
            } catch (Throwable t) {
                otherErrors.add(t);
            }
        }, "poll-timeout-b");

        try (LanesConsumer<String, String> consumer = new LanesConsumer<>(config, new StringDeserializer(), new StringDeserializer())) {
            consumer.subscribe(List.of(topic), callbacks);
            awaitRecords(consumer, 40, Duration.ofSeconds(20));
            other.start();
            waitUntil(Duration.ofSeconds(20), () -> {
                consumer.poll(Duration.ofMillis(100));
                return consumer.assignment().size() == 1 && otherAssigned.get() == 1;
            }, "both members own one partition");
            callbacks.clear();

            long start = System.nanoTime();
            sleep(3500);
            // Keep "processing" until the other member took everything (bounded), sampling our state.
            long stateWhileAway = (long) lanesMetric(consumer, "member-state");
            waitUntil(Duration.ofSeconds(15), () -> otherAssigned.get() == 2, "the other member owns both partitions");
            long awayMs = (System.nanoTime() - start) / 1_000_000;
            System.out.printf("poll timeout: state after 3.5 s without poll=%s, other member had both partitions after %d ms%n",
                    MemberState.values()[(int) stateWhileAway], awayMs);
            assertThat(stateWhileAway).as("member-state while away").isEqualTo(STALE);
            assertThat(callbacks.lost).as("no callback runs while the application is away").isEmpty();

            // Next poll: partitions lost, then rejoin and consume again.
            long rejoinStart = System.nanoTime();
            produceToEveryPartition(BROKER.broker(), topic, 2, 10, 20);
            waitUntil(Duration.ofSeconds(20), () -> {
                consumer.poll(Duration.ofMillis(100));
                return !consumer.assignment().isEmpty();
            }, "the member rejoins and gets a partition");
            long rejoinMs = (System.nanoTime() - rejoinStart) / 1_000_000;
            System.out.printf("poll timeout: callbacks after return=%s, rejoined with %s in %d ms, state %s%n",
                    callbacks.events, consumer.assignment(), rejoinMs,
                    MemberState.values()[(int) lanesMetric(consumer, "member-state")]);
            assertThat(callbacks.lost).as("onPartitionsLost on the next poll").hasSize(1);
            assertThat(callbacks.events.get(0)).startsWith("lost");
            assertThat(callbacks.revoked).isEmpty();
            // It consumes again: produce to the partition it now owns.
            TopicPartition mine = consumer.assignment().iterator().next();
            BROKER.broker().produce(topic, mine.partition(), 5, 20);
            int got = 0;
            long deadline = System.currentTimeMillis() + 15_000;
            while (got == 0 && System.currentTimeMillis() < deadline) {
                got += consumer.poll(Duration.ofMillis(200)).records(mine).size();
            }
            assertThat(got).as("consumes again after rejoining").isPositive();
        } finally {
            stopOther.set(true);
            other.join(20_000);
        }
        assertThat(otherErrors).isEmpty();
        assertThat(otherMaxAssigned.get()).isEqualTo(2);
    }

    // ------------------------------------------------------------------ heartbeats under a commitAsync flood

    @Test
    void heartbeatsKeepTheirTimingWhileTheUserLaneIsFloodedAndProcessingIsSlow() throws Exception {
        String topic = "flood";
        String clientId = "flood-client";
        BROKER.broker().createTopic(topic, 3);
        Map<String, Object> config = autoCommitConfig(BROKER.broker().bootstrapServers(), "flood-group", clientId);
        config.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        config.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 50);
        Callbacks callbacks = new Callbacks();
        AtomicBoolean producing = new AtomicBoolean(true);
        Thread producer = new Thread(() -> {
            try (KafkaProducer<byte[], byte[]> p = BROKER.broker().producer(Map.of("linger.ms", 5))) {
                int seq = 0;
                while (producing.get()) {
                    for (int i = 0; i < 30; i++, seq++) {
                        p.send(new ProducerRecord<>(topic, seq % 3, null, ("f" + seq).getBytes(StandardCharsets.US_ASCII)));
                    }
                    p.flush();
                    sleep(20);
                }
            }
        }, "flood-producer");

        try (LanesConsumer<String, String> consumer = new LanesConsumer<>(config, new StringDeserializer(), new StringDeserializer())) {
            consumer.subscribe(List.of(topic), callbacks);
            producer.start();
            awaitRecords(consumer, 1, Duration.ofSeconds(20));
            waitUntil(Duration.ofSeconds(10), () -> {
                consumer.poll(Duration.ofMillis(50));
                return consumer.assignment().size() == 3 && lanesMetric(consumer, "member-state") == STABLE;
            }, "stable with all partitions");

            // Sampler on its own thread: metrics() is not thread-confined.
            AtomicBoolean sampling = new AtomicBoolean(true);
            List<Long> gaps = Collections.synchronizedList(new ArrayList<>());
            AtomicLong maxMsAgo = new AtomicLong();
            AtomicBoolean sawFenced = new AtomicBoolean();
            Thread sampler = new Thread(() -> {
                double lastTotal = lanesMetric(consumer, "heartbeat-total");
                long lastChange = System.nanoTime();
                while (sampling.get()) {
                    sleep(20);
                    double total = lanesMetric(consumer, "heartbeat-total");
                    long now = System.nanoTime();
                    if (total != lastTotal) {
                        gaps.add((now - lastChange) / 1_000_000);
                        lastTotal = total;
                        lastChange = now;
                    }
                    maxMsAgo.accumulateAndGet((long) lanesMetric(consumer, "last-heartbeat-ms-ago"), Math::max);
                    long state = (long) lanesMetric(consumer, "member-state");
                    if (state == FENCED || state == STALE) {
                        sawFenced.set(true);
                    }
                }
            }, "heartbeat-sampler");
            sampler.start();

            long commits = 0;
            long rejected = 0;
            long records = 0;
            long maxCallNanos = 0;
            AtomicLong completed = new AtomicLong();
            AtomicLong failed = new AtomicLong();
            long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (System.nanoTime() < end) {
                ConsumerRecords<String, String> batch = consumer.poll(Duration.ofMillis(100));
                records += batch.count();
                Map<TopicPartition, Long> last = new HashMap<>();
                for (ConsumerRecord<String, String> r : batch) {
                    last.put(new TopicPartition(r.topic(), r.partition()), r.offset());
                }
                TopicPartition p0 = new TopicPartition(topic, 0);
                // A burst larger than the user lane (capacity 1024): some calls must be turned away.
                for (int i = 0; i < 2000; i++) {
                    Map<TopicPartition, OffsetAndMetadata> offsets = new HashMap<>();
                    last.forEach((tp, offset) -> offsets.put(tp, new OffsetAndMetadata(offset + 1)));
                    if (offsets.isEmpty()) {
                        offsets.put(p0, new OffsetAndMetadata(consumer.position(p0)));
                    }
                    long callStart = System.nanoTime();
                    try {
                        consumer.commitAsync(offsets, (o, e) -> (e == null ? completed : failed).incrementAndGet());
                        commits++;
                    } catch (BackPressureException e) {
                        rejected++;
                    }
                    maxCallNanos = Math.max(maxCallNanos, System.nanoTime() - callStart);
                }
                sleep(200); // slow processing
            }
            sampling.set(false);
            sampler.join(5_000);
            producing.set(false);
            producer.join(10_000);

            List<Long> sorted = new ArrayList<>(gaps);
            Collections.sort(sorted);
            long maxGap = sorted.isEmpty() ? Long.MAX_VALUE : sorted.get(sorted.size() - 1);
            long p99 = sorted.isEmpty() ? Long.MAX_VALUE : sorted.get(Math.min(sorted.size() - 1, (int) Math.ceil(sorted.size() * 0.99) - 1));
            long p50 = sorted.isEmpty() ? Long.MAX_VALUE : sorted.get(sorted.size() / 2);
            double gapMetric = lanesMetric(consumer, "heartbeat-gap-max");
            System.out.printf("flood: heartbeat gaps (interval %.0f ms, sampled every 20 ms): n=%d p50=%d p99=%d max=%d ms; "
                            + "max last-heartbeat-ms-ago=%d; heartbeat-gap-max=%.0f ms; heartbeat-response-time-max=%.1f ms; commitAsync accepted=%d "
                            + "rejected(BackPressure)=%d callbacks ok=%d failed=%d; slowest commitAsync call %.2f ms; records=%d%n",
                    lanesMetric(consumer, "heartbeat-interval-ms"), sorted.size(), p50, p99, maxGap, maxMsAgo.get(),
                    gapMetric, lanesMetric(consumer, "heartbeat-response-time-max"), commits, rejected, completed.get(), failed.get(), maxCallNanos / 1e6, records);
            assertThat(sorted).as("heartbeats answered during the flood").hasSizeGreaterThan(10);
            assertThat(maxGap).as("max heartbeat gap (loose bound)").isLessThan(3000);
            // The sampler sees a gap up to one sampling period late at either end.
            assertThat(gapMetric).as("heartbeat-gap-max against the sampled gaps").isGreaterThanOrEqualTo(maxGap - 40.0)
                    .isLessThan(3000);
            assertThat(sawFenced.get()).as("member fenced or stale during the flood").isFalse();
            assertThat(callbacks.lost).isEmpty();
            assertThat(callbacks.revoked).isEmpty();
            assertThat(commits).isPositive();
        } finally {
            producing.set(false);
            producer.join(10_000);
        }
    }

    // ------------------------------------------------------------------ fenced after a stall

    @Test
    void memberFencedAfterANetworkStallLosesItsPartitionsAndRejoins() throws Exception {
        String topic = "fenced";
        String group = "fenced-group";
        BROKER.broker().createTopic(topic, 2);
        produceToEveryPartition(BROKER.broker(), topic, 2, 10, 20);
        BROKER.broker().admin().incrementalAlterConfigs(Map.of(new ConfigResource(ConfigResource.Type.GROUP, group),
                List.of(new AlterConfigOp(new ConfigEntry("consumer.session.timeout.ms", "3000"), AlterConfigOp.OpType.SET))))
                .all().get(10, TimeUnit.SECONDS);
        TcpProxy proxy = BROKER.broker().proxy();
        Map<String, Object> config = autoCommitConfig(BROKER.broker().proxiedBootstrapServers(), group, "fenced-client");
        Callbacks callbacks = new Callbacks();
        try (LanesConsumer<String, String> consumer = new LanesConsumer<>(config, new StringDeserializer(), new StringDeserializer())) {
            consumer.subscribe(List.of(topic), callbacks);
            awaitRecords(consumer, 20, Duration.ofSeconds(20));
            String memberIdBefore = consumer.groupMetadata().memberId();
            int epochBefore = consumer.groupMetadata().generationId();
            callbacks.clear();

            proxy.cut(TcpProxy.Cut.STALL);
            long maxPollMs = 0;
            int polls = 0;
            long cutEnd = System.nanoTime() + TimeUnit.SECONDS.toNanos(6);
            try {
                while (System.nanoTime() < cutEnd) {
                    long start = System.nanoTime();
                    consumer.poll(Duration.ofMillis(100));
                    maxPollMs = Math.max(maxPollMs, (System.nanoTime() - start) / 1_000_000);
                    polls++;
                }
            } finally {
                proxy.restore();
            }
            System.out.printf("fenced: %d polls(100 ms) during a 6 s stall, slowest %d ms; callbacks during the stall %s%n",
                    polls, maxPollMs, callbacks.events);
            assertThat(maxPollMs).as("poll(100 ms) returns by its deadline during the stall (loose)").isLessThan(1000);

            long restored = System.nanoTime();
            waitUntil(Duration.ofSeconds(30), () -> {
                consumer.poll(Duration.ofMillis(100));
                return !callbacks.lost.isEmpty() && consumer.assignment().size() == 2;
            }, "partitions lost, then assigned again");
            long rejoinMs = (System.nanoTime() - restored) / 1_000_000;
            produceToEveryPartition(BROKER.broker(), topic, 2, 5, 20);
            int got = awaitRecords(consumer, 10, Duration.ofSeconds(20));
            System.out.printf("fenced: rejoined %d ms after restore; member %s epoch %d -> member %s epoch %d; callbacks %s; new records %d%n",
                    rejoinMs, memberIdBefore, epochBefore, consumer.groupMetadata().memberId(),
                    consumer.groupMetadata().generationId(), callbacks.events, got);
            assertThat(callbacks.lost).as("onPartitionsLost").isNotEmpty();
            assertThat(callbacks.revoked).as("no revocation for a fenced member").isEmpty();
            assertThat(got).as("records produced after restore arrive").isGreaterThanOrEqualTo(10);
        } finally {
            proxy.restore();
        }
    }

    // ------------------------------------------------------------------ helpers

    private static int awaitRecords(LanesConsumer<String, String> consumer, int count, Duration timeout) {
        int got = pollRecords(consumer, count, timeout).size();
        assertThat(got).as("records received within %s", timeout).isGreaterThanOrEqualTo(count);
        return got;
    }

    private static final class Callbacks implements ConsumerRebalanceListener {
        final List<String> events = new CopyOnWriteArrayList<>();
        final List<Collection<TopicPartition>> lost = new CopyOnWriteArrayList<>();
        final List<Collection<TopicPartition>> revoked = new CopyOnWriteArrayList<>();

        void clear() {
            events.clear();
            lost.clear();
            revoked.clear();
        }

        @Override
        public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
            events.add("revoked " + partitions);
            revoked.add(partitions);
        }

        @Override
        public void onPartitionsAssigned(Collection<TopicPartition> partitions) {
            events.add("assigned " + partitions);
        }

        @Override
        public void onPartitionsLost(Collection<TopicPartition> partitions) {
            events.add("lost " + partitions);
            lost.add(partitions);
        }
    }
}
