package dev.lanes.consumer.internals.background.managers;

import dev.lanes.consumer.internals.adapter.FakeNetwork;
import dev.lanes.consumer.internals.common.ManualClock;
import dev.lanes.consumer.internals.metrics.LanesConsumerMetrics;
import dev.lanes.consumer.internals.shared.OffsetResetStrategy;
import dev.lanes.consumer.internals.shared.SubscriptionState;
import org.apache.kafka.clients.consumer.CommitFailedException;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.consumer.RetriableCommitFailedException;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.CoordinatorLoadInProgressException;
import org.apache.kafka.common.errors.DisconnectException;
import org.apache.kafka.common.errors.FencedMemberEpochException;
import org.apache.kafka.common.errors.NotCoordinatorException;
import org.apache.kafka.common.errors.StaleMemberEpochException;
import org.apache.kafka.common.errors.TimeoutException;
import org.apache.kafka.common.errors.UnknownMemberIdException;
import org.apache.kafka.common.message.OffsetCommitRequestData;
import org.apache.kafka.common.metrics.Metrics;
import org.apache.kafka.common.requests.OffsetCommitRequest;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

class CommitRequestManagerTest {

    private static final Node COORDINATOR = new Node(3, "localhost", 9095);
    private static final TopicPartition P0 = new TopicPartition("topic", 0);
    private static final TopicPartition P1 = new TopicPartition("topic", 1);
    private static final long RETRY_BACKOFF_MS = 100;
    private static final long RETRY_BACKOFF_MAX_MS = 1_000;

    private final ManualClock clock = new ManualClock(10_000);
    private final LanesConsumerMetrics metrics = new LanesConsumerMetrics(new Metrics(), "test-client");
    private final SubscriptionState subscriptions = new SubscriptionState(OffsetResetStrategy.EARLIEST);
    private final CoordinatorRequestManager coordinator = new CoordinatorRequestManager("group", clock,
            RETRY_BACKOFF_MS, RETRY_BACKOFF_MAX_MS, 30_000);
    private final CommitRequestManager commits = new CommitRequestManager("group", clock, coordinator, subscriptions,
            metrics, false, 5_000, RETRY_BACKOFF_MS, RETRY_BACKOFF_MAX_MS, false);

    @AfterEach
    void closeMetrics() {
        metrics.close();
    }

    @SuppressWarnings("unchecked")
    private static <R> void complete(UnsentRequest<?> request, R result, Throwable error) {
        ((UnsentRequest<R>) request).complete(result, error);
    }

    private void knowCoordinator() {
        assertThat(coordinator.coordinator()).isEmpty();
        List<UnsentRequest<?>> lookup = coordinator.poll(clock.milliseconds()).requests();
        assertThat(lookup).singleElement().satisfies(r -> assertThat(r.request().name()).isEqualTo("FindCoordinator"));
        complete(lookup.get(0), COORDINATOR, null);
        assertThat(coordinator.coordinator()).contains(COORDINATOR);
    }

    private List<UnsentRequest<?>> poll() {
        return commits.poll(clock.milliseconds()).requests();
    }

    private static CompletableFuture<Map<TopicPartition, OffsetAndMetadata>> future() {
        return new CompletableFuture<>();
    }

    private static Map<TopicPartition, OffsetAndMetadata> offsets(Object... partitionsAndOffsets) {
        Map<TopicPartition, OffsetAndMetadata> offsets = new HashMap<>();
        for (int i = 0; i < partitionsAndOffsets.length; i += 2) {
            offsets.put((TopicPartition) partitionsAndOffsets[i],
                    new OffsetAndMetadata(((Number) partitionsAndOffsets[i + 1]).longValue()));
        }
        return offsets;
    }

