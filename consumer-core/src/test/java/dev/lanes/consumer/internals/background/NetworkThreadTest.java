package dev.lanes.consumer.internals.background;

import dev.lanes.consumer.internals.common.ManualClock;
import dev.lanes.consumer.internals.shared.FetchBuffer;
import dev.lanes.consumer.internals.shared.Lane;
import dev.lanes.consumer.internals.shared.LaneName;
import dev.lanes.consumer.internals.shared.LoopState;
import dev.lanes.consumer.ConsumerClosedException;
import dev.lanes.consumer.internals.adapter.FakeNetwork;
import dev.lanes.consumer.internals.adapter.Requests;
import dev.lanes.consumer.internals.events.ApplicationEvent;
import dev.lanes.consumer.internals.events.ApplicationEventVisitor;
import dev.lanes.consumer.internals.events.CommitEvent;
import dev.lanes.consumer.internals.events.TopicMetadataEvent;
import dev.lanes.consumer.internals.background.managers.CommitRequestManager;
import dev.lanes.consumer.internals.background.managers.CoordinatorRequestManager;
import dev.lanes.consumer.internals.background.managers.FetchRequestManager;
import dev.lanes.consumer.internals.background.managers.OffsetsRequestManager;
import dev.lanes.consumer.internals.background.managers.Priority;
import dev.lanes.consumer.internals.background.managers.TopicMetadataRequestManager;
import dev.lanes.consumer.internals.background.managers.UnsentRequest;
import dev.lanes.consumer.internals.metrics.LanesConsumerMetrics;
import dev.lanes.consumer.internals.shared.OffsetResetStrategy;
import dev.lanes.consumer.internals.shared.SubscriptionState;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.IsolationLevel;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.DisconnectException;
import org.apache.kafka.common.errors.RetriableException;
import org.apache.kafka.common.errors.TimeoutException;
import org.apache.kafka.common.metrics.Metrics;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.atomic.AtomicReference;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

class NetworkThreadTest {

    private static final TopicPartition P0 = new TopicPartition("topic", 0);

    private final ManualClock clock = new ManualClock(1_000);
    private final FakeNetwork network = new FakeNetwork();
    private final LanesConsumerMetrics metrics = new LanesConsumerMetrics(new Metrics(), "test-client");
    private final SubscriptionState subscriptions = new SubscriptionState(OffsetResetStrategy.EARLIEST);
    private final FetchBuffer fetchBuffer = new FetchBuffer(1 << 20, () -> { });
    private final Lane systemLane = new Lane(LaneName.SYSTEM, 32, clock);
    private final Lane userLane = new Lane(LaneName.USER, 64, clock);
    private static final int REQUEST_TIMEOUT_MS = 30_000;
    private final RequestSender sender = new RequestSender(network, metrics, REQUEST_TIMEOUT_MS);
    private final CoordinatorRequestManager coordinator = new CoordinatorRequestManager("group", clock, 100, 1_000, 30_000);
    private final CommitRequestManager commits = new CommitRequestManager("group", clock, coordinator, subscriptions,
            metrics, false, 5_000, 100, 1_000, false);

    @AfterEach
    void closeMetrics() {
        metrics.close();
    }

    private NetworkThread thread(int userLaneBudget) {
        OffsetsRequestManager offsets = new OffsetsRequestManager(clock, network, subscriptions, Optional.of(commits),
                metrics, IsolationLevel.READ_UNCOMMITTED, 30_000, 100, 1_000, () -> { });
        TopicMetadataRequestManager topicMetadata = new TopicMetadataRequestManager(clock, metrics, 100, 1_000, true);
        FetchRequestManager fetches = new FetchRequestManager(clock, network, subscriptions, fetchBuffer, metrics,
                new FetchRequestManager.FetchConfig(1, 50 << 20, 500, 1 << 20, IsolationLevel.READ_UNCOMMITTED, "",
                        30_000, 100, 1_000));
        RequestManagers managers = new RequestManagers(Optional.empty(), Optional.of(commits), offsets, topicMetadata,
                Optional.empty(), fetches, Optional.of(coordinator));
        return new NetworkThread("test-client", clock, new EventLanes(systemLane, userLane, userLaneBudget), network,
                sender, managers, subscriptions, fetchBuffer,
                new BackgroundDecoding(fetchBuffer, partition -> true, IsolationLevel.READ_UNCOMMITTED, true, clock), metrics);
    }

