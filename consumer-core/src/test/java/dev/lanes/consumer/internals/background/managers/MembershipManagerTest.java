package dev.lanes.consumer.internals.background.managers;

import dev.lanes.consumer.MemberState;
import dev.lanes.consumer.internals.adapter.GroupHeartbeat;
import dev.lanes.consumer.internals.events.RebalanceCallback;
import org.apache.kafka.common.errors.FencedMemberEpochException;
import org.apache.kafka.common.errors.UnknownMemberIdException;
import org.apache.kafka.common.message.ConsumerGroupHeartbeatRequestData;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;
import java.util.Optional;

import static dev.lanes.consumer.internals.background.managers.GroupManagersHarness.P0;
import static dev.lanes.consumer.internals.background.managers.GroupManagersHarness.P1;
import static dev.lanes.consumer.internals.background.managers.GroupManagersHarness.P2;
import static dev.lanes.consumer.internals.background.managers.GroupManagersHarness.complete;
import static dev.lanes.consumer.internals.background.managers.GroupManagersHarness.data;
import static dev.lanes.consumer.internals.background.managers.GroupManagersHarness.owned;
import static org.assertj.core.api.Assertions.assertThat;

class MembershipManagerTest {

    private GroupManagersHarness h = new GroupManagersHarness();

    @AfterEach
    void close() {
        h.close();
    }

    @Test
    void joiningSendsEpochZeroWithTheSubscribedTopics() {
        assertThat(h.membership.state()).isEqualTo(MemberState.UNSUBSCRIBED);
        assertThat(h.pollHeartbeats()).as("no heartbeat before subscribing").isEmpty();
        h.subscribe();
        assertThat(h.membership.state()).isEqualTo(MemberState.JOINING);

        UnsentRequest<?> join = h.nextHeartbeat();
        ConsumerGroupHeartbeatRequestData data = data(join);
        assertThat(data.groupId()).isEqualTo("group");
        assertThat(data.memberId()).isEqualTo(h.membership.memberId()).isNotBlank();
        assertThat(data.memberEpoch()).isEqualTo(GroupHeartbeat.JOIN_EPOCH).isZero();
        assertThat(data.subscribedTopicNames()).containsExactly(GroupManagersHarness.TOPIC);
        assertThat(data.topicPartitions()).isEmpty();
        assertThat(data.instanceId()).isNull();
        assertThat(join.priority()).isEqualTo(Priority.SYSTEM);
        assertThat(h.pollHeartbeats()).as("one heartbeat in flight at a time").isEmpty();
    }

    @Test
    void assignmentIsReconciledThroughTheCallbackThenAcknowledgedAtOnce() {
        h.subscribe();
        complete(h.nextHeartbeat(), h.response(1, 5_000, 0, 1), null);
        assertThat(h.membership.state()).isEqualTo(MemberState.RECONCILING);
        assertThat(h.membership.memberEpoch()).isEqualTo(1);

        List<RebalanceCallback> requested = h.takeCallbacks();
        assertThat(requested).singleElement().satisfies(c -> {
            assertThat(c.kind()).isEqualTo(RebalanceCallback.Kind.ASSIGNED);
            assertThat(c.partitions()).containsExactlyInAnyOrder(P0, P1);
        });
        assertThat(h.subscriptions.assignedPartitions()).containsExactlyInAnyOrder(P0, P1);
        assertThat(h.membership.state()).as("waits for the application thread").isEqualTo(MemberState.RECONCILING);
        assertThat(h.pollHeartbeats()).as("interval of 5 s not due, nothing to acknowledge yet").isEmpty();

        h.membership.onCallbackCompleted(requested.get(0).id(), Optional.empty());
        assertThat(h.membership.state()).isEqualTo(MemberState.ACKNOWLEDGING);

        UnsentRequest<?> ack = h.nextHeartbeat();
        assertThat(data(ack).memberEpoch()).isEqualTo(1);
        assertThat(owned(ack)).containsExactlyInAnyOrder(P0, P1);

        complete(ack, h.responseWithoutAssignment(1, 5_000), null);
        assertThat(h.membership.state()).isEqualTo(MemberState.STABLE);
        assertThat(h.takeCallbacks()).isEmpty();
    }

