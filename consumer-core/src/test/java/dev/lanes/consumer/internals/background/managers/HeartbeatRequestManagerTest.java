package dev.lanes.consumer.internals.background.managers;

import dev.lanes.consumer.MemberState;
import dev.lanes.consumer.internals.adapter.GroupHeartbeat;
import dev.lanes.consumer.internals.events.RebalanceCallback;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.errors.DisconnectException;
import org.apache.kafka.common.errors.CoordinatorNotAvailableException;
import org.apache.kafka.common.errors.NotCoordinatorException;
import org.apache.kafka.common.errors.UnsupportedVersionException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;
import java.util.Optional;

import static dev.lanes.consumer.internals.background.managers.GroupManagersHarness.MAX_POLL_INTERVAL_MS;
import static dev.lanes.consumer.internals.background.managers.GroupManagersHarness.P0;
import static dev.lanes.consumer.internals.background.managers.GroupManagersHarness.P1;
import static dev.lanes.consumer.internals.background.managers.GroupManagersHarness.complete;
import static dev.lanes.consumer.internals.background.managers.GroupManagersHarness.data;
import static org.assertj.core.api.Assertions.assertThat;

class HeartbeatRequestManagerTest {

    private GroupManagersHarness h = new GroupManagersHarness();

    @AfterEach
    void close() {
        h.close();
    }

    @Test
    void heartbeatsAreSpacedByTheIntervalFromTheResponse() {
        h.joinStable(3_000, 0);
        // the interval counts from the answer to the acknowledging heartbeat
        for (int round = 0; round < 3; round++) {
            long answeredAt = h.clock.milliseconds();
            PollResult waiting = h.heartbeats.poll(h.clock.milliseconds());
            assertThat(waiting.requests()).isEmpty();
            assertThat(waiting.timeUntilNextPollMs()).isEqualTo(3_000);
            assertThat(h.heartbeats.timeUntilNextHeartbeatMs(h.clock.milliseconds())).isEqualTo(3_000);
            h.clock.set(answeredAt + 2_999);
            assertThat(h.pollHeartbeats()).as("no heartbeat before the interval").isEmpty();
            h.clock.set(answeredAt + 3_000);
            UnsentRequest<?> heartbeat = h.nextHeartbeat();
            assertThat(data(heartbeat).memberEpoch()).isEqualTo(1);
            assertThat(h.pollHeartbeats()).as("one at a time").isEmpty();
            h.polled();
            complete(heartbeat, h.responseWithoutAssignment(1, 3_000), null);
        }
        // a new interval from the coordinator applies from the next answer on
        long answeredAt = h.clock.milliseconds();
        h.clock.set(answeredAt + 3_000);
        complete(h.nextHeartbeat(), h.responseWithoutAssignment(1, 1_200), null);
        assertThat(h.heartbeats.heartbeatIntervalMs()).isEqualTo(1_200);
        h.clock.advance(1_199);
        assertThat(h.pollHeartbeats()).isEmpty();
        h.clock.advance(1);
        assertThat(h.pollHeartbeats()).hasSize(1);
        assertThat(h.membership.state()).isEqualTo(MemberState.STABLE);
    }

    @Test
    void unsupportedVersionIsFatalWithAClearMessage() {
        h.subscribe();
        complete(h.nextHeartbeat(), null, new UnsupportedVersionException("ConsumerGroupHeartbeat is not supported"));
        assertThat(h.membership.state()).isEqualTo(MemberState.FATAL);
        assertThat(h.membership.fatalError()).hasValueSatisfying(error -> {
            assertThat(error).isInstanceOf(UnsupportedVersionException.class);
            assertThat(error.getMessage()).contains("group.protocol=consumer").contains("KIP-848").contains("4.0");
        });
        h.clock.advance(10_000);
        assertThat(h.pollHeartbeats()).as("a fatal member does not heartbeat").isEmpty();
    }

    @Test
    void coordinatorLossIsRetriedAfterALookup() {
        h.joinStable(1_000, 0);
        h.clock.advance(1_000);
        complete(h.nextHeartbeat(), null, new NotCoordinatorException("moved"));
        assertThat(h.membership.state()).isEqualTo(MemberState.STABLE);
        h.clock.advance(200);
        assertThat(h.pollHeartbeats()).as("coordinator unknown").isEmpty();
        List<UnsentRequest<?>> lookup = h.coordinator.poll(h.clock.milliseconds()).requests();
        assertThat(lookup).singleElement().satisfies(r -> assertThat(r.request().name()).isEqualTo("FindCoordinator"));
        complete(lookup.get(0), GroupManagersHarness.COORDINATOR, null);
        UnsentRequest<?> retry = h.nextHeartbeat();
        assertThat(data(retry).memberEpoch()).isEqualTo(1);
        complete(retry, null, new CoordinatorNotAvailableException("loading"));
        assertThat(h.membership.state()).isEqualTo(MemberState.STABLE);
    }