    /** The committed offsets an OffsetCommit request carries on the wire. */
    private static Map<TopicPartition, Long> committedOffsets(UnsentRequest<?> request) {
        assertThat(request.request().name()).isEqualTo("OffsetCommit");
        OffsetCommitRequestData data = ((OffsetCommitRequest) FakeNetwork.build(request.request())).data();
        Map<TopicPartition, Long> committed = new HashMap<>();
        data.topics().forEach(topic -> topic.partitions().forEach(partition ->
                committed.put(new TopicPartition(topic.name(), partition.partitionIndex()), partition.committedOffset())));
        return committed;
    }

    @Test
    void asyncCommitsMadeWhileOneIsInFlightMergeIntoOneRequestWithTheLatestOffsets() {
        knowCoordinator();
        var first = future();
        commits.commit(offsets(P0, 1), false, clock.milliseconds() + 5_000, first);
        List<UnsentRequest<?>> inFlight = poll();
        assertThat(inFlight).hasSize(1);
        assertThat(inFlight.get(0).destination()).contains(COORDINATOR);
        assertThat(inFlight.get(0).priority()).isEqualTo(Priority.USER);

        var second = future();
        var third = future();
        var fourth = future();
        commits.commit(offsets(P0, 2), false, clock.milliseconds() + 5_000, second);
        commits.commit(offsets(P1, 7), false, clock.milliseconds() + 5_000, third);
        commits.commit(offsets(P0, 3), false, clock.milliseconds() + 5_000, fourth);
        assertThat(poll()).as("one commit at a time").isEmpty();
        assertThat(metrics.value("requests-coalesced-total", Map.of())).isEqualTo(2.0);

        complete(inFlight.get(0), Map.of(), null);
        assertThat(first).isCompletedWithValue(offsets(P0, 1));

        List<UnsentRequest<?>> merged = poll();
        assertThat(merged).hasSize(1);
        assertThat(committedOffsets(merged.get(0))).isEqualTo(Map.of(P0, 3L, P1, 7L));
        assertThat(poll()).isEmpty();

        complete(merged.get(0), Map.of(), null);
        for (var future : List.of(second, third, fourth)) {
            assertThat(future).isCompletedWithValue(offsets(P0, 3, P1, 7));
        }
        assertThat(commits.hasPendingCommits()).isFalse();
    }

    @Test
    void everyCallerOfAMergedCommitGetsItsFailure() {
        knowCoordinator();
        var first = future();
        commits.commit(offsets(P0, 1), false, clock.milliseconds() + 5_000, first);
        UnsentRequest<?> inFlight = poll().get(0);
        var second = future();
        var third = future();
        commits.commit(offsets(P0, 2), false, clock.milliseconds() + 5_000, second);
        commits.commit(offsets(P1, 2), false, clock.milliseconds() + 5_000, third);
        complete(inFlight, Map.of(), null);

        UnsentRequest<?> merged = poll().get(0);
        complete(merged, Map.of(P1, new org.apache.kafka.common.errors.OffsetMetadataTooLarge("too large")), null);

        for (var future : List.of(second, third)) {
            assertThat(catchThrowable(future::join)).hasCauseInstanceOf(
                    org.apache.kafka.common.errors.OffsetMetadataTooLarge.class);
        }
    }

    @Test
    void syncCommitWaitsBehindEarlierAsyncCommitsAndIsNotMergedWithThem() {
        knowCoordinator();
        var async1 = future();
        commits.commit(offsets(P0, 1), false, clock.milliseconds() + 5_000, async1);
        UnsentRequest<?> first = poll().get(0);
        var async2 = future();
        commits.commit(offsets(P0, 2), false, clock.milliseconds() + 5_000, async2);
        var sync = future();
        commits.commit(offsets(P1, 9), true, clock.milliseconds() + 5_000, sync);
        var async3 = future();
        commits.commit(offsets(P0, 4), false, clock.milliseconds() + 5_000, async3);

        assertThat(poll()).isEmpty();
        complete(first, Map.of(), null);

        UnsentRequest<?> second = poll().get(0);
        assertThat(committedOffsets(second)).isEqualTo(Map.of(P0, 2L));
        assertThat(poll()).isEmpty();
        complete(second, Map.of(), null);
        assertThat(sync).isNotDone();

        UnsentRequest<?> syncRequest = poll().get(0);
        assertThat(committedOffsets(syncRequest)).isEqualTo(Map.of(P1, 9L));
        complete(syncRequest, Map.of(), null);
        assertThat(sync).isCompletedWithValue(offsets(P1, 9));

        UnsentRequest<?> last = poll().get(0);
        assertThat(committedOffsets(last)).isEqualTo(Map.of(P0, 4L));
    }