    /** An event that records when the background thread dispatches it. */
    private static final class RecordingEvent extends ApplicationEvent<Void> {
        private final String name;
        private final List<String> dispatched;

        RecordingEvent(String name, List<String> dispatched, long deadlineMs) {
            super(deadlineMs);
            this.name = name;
            this.dispatched = dispatched;
        }

        @Override
        public void accept(ApplicationEventVisitor visitor) {
            dispatched.add(name);
            future().complete(null);
        }
    }

    private CommitEvent commitEvent(long offset, boolean sync) {
        return new CommitEvent(Map.of(P0, new OffsetAndMetadata(offset)), sync, clock.milliseconds() + 60_000);
    }

    @Test
    void drainsTheSystemLaneCompletelyBeforeTheUserLaneWithinItsBudget() {
        NetworkThread thread = thread(3);
        List<String> dispatched = new ArrayList<>();
        long deadline = clock.milliseconds() + 60_000;
        for (int i = 0; i < 10; i++) {
            assertThat(userLane.offer(new RecordingEvent("user-" + i, dispatched, deadline))).isTrue();
        }
        for (int i = 0; i < 5; i++) {
            assertThat(systemLane.offer(new RecordingEvent("system-" + i, dispatched, deadline))).isTrue();
        }

        thread.runOnce();

        assertThat(dispatched).containsExactly("system-0", "system-1", "system-2", "system-3", "system-4",
                "user-0", "user-1", "user-2");
        assertThat(systemLane.size()).isZero();
        assertThat(userLane.size()).isEqualTo(7);
        assertThat(metrics.value("events-total", Map.of("lane", "user"))).isEqualTo(3.0);
        assertThat(metrics.value("events-total", Map.of("lane", "system"))).isEqualTo(5.0);
        // work is left in a lane, so the network poll must not block
        assertThat(network.polls()).containsExactly(0L);
    }

    @Test
    void aNewlyAssignedPartitionIsLookedUpOnlyOnceTheApplicationAsksSoASeekAfterAssignNeedsNoCoordinator() {
        TopicPartition p1 = new TopicPartition("topic", 1);
        NetworkThread thread = thread(8);
        network.ready(FakeNetwork.NODE_0, true);

        subscriptions.assignFromUser(Set.of(P0));
        thread.runOnce();
        subscriptions.seek(P0, 5, Optional.empty());
        assertThat(subscriptions.requestPositions()).as("the first poll after assign() asks").isTrue();
        thread.runOnce();
        assertThat(network.sentNames()).doesNotContain("FindCoordinator", "OffsetFetch");

        // A partition assigned without a seek starts at its committed offset, looked up once the application asks.
        subscriptions.assignFromUser(Set.of(P0, p1));
        thread.runOnce();
        assertThat(network.sentNames()).doesNotContain("FindCoordinator", "OffsetFetch");
        subscriptions.requestPositions();
        thread.runOnce();
        assertThat(network.polls()).as("the lookup goes out next time round: no waiting for a wakeup").endsWith(0L);
        thread.runOnce();
        assertThat(network.sentNames()).contains("FindCoordinator");
    }

    @Test
    void userLaneOfCommitEventsIsDrainedAtMostBudgetPerIteration() {
        NetworkThread thread = thread(3);
        for (int i = 0; i < 10; i++) {
            assertThat(userLane.offer(commitEvent(i, false))).isTrue();
        }

        thread.runOnce();
        assertThat(userLane.size()).isEqualTo(7);
        thread.runOnce();
        assertThat(userLane.size()).isEqualTo(4);
    }