    @Test
    void pollTimeoutLeavesWithEpochMinusOneThenGoesStaleAndRejoinsOnTheNextPoll() {
        h.close();
        // static: a poll-timeout leave still uses -1 so its partitions go to the others at once
        h = new GroupManagersHarness(false, Optional.of("instance-1"));
        h.subscribe();
        complete(h.nextHeartbeat(), h.response(1, 1_000, 0, 1), null);
        h.ack(RebalanceCallback.Kind.ASSIGNED, P0, P1);
        complete(h.nextHeartbeat(), h.responseWithoutAssignment(1, 1_000), null);
        assertThat(h.membership.state()).isEqualTo(MemberState.STABLE);
        long lastPoll = h.pollTracker.lastPollMs();

        // heartbeats keep going while the application is slow but within max.poll.interval.ms
        while (h.clock.milliseconds() + 1_000 < lastPoll + MAX_POLL_INTERVAL_MS) {
            h.clock.advance(1_000);
            complete(h.nextHeartbeat(), h.responseWithoutAssignment(1, 1_000), null);
            assertThat(h.membership.state()).isEqualTo(MemberState.STABLE);
        }
        h.clock.set(lastPoll + MAX_POLL_INTERVAL_MS);
        UnsentRequest<?> leave = h.nextHeartbeat();
        assertThat(h.membership.state()).isEqualTo(MemberState.LEAVING);
        assertThat(data(leave).memberEpoch()).isEqualTo(GroupHeartbeat.LEAVE_EPOCH);
        complete(leave, h.responseWithoutAssignment(-1, 0), null);
        assertThat(h.membership.state()).isEqualTo(MemberState.STALE);

        List<RebalanceCallback> lost = h.takeCallbacks();
        assertThat(lost).singleElement().satisfies(c -> {
            assertThat(c.kind()).isEqualTo(RebalanceCallback.Kind.LOST);
            assertThat(c.partitions()).containsExactlyInAnyOrder(P0, P1);
        });
        h.clock.advance(5_000);
        assertThat(h.pollHeartbeats()).as("stale: no heartbeat until the application polls").isEmpty();
        assertThat(h.membership.state()).isEqualTo(MemberState.STALE);

        // the application polls: it runs onPartitionsLost, then the member rejoins
        h.polled();
        h.membership.onCallbackCompleted(lost.get(0).id(), Optional.empty());
        assertThat(h.subscriptions.assignedPartitions()).isEmpty();
        UnsentRequest<?> rejoin = h.nextHeartbeat();
        assertThat(h.membership.state()).isEqualTo(MemberState.JOINING);
        h.polled();
        assertThat(data(rejoin).memberEpoch()).isZero();
        assertThat(data(rejoin).instanceId()).isEqualTo("instance-1");
        complete(rejoin, h.response(4, 1_000, 1), null);
        assertThat(h.membership.state()).isEqualTo(MemberState.RECONCILING);
        h.ack(RebalanceCallback.Kind.ASSIGNED, P1);
    }

    @Test
    void heartbeatsStopAfterTheMemberLeft() {
        h.joinStable(1_000, 0);
        h.membership.leave();
        complete(h.nextHeartbeat(), null, new CoordinatorNotAvailableException("gone"));
        assertThat(h.membership.state()).as("a failed leave still leaves").isEqualTo(MemberState.UNSUBSCRIBED);
        h.clock.advance(60_000);
        assertThat(h.pollHeartbeats()).isEmpty();
    }

