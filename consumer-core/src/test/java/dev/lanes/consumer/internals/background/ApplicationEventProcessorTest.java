package dev.lanes.consumer.internals.background;

import dev.lanes.consumer.MemberState;
import dev.lanes.consumer.internals.adapter.GroupHeartbeat;
import dev.lanes.consumer.internals.events.AwaitPositionsEvent;
import dev.lanes.consumer.internals.events.CloseEvent;
import dev.lanes.consumer.internals.events.CommitEvent;
import dev.lanes.consumer.internals.events.FetchCommittedOffsetsEvent;
import dev.lanes.consumer.internals.events.LeaveGroupEvent;
import dev.lanes.consumer.internals.events.ListOffsetsEvent;
import dev.lanes.consumer.internals.events.RebalanceCallback;
import dev.lanes.consumer.internals.events.RebalanceCallbackCompletedEvent;
import dev.lanes.consumer.internals.events.SubscriptionChangedEvent;
import dev.lanes.consumer.internals.events.TopicMetadataEvent;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.errors.InvalidGroupIdException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

class ApplicationEventProcessorTest {

    private static final TopicPartition P0 = new TopicPartition("topic", 0);
    private static final Uuid TOPIC_ID = Uuid.fromString("AAAAAAAAAAAAAAAAAAAAAQ");

    private final AtomicInteger closings = new AtomicInteger();
    private LoopFixture fixture;
    private ApplicationEventProcessor processor;

    @AfterEach
    void close() {
        fixture.close();
    }

    private void consumer(boolean group) {
        fixture = new LoopFixture(group);
        processor = new ApplicationEventProcessor(fixture.managers, fixture.subscriptions, fixture.network,
                closings::incrementAndGet);
    }

    private long deadline() {
        return fixture.clock.milliseconds() + 60_000;
    }

    /** Subscribes to "topic": the member joins. */
    private void join() {
        fixture.subscriptions.subscribe(Set.of("topic"));
        processor.onSubscriptionChanged(new SubscriptionChangedEvent(deadline()));
        assertThat(fixture.membership.orElseThrow().state()).isEqualTo(MemberState.JOINING);
    }

    @Test
    void withoutAGroupCommitsAndCommittedOffsetLookupsFailWithInvalidGroupId() {
        consumer(false);
        CommitEvent commit = new CommitEvent(Map.of(P0, new OffsetAndMetadata(5)), true, deadline());
        FetchCommittedOffsetsEvent committed = new FetchCommittedOffsetsEvent(Set.of(P0), deadline());

        processor.onCommit(commit);
        processor.onFetchCommittedOffsets(committed);

        assertThat(catchThrowable(commit.future()::join)).hasCauseInstanceOf(InvalidGroupIdException.class)
                .hasMessageContaining("To commit offsets, the consumer needs a group.id");
        assertThat(catchThrowable(committed.future()::join)).hasCauseInstanceOf(InvalidGroupIdException.class)
                .hasMessageContaining("To read committed offsets, the consumer needs a group.id");
    }

    @Test
    void aCommitIsHandedToTheCommitManagerWhichCompletesItsFuture() {
        consumer(true);
        fixture.knowCoordinator();
        CommitEvent commit = new CommitEvent(Map.of(P0, new OffsetAndMetadata(5)), false, deadline());

        processor.onCommit(commit);
        assertThat(fixture.commits.orElseThrow().hasPendingCommits()).isTrue();
        fixture.pollManagers();
        assertThat(fixture.network.sentNames()).containsExactly("OffsetCommit");
        fixture.network.sent().get(0).complete(Map.of(), null);

        assertThat(commit.future()).isCompletedWithValue(Map.of(P0, new OffsetAndMetadata(5)));
    }

    @Test
    void aCommittedOffsetLookupCompletesWithTheCommitManagersAnswer() {
        consumer(true);
        fixture.knowCoordinator();
        FetchCommittedOffsetsEvent committed = new FetchCommittedOffsetsEvent(Set.of(P0), deadline());

        processor.onFetchCommittedOffsets(committed);
        fixture.pollManagers();
        assertThat(fixture.network.sentNames()).containsExactly("OffsetFetch");
        fixture.network.sent().get(0).complete(Map.of(P0, new OffsetAndMetadata(7)), null);

        assertThat(committed.future()).isCompletedWithValue(Map.of(P0, new OffsetAndMetadata(7)));
    }