    @Test
    void syncCommitRetriesRetriableErrorsUntilItsDeadlineThenTimesOut() {
        knowCoordinator();
        long deadline = clock.milliseconds() + 1_000;
        var sync = future();
        commits.commit(offsets(P0, 5), true, deadline, sync);

        int attempts = 0;
        while (clock.milliseconds() < deadline) {
            List<UnsentRequest<?>> requests = poll();
            if (!requests.isEmpty()) {
                assertThat(requests).hasSize(1);
                attempts++;
                clock.advance(10);
                complete(requests.get(0), null, new CoordinatorLoadInProgressException("loading"));
                assertThat(sync).isNotDone();
            } else {
                clock.advance(10);
            }
        }
        assertThat(attempts).isGreaterThan(2);
        // the deadline passed during a backoff: the commit is failed and not sent again
        List<UnsentRequest<?>> afterDeadline = poll();
        assertThat(afterDeadline).isEmpty();
        assertThat(catchThrowable(sync::join)).isInstanceOf(CompletionException.class)
                .hasCauseInstanceOf(TimeoutException.class);
        assertThat(commits.hasPendingCommits()).isFalse();
    }

    @Test
    void syncCommitWhoseRetriableErrorArrivesAtItsDeadlineFailsWithTimeoutException() {
        knowCoordinator();
        long deadline = clock.milliseconds() + 1_000;
        var sync = future();
        commits.commit(offsets(P0, 5), true, deadline, sync);
        UnsentRequest<?> request = poll().get(0);

        clock.set(deadline);
        CoordinatorLoadInProgressException cause = new CoordinatorLoadInProgressException("loading");
        complete(request, null, cause);

        // commitSync must not surface a retriable error: its timeout ran out while retrying
        Throwable error = catchThrowable(sync::join);
        assertThat(error).hasCauseInstanceOf(TimeoutException.class);
        assertThat(error.getCause().getCause()).isSameAs(cause);
        assertThat(poll()).isEmpty();
        assertThat(commits.hasPendingCommits()).isFalse();
    }

    @Test
    void syncCommitFailsAtOnceOnANonRetriableError() {
        knowCoordinator();
        var sync = future();
        commits.commit(offsets(P0, 5), true, clock.milliseconds() + 10_000, sync);
        var cause = new org.apache.kafka.common.errors.GroupAuthorizationException("denied");
        complete(poll().get(0), null, cause);

        assertThat(catchThrowable(sync::join)).hasCauseReference(cause);
        clock.advance(5_000);
        assertThat(poll()).isEmpty();
    }

    @Test
    void syncCommitRetryWaitsForTheBackoff() {
        knowCoordinator();
        var sync = future();
        commits.commit(offsets(P0, 5), true, clock.milliseconds() + 10_000, sync);
        complete(poll().get(0), null, new CoordinatorLoadInProgressException("loading"));

        // jitter keeps the first backoff within 80..120 ms
        clock.advance(79);
        assertThat(poll()).isEmpty();
        clock.advance(42);
        List<UnsentRequest<?>> retry = poll();
        assertThat(retry).hasSize(1);
        complete(retry.get(0), Map.of(), null);
        assertThat(sync).isCompletedWithValue(offsets(P0, 5));
    }

