package dev.lanes.consumer;

import dev.lanes.consumer.internals.adapter.ThreadedFakeNetwork;
import dev.lanes.consumer.internals.common.ManualClock;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.consumer.RetriableCommitFailedException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.TimeoutException;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

/**
 * The consumer over a fake network and a manual clock, with its real background thread: close, the
 * application thread's own timed waits, wakeup, back-pressure and the death of the background thread,
 * without a broker. The manual clock never moves on its own, so the background thread never expires a call:
 * whatever ends a wait here is the application thread's side.
 */
class LanesConsumerTest {

    private static final TopicPartition P0 = new TopicPartition("topic", 0);
    private static final Duration GENEROUS = Duration.ofSeconds(10);

    private final ManualClock clock = new ManualClock(1_000_000);
    private final ThreadedFakeNetwork network = new ThreadedFakeNetwork();
    private final List<LanesConsumer<String, String>> consumers = new ArrayList<>();

    @AfterEach
    void closeConsumers() {
        network.resume();
        clock.advance(3_600_000); // past every close deadline, so that background threads still flushing end
        consumers.forEach(consumer -> consumer.close(Duration.ofSeconds(5)));
    }

    private LanesConsumer<String, String> consumer(Map<String, Object> settings) {
        Map<String, Object> configs = new HashMap<>(settings);
        configs.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, "127.0.0.1:9092");
        configs.putIfAbsent(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        LanesConsumer<String, String> consumer = new LanesConsumer<>(configs, new StringDeserializer(),
                new StringDeserializer(), clock, (config, metrics, clock, clusterListener, telemetry) -> network);
        consumers.add(consumer);
        return consumer;
    }

    private LanesConsumer<String, String> groupConsumer(Map<String, Object> settings) {
        Map<String, Object> configs = new HashMap<>(settings);
        configs.put(ConsumerConfig.GROUP_ID_CONFIG, "group");
        return consumer(configs);
    }

    private static Map<TopicPartition, OffsetAndMetadata> offset(long offset) {
        return Map.of(P0, new OffsetAndMetadata(offset));
    }

    /** Runs {@code call} on a thread of its own, as the application thread, and waits until it blocks. */
    private static CompletableFuture<Throwable> blockedCall(Runnable call) {
        CompletableFuture<Throwable> outcome = new CompletableFuture<>();
        Thread application = new Thread(() -> {
            try {
                call.run();
                outcome.complete(null);
            } catch (Throwable t) {
                outcome.complete(t);
            }
        }, "application");
        application.setDaemon(true);
        application.start();
        await().atMost(GENEROUS).until(() -> application.getState() == Thread.State.TIMED_WAITING || outcome.isDone());
        return outcome;
    }