    @Test
    void lookupsAndPositionWaitsGoToTheOffsetsAndTopicMetadataManagers() {
        consumer(false);
        fixture.subscriptions.assignFromUser(Set.of(P0));
        ListOffsetsEvent listOffsets = new ListOffsetsEvent(Map.of(P0, 0L), deadline());
        TopicMetadataEvent metadata = new TopicMetadataEvent(Optional.of("topic"), deadline());
        AwaitPositionsEvent positions = new AwaitPositionsEvent(Set.of(P0), deadline());

        processor.onListOffsets(listOffsets);
        processor.onTopicMetadata(metadata);
        processor.onAwaitPositions(positions);
        fixture.subscriptions.seek(P0, 5, Optional.empty());
        fixture.pollManagers();

        assertThat(fixture.network.sentNames()).contains("ListOffsets", "Metadata");
        assertThat(positions.future()).as("P0 has a position now").isCompleted();
        assertThat(listOffsets.future()).isNotDone();
        assertThat(metadata.future()).isNotDone();
    }

    @Test
    void aSubscriptionChangeMakesTheMemberJoin() {
        consumer(true);
        fixture.subscriptions.subscribe(Set.of("topic"));
        SubscriptionChangedEvent changed = new SubscriptionChangedEvent(deadline());

        processor.onSubscriptionChanged(changed);

        assertThat(changed.future()).isCompleted();
        assertThat(fixture.membership.orElseThrow().state()).isEqualTo(MemberState.JOINING);
        assertThat(fixture.network.metadataUpdatesRequested()).isZero();
    }

    @Test
    void aNewClientSidePatternIsMatchedAgainstFreshMetadata() {
        consumer(false);
        fixture.subscriptions.subscribe(Pattern.compile("top.*"));
        SubscriptionChangedEvent changed = new SubscriptionChangedEvent(deadline());

        processor.onSubscriptionChanged(changed);

        assertThat(changed.future()).isCompleted();
        assertThat(fixture.network.metadataUpdatesRequested()).isEqualTo(1);
    }

    @Test
    void aLeaveCompletesOnlyOnceTheMemberIsNoLongerLeaving() {
        consumer(true);
        join();
        LeaveGroupEvent leave = new LeaveGroupEvent(deadline());

        processor.onLeaveGroup(leave);
        assertThat(fixture.membership.orElseThrow().state()).isEqualTo(MemberState.LEAVING);
        assertThat(processor.leavePending()).isTrue();
        processor.onMemberState(MemberState.LEAVING);
        assertThat(leave.future()).isNotDone();

        processor.onMemberState(MemberState.UNSUBSCRIBED);
        assertThat(leave.future()).isCompleted();
        assertThat(processor.leavePending()).isFalse();
    }

    @Test
    void aLeaveWithNoGroupToLeaveCompletesAtOnce() {
        consumer(true);
        LeaveGroupEvent leave = new LeaveGroupEvent(deadline());

        processor.onLeaveGroup(leave);

        assertThat(leave.future()).isCompleted();
        assertThat(processor.leavePending()).isFalse();
        assertThat(fixture.membership.orElseThrow().state()).isEqualTo(MemberState.UNSUBSCRIBED);
    }

    @Test
    void theAcknowledgementOfARebalanceCallbackLetsTheReconciliationGoOn() {
        consumer(true);
        fixture.network.topicIds(Map.of("topic", TOPIC_ID));
        fixture.knowCoordinator();
        join();
        fixture.pollManagers();
        assertThat(fixture.network.sentNames()).containsExactly("ConsumerGroupHeartbeat");
        String memberId = fixture.membership.orElseThrow().memberId();
        fixture.network.sent().get(0).complete(new GroupHeartbeat.Response(memberId, 1, 3_000,
                Optional.of(Map.of(TOPIC_ID, Set.of(0)))), null);
        assertThat(fixture.membership.orElseThrow().state()).isEqualTo(MemberState.RECONCILING);
        RebalanceCallback assigned = fixture.callbacks.next();
        assertThat(assigned.kind()).isEqualTo(RebalanceCallback.Kind.ASSIGNED);
        RebalanceCallbackCompletedEvent acknowledged = new RebalanceCallbackCompletedEvent(assigned.id(), Optional.empty());

        processor.onRebalanceCallbackCompleted(acknowledged);

        assertThat(acknowledged.future()).isCompleted();
        assertThat(fixture.membership.orElseThrow().state()).isEqualTo(MemberState.ACKNOWLEDGING);
    }

    @Test
    void closeBeginsOnceAndStopsFetching() {
        consumer(false);
        fixture.subscriptions.assignFromUser(Set.of(P0));
        fixture.subscriptions.seek(P0, 5, Optional.empty());
        CloseEvent first = new CloseEvent(deadline());
        CloseEvent second = new CloseEvent(deadline());

        processor.onClose(first);
        processor.onClose(second);
        fixture.pollManagers();

        assertThat(processor.closeEvent()).isSameAs(first);
        assertThat(closings).hasValue(1);
        assertThat(fixture.network.sentNames()).doesNotContain("Fetch");
        assertThat(first.future()).as("the teardown completes the close").isNotDone();
    }
}
