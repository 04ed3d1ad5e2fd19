package dev.lanes.consumer.internals.app;

import dev.lanes.consumer.BackPressureException;
import dev.lanes.consumer.ConsumerClosedException;
import dev.lanes.consumer.internals.common.ManualClock;
import dev.lanes.consumer.internals.events.TopicMetadataEvent;
import dev.lanes.consumer.internals.metrics.LanesConsumerMetrics;
import dev.lanes.consumer.internals.shared.FetchBuffer;
import dev.lanes.consumer.internals.shared.Lane;
import dev.lanes.consumer.internals.shared.LaneName;
import org.apache.kafka.common.errors.TimeoutException;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.metrics.Metrics;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Optional;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Submitting to the user lane and the application thread's own wait, with a manual clock and no background thread. */
class BackgroundCallsTest {

    private final ManualClock clock = new ManualClock(1_000_000);
    private final Lane userLane = new Lane(LaneName.USER, 1, clock);
    /** A background thread that never takes from {@link #userLane}. */
    private final ScriptedBackground background = new ScriptedBackground(new Lane(LaneName.SYSTEM, 16, clock),
            new Lane(LaneName.USER, 1, clock), new ArrayList<>());
    private final LanesConsumerMetrics metrics = new LanesConsumerMetrics(new Metrics(), "test-client");
    private final CallGate gate = new CallGate("test-client", background, new FetchBuffer(1 << 20, () -> { })::wakeup);
    private final BackgroundCalls calls = new BackgroundCalls("test-client", clock, userLane, background, gate, metrics);

    @AfterEach
    void closeMetrics() {
        metrics.close();
    }

    private TopicMetadataEvent event(long timeoutMs) {
        return new TopicMetadataEvent(Optional.of("topic"), clock.deadlineAfter(timeoutMs));
    }

    @Test
    void aCallWhoseDeadlineHasPassedTimesOutWithoutWaitingAndItsEventIsAbandoned() {
        TopicMetadataEvent event = event(100);
        calls.submitBlocking(event);
        clock.advance(100);

        assertThatThrownBy(() -> calls.await(event, "partitionsFor"))
                .isInstanceOf(TimeoutException.class).hasMessage("partitionsFor did not complete before its deadline");
        assertThat(event.future()).isCompletedExceptionally();
    }

    @Test
    void anAnswerBeforeTheDeadlineIsReturned() {
        TopicMetadataEvent event = event(100);
        event.future().complete(java.util.Map.of());

        assertThat(calls.await(event, "partitionsFor")).isEmpty();
    }

    @Test
    void aPendingWakeupEndsTheNextWaitOnceAndItsEventIsAbandoned() {
        TopicMetadataEvent first = event(60_000);
        gate.wakeup();

        assertThatThrownBy(() -> calls.await(first, "listTopics")).isInstanceOf(WakeupException.class);
        TopicMetadataEvent second = event(60_000);
        second.future().complete(java.util.Map.of());
        assertThat(calls.await(second, "listTopics")).isEmpty();
    }

    @Test
    void theBackgroundThreadsFailureReachesTheCallerAsIs() {
        TopicMetadataEvent event = event(60_000);
        event.future().completeExceptionally(new ConsumerClosedException("closing", null));

        assertThatThrownBy(() -> calls.await(event, "listTopics")).isInstanceOf(ConsumerClosedException.class)
                .hasMessage("closing");
    }

    @Test
    void aFullUserLaneRefusesANonBlockingCallAtOnceAndABlockingOneAtItsDeadline() {
        calls.submitNonBlocking(event(60_000));

        assertThatThrownBy(() -> calls.submitNonBlocking(event(60_000)))
                .isInstanceOf(BackPressureException.class)
                .hasMessage("The user lane of consumer test-client is full (capacity 1); back off and retry, or raise "
                        + "lanes.user.lane.capacity");
        assertThatThrownBy(() -> calls.submitBlocking(event(0)))
                .isInstanceOf(TimeoutException.class)
                .hasMessage("The user lane stayed full (capacity 1) until the call's deadline");
    }
}