    @Test
    void revocationComesFirstWithItsCommitAndAssignmentOnlyAfterTheAck() {
        h.close();
        h = new GroupManagersHarness(true, Optional.empty());
        h.joinStable(5_000, 0, 1);
        h.subscriptions.seek(P0, 11, Optional.empty());
        h.subscriptions.seek(P1, 42, Optional.empty());
        h.subscriptions.markConsumed();
        h.polled();
        h.subscriptions.seek(P1, 50, Optional.empty()); // a batch the application is still processing

        h.clock.advance(5_000);
        complete(h.nextHeartbeat(), h.response(2, 5_000, 0, 2), null);
        assertThat(h.membership.state()).isEqualTo(MemberState.RECONCILING);
        assertThat(h.subscriptions.isConsumable(P1)).as("no more records of a partition being revoked").isFalse();
        assertThat(h.subscriptions.isConsumable(P0)).isTrue();
        List<UnsentRequest<?>> timerCommit = h.commits.poll(h.clock.milliseconds()).requests();
        assertThat(timerCommit).as("the auto-commit timer commits only what was consumed at the last entry into poll()")
                .singleElement().satisfies(r ->
                        assertThat(GroupManagersHarness.committedOffsets(r)).isEqualTo(Map.of(P0, 11L, P1, 42L)));
        complete(timerCommit.get(0), Map.of(), null);
        assertThat(h.commits.poll(h.clock.milliseconds()).requests())
                .as("the reconciliation's commit waits while the application processes outside poll()").isEmpty();
        assertThat(h.takeCallbacks()).as("the commit comes before the callback").isEmpty();

        h.subscriptions.markConsumed();
        assertThat(h.pollTracker.enter(h.clock.milliseconds())).as("the entry into poll() wakes the background").isTrue();
        h.membership.maybeReconcile();
        List<UnsentRequest<?>> commit = h.commits.poll(h.clock.milliseconds()).requests();
        assertThat(commit).as("every owned partition, as consumed at the entry into poll()").singleElement().satisfies(r ->
                assertThat(GroupManagersHarness.committedOffsets(r)).isEqualTo(Map.of(P0, 11L, P1, 50L)));
        assertThat(h.takeCallbacks()).as("the commit comes before the callback").isEmpty();
        complete(commit.get(0), Map.of(), null);

        RebalanceCallback revoked = h.takeCallbacks().get(0);
        assertThat(revoked.kind()).isEqualTo(RebalanceCallback.Kind.REVOKED);
        assertThat(revoked.partitions()).containsExactly(P1);
        assertThat(h.subscriptions.assignedPartitions()).as("revoked partition stays until the ack").contains(P1)
                .doesNotContain(P2);
        assertThat(h.takeCallbacks()).as("ASSIGNED only after the revocation ran").isEmpty();

        h.membership.onCallbackCompleted(revoked.id(), Optional.empty());
        assertThat(h.subscriptions.assignedPartitions()).containsExactlyInAnyOrder(P0, P2);
        h.ack(RebalanceCallback.Kind.ASSIGNED, P2);
        assertThat(h.membership.state()).isEqualTo(MemberState.ACKNOWLEDGING);

        UnsentRequest<?> ack = h.nextHeartbeat();
        assertThat(data(ack).memberEpoch()).isEqualTo(2);
        assertThat(owned(ack)).containsExactlyInAnyOrder(P0, P2);
        complete(ack, h.responseWithoutAssignment(2, 5_000), null);
        assertThat(h.membership.state()).isEqualTo(MemberState.STABLE);
    }

    @Test
    void withoutAutoCommitRevocationSendsNoCommit() {
        h.joinStable(5_000, 0, 1);
        h.subscriptions.seek(P1, 42, Optional.empty());
        h.clock.advance(5_000);
        complete(h.nextHeartbeat(), h.response(2, 5_000, 0), null);
        h.ack(RebalanceCallback.Kind.REVOKED, P1);
        assertThat(h.commits.poll(h.clock.milliseconds()).requests()).isEmpty();
        h.ack(RebalanceCallback.Kind.ASSIGNED);
        assertThat(h.membership.state()).isEqualTo(MemberState.ACKNOWLEDGING);
    }