    @Test
    void theSocketReceiveBufferIsTheOperatingSystemsUnlessTheApplicationSetsOne() {
        List<Integer> receiveBuffers = new ArrayList<>();
        for (Map<String, Object> settings : List.<Map<String, Object>>of(Map.of(),
                Map.of(ConsumerConfig.RECEIVE_BUFFER_CONFIG, 65536))) {
            Map<String, Object> configs = new HashMap<>(settings);
            configs.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, "127.0.0.1:9092");
            consumers.add(new LanesConsumer<>(configs, new StringDeserializer(), new StringDeserializer(), clock,
                    (config, metrics, clock, clusterListener, telemetry) -> {
                        receiveBuffers.add(config.getInt(ConsumerConfig.RECEIVE_BUFFER_CONFIG));
                        return new ThreadedFakeNetwork();
                    }));
        }
        assertThat(receiveBuffers).containsExactly(LanesConsumerConfig.DEFAULT_RECEIVE_BUFFER_BYTES, 65536);
        assertThat(LanesConsumerConfig.DEFAULT_RECEIVE_BUFFER_BYTES).isEqualTo(-1);
    }

    @Test
    void callsAfterCloseThrowIllegalStateExceptionAndASecondCloseDoesNothing() {
        LanesConsumer<String, String> consumer = consumer(Map.of());
        consumer.assign(Set.of(P0));

        consumer.close(GENEROUS);

        assertThat(consumer.isClosed()).isTrue();
        assertThat(consumer.isBackgroundThreadAlive()).isFalse();
        assertThat(network.isClosed()).isTrue();
        assertThatThrownBy(() -> consumer.poll(Duration.ZERO))
                .isInstanceOf(IllegalStateException.class).hasMessage("This consumer has already been closed.");
        assertThatThrownBy(consumer::assignment).isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(() -> consumer.position(P0)).isInstanceOf(IllegalStateException.class);
        consumer.close(Duration.ZERO);
    }

    @Test
    void closeReturnsByItsDeadlineWhenTheBackgroundThreadDoesNotAnswer() throws InterruptedException {
        LanesConsumer<String, String> consumer = groupConsumer(Map.of());
        consumer.assign(Set.of(P0));
        network.stall();

        assertTimeoutPreemptively(GENEROUS, () -> consumer.close(Duration.ofMillis(200)));

        assertThat(consumer.isClosed()).isTrue();
        assertThat(consumer.isBackgroundThreadAlive()).as("still stuck in its network poll").isTrue();
        assertThatThrownBy(consumer::assignment).isInstanceOf(IllegalStateException.class);
    }

    @Test
    void commitSyncEndsAtItsDeadlineWhenNoAnswerComes() {
        LanesConsumer<String, String> consumer = groupConsumer(Map.of());
        consumer.assign(Set.of(P0));

        assertThatThrownBy(() -> consumer.commitSync(offset(5), Duration.ofMillis(50)))
                .isInstanceOf(TimeoutException.class).hasMessage("commitSync did not complete before its deadline");
        assertThat(consumer.isBackgroundThreadAlive()).isTrue();
    }

    @Test
    void wakeupFromAnotherThreadEndsABlockedCommitSyncAndIsUsedUp() throws Exception {
        LanesConsumer<String, String> consumer = groupConsumer(Map.of());
        consumer.assign(Set.of(P0));
        CompletableFuture<Throwable> commit = blockedCall(() -> consumer.commitSync(offset(5), Duration.ofMinutes(5)));

        consumer.wakeup();

        assertThat(commit.get(GENEROUS.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS))
                .isInstanceOf(WakeupException.class);
        assertThat(consumer.poll(Duration.ZERO).isEmpty()).as("the wakeup was delivered once").isTrue();
    }

    @Test
    void aPendingWakeupMakesTheNextPollThrowOnce() {
        LanesConsumer<String, String> consumer = consumer(Map.of());
        consumer.assign(Set.of(P0));

        consumer.wakeup();

        assertThatThrownBy(() -> consumer.poll(Duration.ofMinutes(5))).isInstanceOf(WakeupException.class);
        assertThat(consumer.poll(Duration.ZERO).isEmpty()).isTrue();
    }

    @Test
    void wakeupEndsAPollWaitingForRecords() throws Exception {
        LanesConsumer<String, String> consumer = consumer(Map.of());
        consumer.assign(Set.of(P0));
        CompletableFuture<Throwable> poll = blockedCall(() -> consumer.poll(Duration.ofMinutes(5)));

        consumer.wakeup();

        assertThat(poll.get(GENEROUS.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS))
                .isInstanceOf(WakeupException.class);
    }

    @Test
    void aFullUserLaneRefusesCommitAsyncAtOnceAndBlockingCallsAtTheirDeadline() throws InterruptedException {
        LanesConsumer<String, String> consumer = groupConsumer(Map.of(LanesConsumerConfig.USER_LANE_CAPACITY_CONFIG, 1));
        consumer.assign(Set.of(P0));
        network.stall();
        consumer.commitAsync(offset(1), null);

        assertThatThrownBy(() -> consumer.commitAsync(offset(2), null))
                .isInstanceOf(BackPressureException.class)
                .hasMessageContaining("capacity 1").hasMessageContaining(LanesConsumerConfig.USER_LANE_CAPACITY_CONFIG);
        assertThatThrownBy(() -> consumer.commitSync(offset(2), Duration.ofMillis(50)))
                .isInstanceOf(TimeoutException.class)
                .hasMessage("The user lane stayed full (capacity 1) until the call's deadline");
    }

    @Test
    void closeRunsTheCallbackOfEveryPendingAsyncCommitWithAnException() {
        LanesConsumer<String, String> consumer = groupConsumer(Map.of());
        consumer.assign(Set.of(P0));
        List<Long> completed = new ArrayList<>();
        List<Exception> errors = new ArrayList<>();
        for (long offset = 1; offset <= 3; offset++) {
            consumer.commitAsync(offset(offset), (offsets, exception) -> {
                completed.add(offsets.get(P0).offset());
                errors.add(exception);
            });
        }

        consumer.close(Duration.ofMillis(200));

        assertThat(completed).containsExactly(1L, 2L, 3L);
        assertThat(errors).allSatisfy(error -> assertThat(error)
                .isInstanceOf(RetriableCommitFailedException.class)
                .hasCauseInstanceOf(ConsumerClosedException.class));
    }

    @Test
    void aDeadBackgroundThreadEndsAWaitingPollAndEveryLaterCallNamesTheCause() throws Exception {
        LanesConsumer<String, String> consumer = consumer(Map.of());
        consumer.assign(Set.of(P0));
        CompletableFuture<Throwable> poll = blockedCall(() -> consumer.poll(Duration.ofMinutes(5)));

        network.failPollWith(new IllegalStateException("the network exploded"));

        assertThat(poll.get(GENEROUS.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS))
                .isInstanceOf(ConsumerClosedException.class).hasMessageContaining("the network exploded");
        assertThat(consumer.backgroundFailure()).get().extracting(Throwable::getMessage).isEqualTo("the network exploded");
        assertThatThrownBy(consumer::assignment)
                .isInstanceOf(ConsumerClosedException.class)
                .hasMessageContaining("background thread died").hasMessageContaining("the network exploded")
                .hasCauseInstanceOf(IllegalStateException.class);
        assertThatThrownBy(() -> consumer.commitSync(Duration.ofSeconds(1))).isInstanceOf(ConsumerClosedException.class);
        consumer.close(GENEROUS);
        assertThat(consumer.isClosed()).isTrue();
    }
}
