package dev.lanes.consumer;

import dev.lanes.consumer.testing.KafkaBroker;
import dev.lanes.consumer.testing.KafkaBrokerExtension;
import dev.lanes.consumer.testing.TcpProxy.Cut;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.TimeoutException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static dev.lanes.consumer.testing.TestConsumers.lanesMetricOrZero;
import static dev.lanes.consumer.testing.TestConsumers.manualCommitConfig;
import static dev.lanes.consumer.testing.TestConsumers.pollRecords;
import static dev.lanes.consumer.testing.TestConsumers.requestsSent;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * R5, R11, R12 against a real broker reached only through a {@link dev.lanes.consumer.testing.TcpProxy}
 * that the tests cut: time-bound calls keep their deadlines while the broker is unreachable, a commit
 * whose caller timed out is never sent once the broker is reachable again, and close completes every
 * pending commit callback.
 */
class DeadlinesIT {

    @RegisterExtension
    static final KafkaBrokerExtension BROKER = new KafkaBrokerExtension(KafkaBroker.builder().behindProxy());

    private static final AtomicInteger IDS = new AtomicInteger();

    @AfterEach
    void restoreProxy() {
        BROKER.broker().proxy().restore();
    }

    private static String unique(String prefix) {
        return prefix + "-" + IDS.incrementAndGet();
    }

    private static Map<String, Object> config(String group) {
        return manualCommitConfig(BROKER.broker().proxiedBootstrapServers(), group, group + "-client");
    }

    /** Polls until {@code count} records arrived (a first successful contact with broker and coordinator). */
    private static void pollUntil(LanesConsumer<String, String> consumer, int count) {
        assertThat(pollRecords(consumer, count, Duration.ofSeconds(20))).hasSize(count);
    }