    @Test
    void sendsSystemRequestsBeforeUserRequestsOfTheSameIteration() {
        NetworkThread thread = thread(64);
        network.ready(FakeNetwork.NODE_0, true);
        // The commit needs the coordinator (a SYSTEM FindCoordinator, produced by the manager polled last);
        // the metadata lookup is a USER request produced earlier in the same iteration.
        CommitEvent commit = commitEvent(5, false);
        TopicMetadataEvent lookup = new TopicMetadataEvent(Optional.of("topic"), clock.milliseconds() + 60_000);
        userLane.offer(lookup);
        userLane.offer(commit);

        thread.runOnce();

        assertThat(network.sentNames()).containsExactly("FindCoordinator", "Metadata");

        network.sent().get(0).complete(FakeNetwork.NODE_0, null);
        thread.runOnce();
        assertThat(network.sentNames()).containsExactly("FindCoordinator", "Metadata", "OffsetCommit");
        network.sent().get(2).complete(Map.of(), null);
        assertThat(commit.future()).isCompletedWithValue(Map.of(P0, new OffsetAndMetadata(5)));
    }

    @Test
    void requestSenderSendsSystemRequestsFirstAndKeepsFifoWithinAPriority() {
        List<String> completed = new ArrayList<>();
        long deadline = clock.milliseconds() + 10_000;
        sender.add(new UnsentRequest<>(Requests.offsetFetch("group", Set.of(P0), false), Optional.of(FakeNetwork.NODE_0),
                Priority.USER, deadline, (r, e) -> completed.add("user-fetch")));
        sender.add(new UnsentRequest<>(Requests.topicMetadata(Optional.of(List.of("topic")), true), Optional.empty(),
                Priority.USER, deadline, (r, e) -> completed.add("user-metadata")));
        sender.add(new UnsentRequest<>(Requests.findCoordinator("group"), Optional.empty(),
                Priority.SYSTEM, deadline, (r, e) -> completed.add("system")));

        // not ready: nothing goes out, and the sender wants to be polled again by the deadline
        assertThat(sender.sendReady(clock.milliseconds())).isEqualTo(10_000);
        assertThat(network.sent()).isEmpty();

        network.ready(FakeNetwork.NODE_0, true);
        sender.sendReady(clock.milliseconds());

        assertThat(network.sentNames()).containsExactly("FindCoordinator", "OffsetFetch", "Metadata");
        assertThat(sender.isEmpty()).isTrue();
        assertThat(metrics.value("requests-sent-total", Map.of("api", "OffsetFetch"))).isEqualTo(1.0);
    }

    @Test
    void sentRequestGetsTheFullRequestTimeoutSoAShortCallerDeadlineNeverClosesTheSharedConnection() {
        sender.add(new UnsentRequest<>(Requests.findCoordinator("group"), Optional.empty(), Priority.SYSTEM,
                clock.milliseconds() + 700, (r, e) -> { }));
        network.ready(FakeNetwork.NODE_0, true);
        clock.advance(200);

        sender.sendReady(clock.milliseconds());

        assertThat(network.sent()).singleElement().satisfies(sent -> assertThat(sent.timeoutMs).isEqualTo(REQUEST_TIMEOUT_MS));
    }

    @Test
    void requestForABrokerThatCannotBeReachedFailsAtOnceWithARetriableDisconnect() {
        AtomicReference<Throwable> failure = new AtomicReference<>();
        sender.add(new UnsentRequest<>(Requests.offsetFetch("group", Set.of(P0), false), Optional.of(FakeNetwork.NODE_0),
                Priority.USER, clock.milliseconds() + 10_000, (r, e) -> failure.set(e)));
        assertThat(sender.sendReady(clock.milliseconds())).as("connecting").isEqualTo(10_000);
        assertThat(failure.get()).isNull();

        network.failConnections(FakeNetwork.NODE_0.id(), new DisconnectException("refused"));
        sender.sendReady(clock.milliseconds());
        assertThat(failure.get()).isInstanceOf(DisconnectException.class).isInstanceOf(RetriableException.class);
        assertThat(sender.isEmpty()).isTrue();
    }

    @Test
    void unsentRequestWhoseDeadlinePassesIsDroppedAndNeverSent() {
        AtomicReference<Throwable> failure = new AtomicReference<>();
        long deadline = clock.milliseconds() + 100;
        sender.add(new UnsentRequest<>(Requests.findCoordinator("group"), Optional.of(FakeNetwork.NODE_0),
                Priority.SYSTEM, deadline, (r, e) -> failure.set(e)));

        clock.advance(50);
        assertThat(sender.sendReady(clock.milliseconds())).isEqualTo(50);
        assertThat(network.sent()).isEmpty();
        assertThat(failure.get()).isNull();

        clock.set(deadline);
        sender.sendReady(clock.milliseconds());
        assertThat(failure.get()).isInstanceOf(TimeoutException.class).hasMessageContaining("FindCoordinator");
        assertThat(metrics.value("requests-expired-unsent-total", Map.of())).isEqualTo(1.0);
        assertThat(sender.isEmpty()).isTrue();

        network.ready(FakeNetwork.NODE_0, true);
        clock.advance(1);
        sender.sendReady(clock.milliseconds());
        assertThat(network.sent()).isEmpty();
    }