    @Test
    void fencedMemberLosesItsPartitionsThenRejoinsWithEpochZero() {
        h.joinStable(1_000, 0, 1);
        h.clock.advance(1_000);
        complete(h.nextHeartbeat(), null, new FencedMemberEpochException("stale epoch"));
        assertThat(h.membership.state()).isEqualTo(MemberState.FENCED);

        h.clock.advance(200);
        assertThat(h.pollHeartbeats()).as("no heartbeat before onPartitionsLost ran").isEmpty();
        h.ack(RebalanceCallback.Kind.LOST, P0, P1);
        assertThat(h.subscriptions.assignedPartitions()).isEmpty();
        assertThat(h.membership.state()).isEqualTo(MemberState.JOINING);
        assertThat(h.membership.memberEpoch()).isZero();

        UnsentRequest<?> rejoin = h.nextHeartbeat();
        assertThat(data(rejoin).memberEpoch()).isZero();
        assertThat(data(rejoin).memberId()).isEqualTo(h.membership.memberId());
        assertThat(data(rejoin).topicPartitions()).isEmpty();
        complete(rejoin, h.response(3, 1_000, 1), null);
        assertThat(h.membership.state()).isEqualTo(MemberState.RECONCILING);
        h.ack(RebalanceCallback.Kind.ASSIGNED, P1);
    }

    @Test
    void unknownMemberIdIsTreatedAsFenced() {
        h.joinStable(1_000, 0);
        h.clock.advance(1_000);
        complete(h.nextHeartbeat(), null, new UnknownMemberIdException("unknown"));
        assertThat(h.membership.state()).isEqualTo(MemberState.FENCED);
        h.ack(RebalanceCallback.Kind.LOST, P0);
        assertThat(h.membership.state()).isEqualTo(MemberState.JOINING);
    }

    @Test
    void dynamicMemberLeavesWithEpochMinusOne() {
        h.joinStable(1_000, 0);
        assertThat(h.membership.leave()).isTrue();
        assertThat(h.membership.state()).isEqualTo(MemberState.LEAVING);
        UnsentRequest<?> leave = h.nextHeartbeat();
        assertThat(data(leave).memberEpoch()).isEqualTo(GroupHeartbeat.LEAVE_EPOCH).isEqualTo(-1);
        complete(leave, h.responseWithoutAssignment(-1, 0), null);
        assertThat(h.membership.state()).isEqualTo(MemberState.UNSUBSCRIBED);
        h.clock.advance(10_000);
        assertThat(h.pollHeartbeats()).isEmpty();
    }

    @Test
    void ownershipIsUnconfirmedOnceHeartbeatAnswersAreOverdueByMoreThanTheGrace() {
        h.joinStable(1_000, 0, 1);
        long grace = 5_000;
        h.clock.advance(1_000 + grace);
        assertThat(h.membership.view().ownershipUnconfirmed(h.clock.milliseconds(), grace)).isFalse();
        h.clock.advance(1);
        assertThat(h.membership.view().ownershipUnconfirmed(h.clock.milliseconds(), grace)).isTrue();
        assertThat(h.membership.view().ownershipUnconfirmed(h.clock.milliseconds(), -1)).as("-1 never holds").isFalse();

        complete(h.nextHeartbeat(), h.responseWithoutAssignment(1, 1_000), null);
        assertThat(h.membership.view().ownershipUnconfirmed(h.clock.milliseconds(), grace)).as("an answer confirms").isFalse();
    }

    @Test
    void staticMemberLeavesWithEpochMinusTwo() {
        h.close();
        h = new GroupManagersHarness(false, Optional.of("instance-1"));
        h.subscribe();
        UnsentRequest<?> join = h.nextHeartbeat();
        assertThat(data(join).instanceId()).isEqualTo("instance-1");
        complete(join, h.response(1, 1_000, 0), null);
        h.ack(RebalanceCallback.Kind.ASSIGNED, P0);
        complete(h.nextHeartbeat(), h.responseWithoutAssignment(1, 1_000), null);
        assertThat(h.membership.state()).isEqualTo(MemberState.STABLE);

        assertThat(h.membership.leave()).isTrue();
        UnsentRequest<?> leave = h.nextHeartbeat();
        assertThat(data(leave).memberEpoch()).isEqualTo(GroupHeartbeat.LEAVE_STATIC_EPOCH).isEqualTo(-2);
        assertThat(data(leave).instanceId()).isEqualTo("instance-1");
        complete(leave, h.responseWithoutAssignment(-2, 0), null);
        assertThat(h.membership.state()).isEqualTo(MemberState.UNSUBSCRIBED);
    }
}
