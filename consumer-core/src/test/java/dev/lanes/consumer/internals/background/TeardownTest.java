package dev.lanes.consumer.internals.background;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import dev.lanes.consumer.ConsumerClosedException;
import dev.lanes.consumer.MemberState;
import dev.lanes.consumer.internals.adapter.FakeNetwork;
import dev.lanes.consumer.internals.adapter.FetchedPartitions;
import dev.lanes.consumer.internals.adapter.Requests;
import dev.lanes.consumer.internals.background.managers.Priority;
import dev.lanes.consumer.internals.background.managers.UnsentRequest;
import dev.lanes.consumer.internals.events.ApplicationEvent;
import dev.lanes.consumer.internals.events.CloseEvent;
import dev.lanes.consumer.internals.events.CommitEvent;
import dev.lanes.consumer.internals.events.LeaveGroupEvent;
import dev.lanes.consumer.internals.events.ListOffsetsEvent;
import dev.lanes.consumer.internals.events.SubscriptionChangedEvent;
import dev.lanes.consumer.internals.events.TopicMetadataEvent;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicReference;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

class TeardownTest {

    private static final TopicPartition P0 = new TopicPartition("topic", 0);

    private final List<ApplicationEvent<?>> inProgress = new ArrayList<>();
    private LoopFixture fixture;
    private ApplicationEventProcessor processor;
    private Teardown teardown;

    @AfterEach
    void close() {
        fixture.close();
    }

    private void consumer(boolean group) {
        fixture = new LoopFixture(group);
        processor = new ApplicationEventProcessor(fixture.managers, fixture.subscriptions, fixture.network, () -> { });
        teardown = new Teardown("test-client", fixture.clock, fixture.lanes, fixture.network, fixture.sender,
                fixture.managers, fixture.fetchBuffer, processor);
    }

    private long now() {
        return fixture.clock.milliseconds();
    }

    /** Takes the event as the loop's drain does. */
    private <E extends ApplicationEvent<?>> E process(E event) {
        inProgress.add(event);
        event.accept(processor);
        return event;
    }

    private CommitEvent commit(long offset) {
        return process(new CommitEvent(Map.of(P0, new OffsetAndMetadata(offset)), false, now() + 60_000));
    }

    /** A member of the group, joining (so in the group) with the coordinator known. */
    private void member() {
        fixture.knowCoordinator();
        fixture.subscriptions.subscribe(Set.of("topic"));
        process(new SubscriptionChangedEvent(now() + 60_000));
        assertThat(fixture.membership.orElseThrow().state().inGroup()).isTrue();
    }

    @Test
    void withoutACloseTheLoopGoesOnAndItsWaitIsItsOwn() {
        consumer(true);

        assertThat(teardown.shouldExit()).isFalse();
        assertThat(teardown.boundWait(1_234, now())).isEqualTo(1_234);
    }

    @Test
    void closingFlushesTheCommitsAcceptedBeforeItThenEndsWithoutWaiting() {
        consumer(true);
        fixture.knowCoordinator();
        CommitEvent commit = commit(5);
        process(new CloseEvent(now() + 5_000));

        assertThat(teardown.shouldExit()).isFalse();
        assertThat(teardown.boundWait(Long.MAX_VALUE, now())).as("not past the close deadline").isEqualTo(5_000);
        assertThat(teardown.boundWait(100, now())).isEqualTo(100);

        fixture.pollManagers();
        fixture.network.sent().get(0).complete(Map.of(), null);

        assertThat(commit.future()).isCompleted();
        assertThat(teardown.shouldExit()).isTrue();
        assertThat(teardown.boundWait(Long.MAX_VALUE, now())).as("nothing would wake the network poll").isZero();
    }

    @Test
    void closingEndsAtItsDeadlineWhateverIsLeftToFlush() {
        consumer(true);
        commit(5); // the coordinator is unknown: the commit cannot go out
        process(new CloseEvent(now() + 2_000));
        fixture.clock.advance(1_500);

        assertThat(teardown.shouldExit()).isFalse();
        assertThat(teardown.boundWait(Long.MAX_VALUE, now())).isEqualTo(500);

        fixture.clock.advance(500);
        assertThat(teardown.shouldExit()).isTrue();
        assertThat(teardown.boundWait(Long.MAX_VALUE, now())).isZero();
    }

    @Test
    void aPendingLeaveAndQueuedUserEventsHoldTheCloseBack() {
        consumer(true);
        member();
        process(new LeaveGroupEvent(now() + 60_000));
        process(new CloseEvent(now() + 60_000));
        assertThat(teardown.shouldExit()).as("leaving").isFalse();

        processor.onMemberState(MemberState.UNSUBSCRIBED);
        assertThat(teardown.shouldExit()).isTrue();

        fixture.userLane.offer(commitEventNotTaken());
        assertThat(teardown.shouldExit()).as("a commit made before close() is still queued").isFalse();
    }

    private CommitEvent commitEventNotTaken() {
        return new CommitEvent(Map.of(P0, new OffsetAndMetadata(9)), false, now() + 60_000);
    }