    @Test
    void syncCommitAfterNotCoordinatorLooksTheCoordinatorUpAgainAndRetries() {
        knowCoordinator();
        var sync = future();
        commits.commit(offsets(P0, 5), true, clock.milliseconds() + 10_000, sync);
        complete(poll().get(0), null, new NotCoordinatorException("moved"));

        clock.advance(200);
        assertThat(poll()).as("no coordinator known").isEmpty();
        List<UnsentRequest<?>> lookup = coordinator.poll(clock.milliseconds()).requests();
        assertThat(lookup).singleElement().satisfies(r -> assertThat(r.request().name()).isEqualTo("FindCoordinator"));
        Node moved = new Node(4, "localhost", 9096);
        complete(lookup.get(0), moved, null);

        List<UnsentRequest<?>> retry = poll();
        assertThat(retry).singleElement().satisfies(r -> assertThat(r.destination()).contains(moved));
        complete(retry.get(0), Map.of(), null);
        assertThat(sync).isCompletedWithValue(offsets(P0, 5));
    }

    @Test
    void asyncCommitWithARetriableErrorFailsWithRetriableCommitFailedExceptionWithoutRetry() {
        knowCoordinator();
        var async = future();
        commits.commit(offsets(P0, 5), false, clock.milliseconds() + 10_000, async);
        CoordinatorLoadInProgressException cause = new CoordinatorLoadInProgressException("loading");
        complete(poll().get(0), null, cause);

        Throwable error = catchThrowable(async::join);
        assertThat(error).hasCauseInstanceOf(RetriableCommitFailedException.class);
        assertThat(error.getCause().getCause()).isSameAs(cause);
        clock.advance(5_000);
        assertThat(poll()).isEmpty();
        assertThat(commits.hasPendingCommits()).isFalse();
    }

    /** Commits carry a member identity whose epoch the test moves, as heartbeats would. */
    private int[] asMember(int epoch) {
        int[] current = {epoch};
        commits.useMemberIdentity(() -> "member-1", () -> current[0]);
        return current;
    }

    private static int epochOf(UnsentRequest<?> request) {
        return ((OffsetCommitRequest) FakeNetwork.build(request.request())).data().generationIdOrMemberEpoch();
    }

    @Test
    void commitAtAStaleEpochIsRetriedWithTheNextEpochWhileThePartitionsAreStillOwned() {
        knowCoordinator();
        subscriptions.addFromGroup(List.of(P0, P1));
        int[] epoch = asMember(4);
        var sync = future();
        var async = future();
        commits.commit(offsets(P0, 5), true, clock.milliseconds() + 10_000, sync);
        List<UnsentRequest<?>> first = poll();
        assertThat(epochOf(first.get(0))).isEqualTo(4);
        commits.commit(offsets(P1, 9), false, clock.milliseconds() + 10_000, async);

        complete(first.get(0), null, new StaleMemberEpochException("stale"));
        clock.advance(RETRY_BACKOFF_MAX_MS);
        assertThat(poll()).as("no retry at the epoch the coordinator called stale").isEmpty();
        assertThat(sync).isNotDone();

        epoch[0] = 5; // the heartbeat answer of the reconciliation
        List<UnsentRequest<?>> retry = poll();
        assertThat(retry).singleElement().satisfies(r -> assertThat(epochOf(r)).isEqualTo(5));
        complete(retry.get(0), Map.of(), null);
        assertThat(sync).isCompletedWithValue(offsets(P0, 5));

        complete(poll().get(0), null, new StaleMemberEpochException("stale again"));
        epoch[0] = 6;
        clock.advance(RETRY_BACKOFF_MAX_MS);
        complete(poll().get(0), Map.of(), null);
        assertThat(async).as("an asynchronous commit too").isCompletedWithValue(offsets(P1, 9));
    }

