package dev.lanes.consumer.internals.app;

import dev.lanes.consumer.ConsumerClosedException;
import dev.lanes.consumer.MemberState;
import dev.lanes.consumer.internals.common.ManualClock;
import dev.lanes.consumer.internals.metrics.LanesConsumerMetrics;
import dev.lanes.consumer.internals.shared.FetchBuffer;
import dev.lanes.consumer.internals.shared.Lane;
import dev.lanes.consumer.internals.shared.LaneName;
import dev.lanes.consumer.internals.shared.LoopState;
import dev.lanes.consumer.internals.shared.MembershipView;
import dev.lanes.consumer.internals.shared.OffsetResetStrategy;
import dev.lanes.consumer.internals.shared.OwnCommits;
import dev.lanes.consumer.internals.shared.RebalanceCallbackQueue;
import dev.lanes.consumer.internals.shared.SubscriptionState;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.consumer.RetriableCommitFailedException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.metrics.Metrics;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The order of close (R11), with the application-side parts wired as the consumer wires them and a background
 * thread played by the test thread, so every step is seen in the order it happens.
 */
class CloserTest {

    private static final TopicPartition P0 = new TopicPartition("topic", 0);

    private final ManualClock clock = new ManualClock(1_000_000);
    private final List<String> steps = new ArrayList<>();
    private final Lane systemLane = new Lane(LaneName.SYSTEM, 16, clock);
    private final Lane userLane = new Lane(LaneName.USER, 16, clock);
    private final ScriptedBackground background = new ScriptedBackground(systemLane, userLane, steps);
    private final SubscriptionState subscriptions = new SubscriptionState(OffsetResetStrategy.EARLIEST);
    private final FetchBuffer fetchBuffer = new FetchBuffer(1 << 20, () -> { });
    private final LanesConsumerMetrics metrics = new LanesConsumerMetrics(new Metrics(), "test-client");
    private final MembershipView membership = new MembershipView("group", Optional.empty(),
            new MembershipView.Member(MemberState.STABLE, "member-1", 3));
    private final CallGate gate = new CallGate("test-client", background, fetchBuffer::wakeup);
    private final BackgroundCalls calls = new BackgroundCalls("test-client", clock, userLane, background, gate, metrics);
    private final RebalanceListenerInvoker rebalanceListener = new RebalanceListenerInvoker(
            new RebalanceCallbackQueue(fetchBuffer, clock), systemLane, background::wakeup, partitions -> { }, clock,
            metrics);
    private Closer closer;

    @AfterEach
    void closeMetrics() {
        metrics.close();
    }