    @Test
    void afterCloseEverythingPendingIsCompletedCountedAndLoggedAndTheNetworkReleased() {
        consumer(true);
        TopicMetadataEvent queued = new TopicMetadataEvent(Optional.empty(), now() + 60_000);
        fixture.userLane.offer(queued);
        ListOffsetsEvent taken = process(new ListOffsetsEvent(Map.of(P0, 0L), now() + 60_000));
        CompletableFuture<Map<TopicPartition, OffsetAndMetadata>> commit = new CompletableFuture<>();
        fixture.commits.orElseThrow().commit(Map.of(P0, new OffsetAndMetadata(5)), false, now() + 60_000, commit);
        fixture.topicMetadata.lookup(Optional.of("topic"), now() + 60_000, new CompletableFuture<>());
        fixture.sender.add(request(FakeNetwork.NODE_0, error -> { }));
        fixture.sender.sendReady(now()); // in flight
        AtomicReference<Throwable> unsentFailure = new AtomicReference<>();
        fixture.sender.add(request(FakeNetwork.NODE_1, unsentFailure::set)); // NODE_1 is not ready
        fixture.fetchBuffer.add(FetchedPartitions.records(P0, 0, 3));
        CloseEvent close = process(new CloseEvent(now() + 60_000));
        ListAppender<ILoggingEvent> log = captureLoopLog();

        Teardown.Discarded discarded;
        try {
            discarded = teardown.afterClose(inProgress);
        } finally {
            ((Logger) LoggerFactory.getLogger(NetworkThread.class)).detachAppender(log);
        }

        // unsent 1, in flight 1, the commit, the offsets lookup, the metadata lookup
        assertThat(discarded).isEqualTo(new Teardown.Discarded(5, 2, 1));
        for (CompletableFuture<?> future : List.of(queued.future(), taken.future(), commit)) {
            assertThat(catchThrowable(future::join)).hasCauseInstanceOf(ConsumerClosedException.class);
        }
        assertThat(unsentFailure.get()).isInstanceOf(ConsumerClosedException.class);
        assertThat(inProgress).isEmpty();
        assertThat(fixture.network.isClosed()).isTrue();
        assertThat(fixture.fetchBuffer.bytes()).isZero();
        assertThat(log.list).extracting(ILoggingEvent::getFormattedMessage).containsExactly(
                "Consumer test-client closed: discarded 5 requests (unsent or in flight), 2 events and 1 buffered fetches");

        assertThat(close.future()).as("the close is not discarded").isNotDone();
        teardown.finish();
        assertThat(close.future()).isCompletedWithValue(null);
    }

    @Test
    void afterAFailurePendingCallsFailWithTheCauseBeforeTheMemberLeavesThenTheNetworkIsReleased() {
        consumer(true);
        member();
        CommitEvent queued = commitEventNotTaken();
        fixture.userLane.offer(queued);
        AtomicReference<Boolean> failedBeforeTheLeave = new AtomicReference<>();
        fixture.network.onPoll(() -> {
            failedBeforeTheLeave.compareAndSet(null, queued.future().isCompletedExceptionally());
            // The coordinator answers the leave heartbeat.
            fixture.network.sent().stream().filter(sent -> !sent.isCompleted()).forEach(sent -> sent.complete(null, null));
        });
        RuntimeException reason = new ConsumerClosedException("died", new IllegalStateException("injected"));

        teardown.afterFailure(inProgress, reason);

        assertThat(catchThrowable(queued.future()::join)).hasCause(reason);
        assertThat(failedBeforeTheLeave.get()).as("failed when the leave heartbeat went out").isTrue();
        assertThat(fixture.network.sentNames()).containsExactly("ConsumerGroupHeartbeat");
        assertThat(fixture.membership.orElseThrow().state()).isEqualTo(MemberState.UNSUBSCRIBED);
        assertThat(fixture.network.isClosed()).isTrue();
    }

    @Test
    void aMemberWhoseLeaveIsNotAnsweredGivesUpAfterTheLeaveTimeout() {
        consumer(true);
        member();
        long start = now();
        fixture.network.onPoll(() -> fixture.clock.advance(100));

        Teardown.Discarded discarded = teardown.afterFailure(inProgress, new ConsumerClosedException("died", null));

        assertThat(now() - start).isEqualTo(Teardown.LEAVE_AFTER_FAILURE_MS);
        assertThat(fixture.network.sentNames()).as("one leave heartbeat, never answered").containsExactly("ConsumerGroupHeartbeat");
        assertThat(fixture.membership.orElseThrow().state()).isEqualTo(MemberState.LEAVING);
        assertThat(discarded.requests()).isEqualTo(1);
        assertThat(fixture.network.isClosed()).isTrue();
    }

    @Test
    void aConsumerWithoutAGroupHasNothingToLeaveAfterAFailure() {
        consumer(false);

        teardown.afterFailure(inProgress, new ConsumerClosedException("died", null));

        assertThat(fixture.network.polls()).isEmpty();
        assertThat(fixture.network.isClosed()).isTrue();
    }

    private UnsentRequest<?> request(org.apache.kafka.common.Node node, java.util.function.Consumer<Throwable> onError) {
        return new UnsentRequest<>(Requests.findCoordinator("group"), Optional.of(node), Priority.SYSTEM,
                now() + 60_000, (result, error) -> onError.accept(error));
    }

    private static ListAppender<ILoggingEvent> captureLoopLog() {
        ListAppender<ILoggingEvent> appender = new ListAppender<>();
        appender.start();
        ((Logger) LoggerFactory.getLogger(NetworkThread.class)).addAppender(appender);
        return appender;
    }
}