    @Test
    void eventsPastTheirDeadlineAreCompletedWithTimeoutException() {
        NetworkThread thread = thread(64);
        // no broker is ready: the commit waits for the coordinator lookup
        CommitEvent commit = new CommitEvent(Map.of(P0, new OffsetAndMetadata(1)), true, clock.milliseconds() + 100);
        TopicMetadataEvent lookup = new TopicMetadataEvent(Optional.empty(), clock.milliseconds() + 200);
        userLane.offer(commit);
        userLane.offer(lookup);

        thread.runOnce();
        assertThat(commit.future()).isNotDone();
        assertThat(lookup.future()).isNotDone();
        // the network poll blocks until the earliest deadline
        assertThat(network.polls()).containsExactly(100L);

        clock.advance(100);
        thread.runOnce();
        assertThat(catchThrowable(commit.future()::join)).isInstanceOf(CompletionException.class)
                .hasCauseInstanceOf(TimeoutException.class);
        assertThat(lookup.future()).isNotDone();
        assertThat(metrics.value("events-expired-total", Map.of())).isEqualTo(1.0);

        clock.advance(100);
        thread.runOnce();
        assertThat(catchThrowable(lookup.future()::join)).hasCauseInstanceOf(TimeoutException.class);
        assertThat(metrics.value("events-expired-total", Map.of())).isEqualTo(2.0);
        assertThat(network.sent()).isEmpty();
        // the commit whose caller gave up is dropped, so a close has nothing to flush
        assertThat(commits.hasPendingCommits()).isFalse();
    }

    @Test
    void eventWhoseCallerAlreadyGaveUpIsNotDispatched() {
        NetworkThread thread = thread(64);
        List<String> dispatched = new ArrayList<>();
        RecordingEvent event = new RecordingEvent("abandoned", dispatched, clock.milliseconds() + 1_000);
        userLane.offer(event);
        event.future().cancel(false);

        thread.runOnce();

        assertThat(dispatched).isEmpty();
    }

    @Test
    void deathOfTheThreadFailsEveryPendingEventWithTheCauseAndClosesTheNetwork() throws Exception {
        NetworkThread thread = thread(1);
        RuntimeException injected = new IllegalStateException("injected network failure");
        network.failPollWith(injected);
        List<CompletableFuture<?>> futures = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            CommitEvent event = commitEvent(i, true);
            userLane.offer(event);
            futures.add(event.future());
        }
        TopicMetadataEvent lookup = new TopicMetadataEvent(Optional.of("topic"), clock.milliseconds() + 60_000);
        userLane.offer(lookup);
        futures.add(lookup.future());

        thread.start();

        assertThat(thread.join(10_000)).isTrue();
        assertThat(thread.state()).isEqualTo(LoopState.FAILED);
        assertThat(thread.failure()).isSameAs(injected);
        assertThat(network.isClosed()).isTrue();
        for (CompletableFuture<?> future : futures) {
            assertThat(future).isCompletedExceptionally();
            Throwable error = catchThrowable(future::join);
            assertThat(error).isInstanceOf(CompletionException.class).hasCauseInstanceOf(ConsumerClosedException.class);
            assertThat(error.getCause().getCause()).isSameAs(injected);
        }
    }

    @Test
    void runOnceFromAnotherThreadThanTheBackgroundThreadIsRefused() throws Exception {
        NetworkThread thread = thread(1);
        network.failPollWith(new IllegalStateException("stop"));
        thread.start();
        assertThat(thread.join(10_000)).isTrue();

        assertThat(catchThrowable(thread::runOnce)).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("runOnce").hasMessageContaining(NetworkThread.THREAD_NAME_PREFIX + "test-client");
    }
}