    /** A listener that writes its calls in the steps; {@code onRevoked} runs inside onPartitionsRevoked. */
    private ConsumerRebalanceListener listener(Runnable onRevoked) {
        return new ConsumerRebalanceListener() {
            @Override
            public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
                steps.add("onPartitionsRevoked " + partitions);
                onRevoked.run();
            }

            @Override
            public void onPartitionsAssigned(Collection<TopicPartition> partitions) {
                steps.add("onPartitionsAssigned " + partitions);
            }

            @Override
            public void onPartitionsLost(Collection<TopicPartition> partitions) {
                steps.add("onPartitionsLost " + partitions);
            }
        };
    }

    private Commits wire(boolean autoCommit) {
        Commits commits = new Commits(clock, subscriptions, userLane, background, calls, new OwnCommits(),
                offsets -> steps.add("onCommit " + offsets.get(P0).offset()), metrics, 60_000, autoCommit);
        GroupExit groupExit = new GroupExit(subscriptions, Optional.of(membership), rebalanceListener, commits,
                systemLane, background, calls);
        closer = new Closer("test-client", clock, gate, subscriptions, groupExit, commits, calls, systemLane, background,
                () -> steps.add("telemetry"), () -> steps.add("discard fetched"), () -> steps.add("release resources"));
        return commits;
    }

    /** A member of the group that owns P0 and has consumed up to offset 42. */
    private void owningP0() {
        subscriptions.subscribe(Set.of("topic"));
        subscriptions.addFromGroup(Set.of(P0));
        subscriptions.seek(P0, 42, Optional.empty());
    }

    @Test
    void closeCommitsWhatAutoCommitOwesRunsTheRevocationThenLeavesThenStopsTheBackgroundThread() {
        wire(true);
        owningP0();
        rebalanceListener.use(listener(() -> { }));

        closer.close(30_000);

        assertThat(steps).containsExactly(
                "CommitEvent", "onCommit 42",
                "onPartitionsRevoked [topic-0]",
                "LeaveGroupEvent",
                "telemetry",
                "CloseEvent",
                "join",
                "discard fetched",
                "release resources");
        assertThat(gate.isClosed()).isTrue();
    }

    @Test
    void aFencedMemberLosesItsPartitionsWithoutCommitting() {
        wire(true);
        owningP0();
        rebalanceListener.use(listener(() -> { }));
        membership.publish(new MembershipView.Member(MemberState.FENCED, "member-1", 3));

        closer.close(30_000);

        assertThat(steps).startsWith("onPartitionsLost [topic-0]", "LeaveGroupEvent").doesNotContain("CommitEvent");
    }

    @Test
    void withoutAGroupSubscriptionCloseOnlyCommitsWhatAutoCommitOwes() {
        wire(true);
        subscriptions.assignFromUser(Set.of(P0));
        subscriptions.seek(P0, 7, Optional.empty());

        closer.close(30_000);

        assertThat(steps).containsExactly("CommitEvent", "onCommit 7", "telemetry", "CloseEvent", "join",
                "discard fetched", "release resources");
    }

    @Test
    void aRevocationCallbackThatThrowsDoesNotStopTheLeave() {
        wire(false);
        owningP0();
        rebalanceListener.use(listener(() -> {
            throw new IllegalStateException("callback failed");
        }));

        closer.close(30_000);

        assertThat(steps).containsSubsequence("onPartitionsRevoked [topic-0]", "LeaveGroupEvent", "CloseEvent",
                "release resources");
    }

    @Test
    void aCloseCalledFromTheRevocationCallbackReturnsAtOnceAndTheOuterCloseGoesOn() {
        wire(false);
        owningP0();
        rebalanceListener.use(listener(() -> closer.close(30_000)));

        closer.close(30_000);

        assertThat(steps).containsOnlyOnce("CloseEvent", "release resources");
    }

    @Test
    void everyPendingAsyncCommitCallbackRunsWithAnExceptionBeforeTheResourcesAreReleased() {
        Commits commits = wire(false);
        background.answerCommits = false;
        subscriptions.assignFromUser(Set.of(P0));
        for (long offset = 1; offset <= 3; offset++) {
            commits.commitAsync(Map.of(P0, new OffsetAndMetadata(offset)), (offsets, exception) -> {
                assertThat(exception).isInstanceOf(RetriableCommitFailedException.class)
                        .hasCauseInstanceOf(ConsumerClosedException.class);
                steps.add("callback " + offsets.get(P0).offset());
            });
        }

        closer.close(30_000);

        assertThat(steps).containsSubsequence("join", "discard fetched", "callback 1", "callback 2", "callback 3",
                "release resources");
        assertThat(commits.pendingAsyncCommits()).isZero();
    }

    @Test
    void aBackgroundThreadThatIsNotRunningIsNotAskedForAnything() {
        wire(true);
        owningP0();
        rebalanceListener.use(listener(() -> { }));
        background.state = LoopState.FAILED;

        closer.close(30_000);

        assertThat(steps).containsExactly("telemetry", "join", "discard fetched", "release resources");
    }

    @Test
    void afterCloseEveryCallIsRefused() {
        wire(false);

        closer.close(0);

        assertThatThrownBy(gate::enter).isInstanceOf(IllegalStateException.class)
                .hasMessage("This consumer has already been closed.");
    }
}