    private static long millisSince(long startNanos) {
        return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNanos);
    }

    private static long timed(Runnable call) {
        long start = System.nanoTime();
        call.run();
        return millisSince(start);
    }

    private static long timedTimeout(Runnable call) {
        long start = System.nanoTime();
        assertThatThrownBy(call::run).isInstanceOf(TimeoutException.class);
        return millisSince(start);
    }

    @Test
    void timeBoundCallsKeepTheirDeadlinesWhenTheBrokerWasNeverReachable() {
        String topic = unique("never-reached");
        BROKER.broker().createTopic(topic, 1);
        TopicPartition tp = new TopicPartition(topic, 0);
        BROKER.broker().proxy().cut(Cut.BLACKHOLE);
        LanesConsumer<String, String> consumer = new LanesConsumer<>(config(unique("never-reached-group")));
        try {
            consumer.assign(List.of(tp));
            assertTimeBoundCallsKeepDeadlines(consumer, tp, "never reached, BLACKHOLE");
        } finally {
            long closeMs = timed(() -> consumer.close(Duration.ofSeconds(2)));
            System.out.printf("[DeadlinesIT] never reached, BLACKHOLE: close(2 s) took %d ms%n", closeMs);
            assertThat(closeMs).isLessThan(3_000);
        }
    }

    @ParameterizedTest
    @EnumSource(value = Cut.class, names = {"BLACKHOLE", "STALL"})
    void timeBoundCallsKeepTheirDeadlinesWhenTheBrokerBecomesUnreachable(Cut cut) {
        KafkaBroker broker = BROKER.broker();
        String topic = unique("cut-" + cut.name().toLowerCase());
        broker.createTopic(topic, 2);
        broker.produce(topic, 0, 10, 50);
        TopicPartition tp0 = new TopicPartition(topic, 0);
        TopicPartition tp1 = new TopicPartition(topic, 1);
        LanesConsumer<String, String> consumer = new LanesConsumer<>(config(unique("cut-group")));
        try {
            consumer.assign(List.of(tp0));
            pollUntil(consumer, 10);
            broker.proxy().cut(cut);
            // A newly assigned partition has no position, so position() needs the broker.
            consumer.assign(List.of(tp0, tp1));
            assertTimeBoundCallsKeepDeadlines(consumer, tp1, "after contact, " + cut);
        } finally {
            long closeMs = timed(() -> consumer.close(Duration.ofSeconds(2)));
            System.out.printf("[DeadlinesIT] after contact, %s: close(2 s) took %d ms%n", cut, closeMs);
            assertThat(closeMs).isLessThan(3_000);
        }
    }

    private static void assertTimeBoundCallsKeepDeadlines(LanesConsumer<String, String> consumer, TopicPartition tp,
                                                          String scenario) {
        long pollMs = timed(() -> assertThat(consumer.poll(Duration.ofMillis(100)).isEmpty()).isTrue());
        long commitMs = timedTimeout(() -> consumer.commitSync(Map.of(tp, new OffsetAndMetadata(1)), Duration.ofMillis(300)));
        long positionMs = timedTimeout(() -> consumer.position(tp, Duration.ofMillis(300)));
        long committedMs = timedTimeout(() -> consumer.committed(Set.of(tp), Duration.ofMillis(300)));
        long endOffsetsMs = timedTimeout(() -> consumer.endOffsets(List.of(tp), Duration.ofMillis(300)));
        long poll2Ms = timed(() -> assertThat(consumer.poll(Duration.ofMillis(100)).isEmpty()).isTrue());
        System.out.printf("[DeadlinesIT] %s: poll(100)=%d ms, commitSync(300)=%d ms, position(300)=%d ms, "
                        + "committed(300)=%d ms, endOffsets(300)=%d ms, poll(100) again=%d ms%n",
                scenario, pollMs, commitMs, positionMs, committedMs, endOffsetsMs, poll2Ms);
        assertThat(pollMs).isLessThan(1_000);
        assertThat(commitMs).isLessThan(1_300);
        assertThat(positionMs).isLessThan(1_300);
        assertThat(committedMs).isLessThan(1_300);
        assertThat(endOffsetsMs).isLessThan(1_300);
        assertThat(poll2Ms).isLessThan(1_000);
    }

    @Test
    void commitThatTimedOutBeforeTheCoordinatorWasEverReachedIsNeverSent() {
        KafkaBroker broker = BROKER.broker();
        String topic = unique("expired-first");
        String group = unique("expired-first-group");
        broker.createTopic(topic, 1);
        broker.produce(topic, 0, 20, 50);
        TopicPartition tp = new TopicPartition(topic, 0);
        broker.proxy().cut(Cut.BLACKHOLE);
        try (LanesConsumer<String, String> consumer = new LanesConsumer<>(config(group))) {
            consumer.assign(List.of(tp));
            long commitMs = timedTimeout(() -> consumer.commitSync(Map.of(tp, new OffsetAndMetadata(7)), Duration.ofMillis(300)));
            broker.proxy().restore();
            // Something else that needs the broker and the coordinator: consume everything.
            pollUntil(consumer, 20);
            long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(2);
            while (System.nanoTime() < until) {
                consumer.poll(Duration.ofMillis(200));
            }
            double sent = requestsSent(consumer, "OffsetCommit");
            double expiredUnsent = lanesMetricOrZero(consumer, "requests-expired-unsent-total");
            Map<TopicPartition, OffsetAndMetadata> committed = committedByBroker(group);
            System.out.printf("[DeadlinesIT] expired before first contact: commitSync(300)=%d ms, OffsetCommit sent=%.0f, "
                    + "requests-expired-unsent-total=%.0f, broker has %s%n", commitMs, sent, expiredUnsent, committed);
            assertThat(commitMs).isLessThan(1_300);
            assertThat(committed).doesNotContainKey(tp);
            assertThat(sent).isZero();
        }
    }

    @Test
    void commitThatTimedOutAfterAnEarlierSuccessfulPollIsNeverSent() {
        KafkaBroker broker = BROKER.broker();
        String topic = unique("expired-later");
        String group = unique("expired-later-group");
        broker.createTopic(topic, 1);
        broker.produce(topic, 0, 20, 50);
        TopicPartition tp = new TopicPartition(topic, 0);
        try (LanesConsumer<String, String> consumer = new LanesConsumer<>(config(group))) {
            consumer.assign(List.of(tp));
            pollUntil(consumer, 20);
            double sentBefore = requestsSent(consumer, "OffsetCommit");
            broker.proxy().cut(Cut.BLACKHOLE);
            // Let the consumer notice the cut: its connection closes and the new one hangs before it is ready.
            // (A request written to the old socket before its deadline would count as sent, legitimately.)
            long noticeUntil = System.nanoTime() + TimeUnit.SECONDS.toNanos(1);
            while (System.nanoTime() < noticeUntil) {
                consumer.poll(Duration.ofMillis(100));
            }
            long commitMs = timedTimeout(() -> consumer.commitSync(Map.of(tp, new OffsetAndMetadata(7)), Duration.ofMillis(300)));
            broker.proxy().restore();
            broker.produce(topic, 0, 5, 50);
            pollUntil(consumer, 5);
            long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(2);
            while (System.nanoTime() < until) {
                consumer.poll(Duration.ofMillis(200));
            }
            double sent = requestsSent(consumer, "OffsetCommit");
            Map<TopicPartition, OffsetAndMetadata> committed = committedByBroker(group);
            System.out.printf("[DeadlinesIT] expired after contact: commitSync(300)=%d ms, OffsetCommit sent before=%.0f "
                    + "after=%.0f, broker has %s%n", commitMs, sentBefore, sent, committed);
            assertThat(commitMs).isLessThan(1_300);
            assertThat(committed).doesNotContainKey(tp);
            assertThat(sent).isEqualTo(sentBefore);
            // The consumer still commits normally afterwards.
            consumer.commitSync(Map.of(tp, new OffsetAndMetadata(25)), Duration.ofSeconds(10));
            assertThat(committedByBroker(group).get(tp).offset()).isEqualTo(25);
            assertThat(requestsSent(consumer, "OffsetCommit")).isEqualTo(sentBefore + 1);
        }
    }

    private static Map<TopicPartition, OffsetAndMetadata> committedByBroker(String group) {
        try {
            return BROKER.broker().admin().listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata()
                    .get(10, TimeUnit.SECONDS);
        } catch (Exception e) {
            throw new AssertionError("Could not list the offsets of group " + group, e);
        }
    }

    @Test
    void asyncCommitsAcceptedJustBeforeCloseAreFlushedWhenTheBrokerIsReachable() {
        KafkaBroker broker = BROKER.broker();
        String topic = unique("close-flush");
        String group = unique("close-flush-group");
        broker.createTopic(topic, 1);
        TopicPartition tp = new TopicPartition(topic, 0);
        int calls = 5;
        AtomicInteger completed = new AtomicInteger();
        List<Exception> errors = new ArrayList<>();
        LanesConsumer<String, String> consumer = new LanesConsumer<>(config(group));
        long closeMs;
        try {
            consumer.assign(List.of(tp));
            consumer.committed(Set.of(tp), Duration.ofSeconds(10)); // the coordinator is known
            for (int i = 0; i < calls; i++) {
                consumer.commitAsync(Map.of(tp, new OffsetAndMetadata(i + 1)), (offsets, exception) -> {
                    completed.incrementAndGet();
                    if (exception != null) {
                        errors.add(exception);
                    }
                });
            }
        } finally {
            closeMs = timed(() -> consumer.close(Duration.ofSeconds(5)));
        }
        Map<TopicPartition, OffsetAndMetadata> committed = committedByBroker(group);
        System.out.printf("[DeadlinesIT] close(5 s) right after %d commitAsync, broker reachable: took %d ms, callbacks=%d, "
                + "failed=%d (%s), broker has %s%n", calls, closeMs, completed.get(), errors.size(),
                errors.isEmpty() ? "-" : errors.get(0), committed);
        assertThat(closeMs).isLessThan(5_000);
        assertThat(completed.get()).isEqualTo(calls);
        assertThat(errors).isEmpty();
        assertThat(committed.get(tp).offset()).isEqualTo(calls);
    }

    @ParameterizedTest
    @EnumSource(value = Cut.class, names = {"BLACKHOLE", "STALL"})
    void closeCompletesEveryPendingCommitCallbackWhenTheBrokerIsUnreachable(Cut cut) {
        KafkaBroker broker = BROKER.broker();
        String topic = unique("close-pending-" + cut.name().toLowerCase());
        broker.createTopic(topic, 1);
        broker.produce(topic, 0, 10, 50);
        TopicPartition tp = new TopicPartition(topic, 0);
        int calls = 5;
        AtomicInteger completed = new AtomicInteger();
        List<Exception> errors = new ArrayList<>();
        LanesConsumer<String, String> consumer = new LanesConsumer<>(config(unique("close-pending-group")));
        long closeMs;
        try {
            consumer.assign(List.of(tp));
            pollUntil(consumer, 10);
            broker.proxy().cut(cut);
            for (int i = 0; i < calls; i++) {
                consumer.commitAsync(Map.of(tp, new OffsetAndMetadata(i + 1)), (offsets, exception) -> {
                    completed.incrementAndGet();
                    if (exception != null) {
                        errors.add(exception);
                    }
                });
            }
        } finally {
            closeMs = timed(() -> consumer.close(Duration.ofSeconds(1)));
        }
        System.out.printf("[DeadlinesIT] close(1 s) with %d pending commitAsync (%s): took %d ms, callbacks completed=%d, "
                + "exceptionally=%d (%s)%n", calls, cut, closeMs, completed.get(), errors.size(),
                errors.isEmpty() ? "-" : errors.get(0));
        assertThat(closeMs).isLessThan(2_000);
        assertThat(completed.get()).isEqualTo(calls);
        assertThat(errors).hasSize(calls);
    }
}