    @Test
    void commitOfPartitionsNoLongerOwnedOrOfAMemberTheCoordinatorForgotFailsWithCommitFailedException() {
        knowCoordinator();
        subscriptions.addFromGroup(List.of(P0));
        asMember(4);
        var notOwned = future();
        commits.commit(offsets(P1, 5), true, clock.milliseconds() + 10_000, notOwned);
        complete(poll().get(0), null, new StaleMemberEpochException("stale"));
        assertThat(catchThrowable(notOwned::join)).hasCauseInstanceOf(CommitFailedException.class);

        for (RuntimeException refusal : List.of(new UnknownMemberIdException("unknown"),
                new FencedMemberEpochException("fenced"))) {
            var sync = future();
            var async = future();
            commits.commit(offsets(P0, 6), true, clock.milliseconds() + 10_000, sync);
            complete(poll().get(0), null, refusal);
            commits.commit(offsets(P0, 7), false, clock.milliseconds() + 10_000, async);
            complete(poll().get(0), null, refusal);
            assertThat(catchThrowable(sync::join)).as("sync, %s", refusal).hasCauseInstanceOf(CommitFailedException.class)
                    .rootCause().hasMessageContaining(refusal.getMessage());
            assertThat(catchThrowable(async::join)).as("async, %s", refusal).hasCauseInstanceOf(CommitFailedException.class);
        }
    }

    @Test
    void aCommitInFlightPastItsCallersDeadlineNoLongerHoldsBackTheNextOne() {
        knowCoordinator();
        var slow = future();
        commits.commit(offsets(P0, 5), true, clock.milliseconds() + 2_000, slow);
        List<UnsentRequest<?>> inFlight = poll();
        var next = future();
        commits.commit(offsets(P0, 6), true, clock.milliseconds() + 10_000, next);
        assertThat(poll()).as("one commit at a time").isEmpty();

        clock.advance(2_000);
        slow.completeExceptionally(new TimeoutException("commitSync timed out")); // the caller stops waiting
        List<UnsentRequest<?>> sent = poll();
        assertThat(sent).as("the next commit goes out behind it").singleElement()
                .satisfies(r -> assertThat(committedOffsets(r)).isEqualTo(Map.of(P0, 6L)));

        complete(inFlight.get(0), null, new NotCoordinatorException("late failure"));
        assertThat(coordinator.coordinator()).as("the coordinator both were sent to is forgotten").isEmpty();
        complete(sent.get(0), Map.of(), null);
        assertThat(next).isCompletedWithValue(offsets(P0, 6));
    }

    @Test
    void aLateFailureFromAnEarlierCoordinatorNeverForgetsTheCurrentOne() {
        knowCoordinator();
        var first = future();
        commits.commit(offsets(P0, 5), true, clock.milliseconds() + 10_000, first);
        UnsentRequest<?> toOld = poll().get(0);
        int oldGeneration = coordinator.generation();
        coordinator.markUnknown(oldGeneration, "NotCoordinatorException");
        knowCoordinator();

        complete(toOld, null, new DisconnectException("the old coordinator's broker went away"));
        assertThat(coordinator.coordinator()).contains(COORDINATOR);
        clock.advance(RETRY_BACKOFF_MAX_MS);
        complete(poll().get(0), Map.of(), null);
        assertThat(first).isCompletedWithValue(offsets(P0, 5));
    }

    @Test
    void aSyncCommitOfNothingStillWaitsForTheCommitsBeforeIt() {
        knowCoordinator();
        var async = future();
        commits.commit(offsets(P0, 5), false, clock.milliseconds() + 10_000, async);
        UnsentRequest<?> inFlight = poll().get(0);
        var nothing = future();
        commits.commit(Map.of(), true, clock.milliseconds() + 10_000, nothing);
        assertThat(poll()).as("no request of its own").isEmpty();
        assertThat(nothing).isNotDone();

        complete(inFlight, Map.of(), null);
        poll();
        assertThat(async).isCompletedWithValue(offsets(P0, 5));
        assertThat(nothing).isCompletedWithValue(Map.of());

        var alone = future();
        commits.commit(Map.of(), true, clock.milliseconds() + 10_000, alone);
        assertThat(alone).as("with nothing before it, at once").isCompletedWithValue(Map.of());
    }