    @Test
    void gapsBetweenAnswersAreMeasuredWithinOneMembership() {
        h.joinStable(3_000, 0);
        h.clock.advance(3_000);
        UnsentRequest<?> late = h.nextHeartbeat();
        h.clock.advance(250);
        complete(late, h.responseWithoutAssignment(1, 3_000), null);
        assertThat(h.metrics.value("heartbeat-gap-max", Map.of())).isEqualTo(3_250.0);

        h.membership.leave();
        complete(h.nextHeartbeat(), h.responseWithoutAssignment(-1, 3_000), null);
        assertThat(h.membership.state()).isEqualTo(MemberState.UNSUBSCRIBED);
        h.clock.advance(60_000);
        h.subscribe();
        assertThat(h.membership.state()).isEqualTo(MemberState.JOINING);
        h.polled();
        complete(h.nextHeartbeat(), h.responseWithoutAssignment(1, 3_000), null);
        assertThat(h.metrics.value("heartbeat-gap-max", Map.of()))
                .as("the minute between leaving and joining again is not a heartbeat gap").isEqualTo(3_250.0);
    }

    @Test
    void timeSpentWaitingInsidePollNeverCountsAgainstMaxPollInterval() {
        h.subscribe();
        complete(h.nextHeartbeat(), h.response(1, 1_000, 0, 1), null);
        h.ack(RebalanceCallback.Kind.ASSIGNED, P0, P1);
        complete(h.nextHeartbeat(), h.responseWithoutAssignment(1, 1_000), null);

        h.pollTracker.enter(h.clock.milliseconds()); // poll(timeout) with a timeout longer than the interval
        for (int i = 0; i < 3 * MAX_POLL_INTERVAL_MS / 1_000; i++) {
            h.clock.advance(1_000);
            complete(h.nextHeartbeat(), h.responseWithoutAssignment(1, 1_000), null);
        }
        assertThat(h.membership.state()).as("waiting in poll() is polling").isEqualTo(MemberState.STABLE);

        h.pollTracker.exit(h.clock.milliseconds());
        h.clock.advance(MAX_POLL_INTERVAL_MS - 1);
        complete(h.nextHeartbeat(), h.responseWithoutAssignment(1, 1_000), null);
        assertThat(h.membership.state()).as("the interval counts from the return of poll()").isEqualTo(MemberState.STABLE);
        h.clock.advance(1);
        h.nextHeartbeat();
        assertThat(h.membership.state()).isEqualTo(MemberState.LEAVING);
    }

    @Test
    void aHeartbeatInFlightToACoordinatorThatMovedNeverHoldsTheNextOneBack() {
        h.joinStable(1_000, 0, 1);
        h.clock.advance(1_000);
        UnsentRequest<?> stuck = h.nextHeartbeat();

        // A commit learns that the coordinator moved (NOT_COORDINATOR) while the heartbeat waits for an answer.
        h.coordinator.markUnknown(h.coordinator.generation(), "NotCoordinatorException");
        assertThat(h.pollHeartbeats()).as("no coordinator yet").isEmpty();
        Node moved = new Node(7, "localhost", 9097);
        List<UnsentRequest<?>> lookup = h.coordinator.poll(h.clock.milliseconds()).requests();
        complete(lookup.get(0), moved, null);

        List<UnsentRequest<?>> next = h.pollHeartbeats();
        assertThat(next).as("sent to the new coordinator at once").singleElement()
                .satisfies(r -> assertThat(r.destination()).contains(moved));

        complete(stuck, null, new DisconnectException("the old coordinator's broker went away"));
        assertThat(h.coordinator.coordinator()).as("a late failure from the old coordinator changes nothing")
                .contains(moved);
        assertThat(h.pollHeartbeats()).as("the new heartbeat is still the one in flight").isEmpty();
        complete(next.get(0), h.responseWithoutAssignment(1, 1_000), null);
        assertThat(h.membership.state()).isEqualTo(MemberState.STABLE);
    }

    @Test
    void fetchesWaitBrieflyWhileTheApplicationRunsReconciliationCallbacks() {
        h.subscribe();
        complete(h.nextHeartbeat(), h.response(1, 3_000, 0), null);
        assertThat(h.membership.state()).isEqualTo(MemberState.RECONCILING);
        assertThat(h.heartbeats.timeUntilNextHeartbeatMs(h.clock.milliseconds()))
                .as("the acknowledgement is due as soon as the callbacks ran")
                .isEqualTo(HeartbeatRequestManager.CALLBACKS_PENDING_FETCH_WAIT_MS);

        h.ack(RebalanceCallback.Kind.ASSIGNED, P0);
        complete(h.nextHeartbeat(), h.responseWithoutAssignment(1, 3_000), null);
        assertThat(h.membership.state()).isEqualTo(MemberState.STABLE);
        assertThat(h.heartbeats.timeUntilNextHeartbeatMs(h.clock.milliseconds())).isEqualTo(3_000);
    }
}