    @Test
    void commitWhoseCallersAllGaveUpIsDroppedUnsent() {
        var abandoned = future();
        commits.commit(offsets(P0, 5), false, clock.milliseconds() + 10_000, abandoned);
        assertThat(poll()).as("coordinator unknown").isEmpty();
        abandoned.completeExceptionally(new TimeoutException("caller gave up"));

        knowCoordinator();
        assertThat(poll()).isEmpty();
        assertThat(commits.hasPendingCommits()).isFalse();
    }

    @Test
    void mergedCommitIsStillSentWhileOneOfItsCallersWaits() {
        knowCoordinator();
        var first = future();
        commits.commit(offsets(P0, 1), false, clock.milliseconds() + 5_000, first);
        UnsentRequest<?> inFlight = poll().get(0);
        var gaveUp = future();
        var waiting = future();
        commits.commit(offsets(P0, 2), false, clock.milliseconds() + 5_000, gaveUp);
        commits.commit(offsets(P1, 2), false, clock.milliseconds() + 5_000, waiting);
        gaveUp.cancel(false);
        complete(inFlight, Map.of(), null);

        assertThat(poll()).hasSize(1);
    }

    @Test
    void commitNotSentBeforeItsDeadlineFailsWithTimeoutException() {
        var commit = future();
        long deadline = clock.milliseconds() + 500;
        commits.commit(offsets(P0, 5), true, deadline, commit);
        assertThat(poll()).isEmpty();
        clock.set(deadline);
        assertThat(poll()).isEmpty();
        assertThat(catchThrowable(commit::join)).hasCauseInstanceOf(TimeoutException.class);
    }

    @Test
    void emptyCommitCompletesAtOnce() {
        var commit = future();
        commits.commit(Map.of(), true, clock.milliseconds() + 500, commit);
        assertThat(commit).isCompletedWithValue(Map.of());
        assertThat(commits.hasPendingCommits()).isFalse();
    }

    @Test
    void coordinatorIsNotLookedUpUntilSomeoneNeedsIt() {
        assertThat(coordinator.poll(clock.milliseconds()).requests()).isEmpty();
        clock.advance(60_000);
        assertThat(coordinator.poll(clock.milliseconds()).requests()).isEmpty();
        // a manager with no group work does not ask either
        assertThat(poll()).isEmpty();
        assertThat(coordinator.poll(clock.milliseconds()).requests()).isEmpty();

        assertThat(coordinator.coordinator()).isEmpty();
        List<UnsentRequest<?>> lookup = coordinator.poll(clock.milliseconds()).requests();
        assertThat(lookup).singleElement().satisfies(request -> {
            assertThat(request.request().name()).isEqualTo("FindCoordinator");
            assertThat(request.priority()).isEqualTo(Priority.SYSTEM);
            assertThat(request.destination()).isEmpty();
        });
        assertThat(coordinator.poll(clock.milliseconds()).requests()).as("one lookup in flight").isEmpty();
    }

    @Test
    void coordinatorLookupFailureIsRetriedAfterABackoff() {
        coordinator.coordinator();
        complete(coordinator.poll(clock.milliseconds()).requests().get(0), null,
                new org.apache.kafka.common.errors.CoordinatorNotAvailableException("not yet"));
        assertThat(coordinator.poll(clock.milliseconds()).requests()).isEmpty();
        clock.advance(RETRY_BACKOFF_MS * 2);
        assertThat(coordinator.poll(clock.milliseconds()).requests()).hasSize(1);
        assertThat(coordinator.fatalError()).isEmpty();
    }
}
