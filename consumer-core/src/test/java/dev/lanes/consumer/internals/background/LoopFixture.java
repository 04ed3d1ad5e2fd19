package dev.lanes.consumer.internals.background;

import dev.lanes.consumer.internals.adapter.FakeNetwork;
import dev.lanes.consumer.internals.background.managers.CommitRequestManager;
import dev.lanes.consumer.internals.background.managers.CoordinatorRequestManager;
import dev.lanes.consumer.internals.background.managers.FetchRequestManager;
import dev.lanes.consumer.internals.background.managers.HeartbeatRequestManager;
import dev.lanes.consumer.internals.background.managers.MembershipManager;
import dev.lanes.consumer.internals.background.managers.OffsetsRequestManager;
import dev.lanes.consumer.internals.background.managers.TopicMetadataRequestManager;
import dev.lanes.consumer.internals.background.managers.UnsentRequest;
import dev.lanes.consumer.internals.common.ManualClock;
import dev.lanes.consumer.internals.metrics.LanesConsumerMetrics;
import dev.lanes.consumer.internals.shared.FetchBuffer;
import dev.lanes.consumer.internals.shared.Lane;
import dev.lanes.consumer.internals.shared.LaneName;
import dev.lanes.consumer.internals.shared.OffsetResetStrategy;
import dev.lanes.consumer.internals.shared.PollTracker;
import dev.lanes.consumer.internals.shared.RebalanceCallbackQueue;
import dev.lanes.consumer.internals.shared.SubscriptionState;
import org.apache.kafka.common.IsolationLevel;
import org.apache.kafka.common.metrics.Metrics;

import java.util.List;
import java.util.Optional;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The background side of one consumer over a FakeNetwork and a ManualClock, wired as BackgroundSide wires it, for
 * the tests of the loop's parts: the managers of a consumer with a group (coordinator, commits, membership,
 * heartbeat) or without one, the lanes and the request sender.
 */
final class LoopFixture implements AutoCloseable {

    static final int REQUEST_TIMEOUT_MS = 30_000;
    static final int FETCH_MAX_WAIT_MS = 500;
    static final long MAX_POLL_INTERVAL_MS = 300_000;

    final ManualClock clock = new ManualClock(1_000);
    final FakeNetwork network = new FakeNetwork();
    final LanesConsumerMetrics metrics = new LanesConsumerMetrics(new Metrics(), "test-client");
    final SubscriptionState subscriptions = new SubscriptionState(OffsetResetStrategy.EARLIEST);
    final FetchBuffer fetchBuffer = new FetchBuffer(1 << 20, () -> { });
    final Lane systemLane = new Lane(LaneName.SYSTEM, 32, clock);
    final Lane userLane = new Lane(LaneName.USER, 64, clock);
    final EventLanes lanes = new EventLanes(systemLane, userLane, 64);
    final RequestSender sender = new RequestSender(network, metrics, REQUEST_TIMEOUT_MS);
    final PollTracker pollTracker = new PollTracker(clock.milliseconds());
    final RebalanceCallbackQueue callbacks = new RebalanceCallbackQueue(fetchBuffer);
    final Optional<CoordinatorRequestManager> coordinator;
    final Optional<CommitRequestManager> commits;
    final Optional<MembershipManager> membership;
    final Optional<HeartbeatRequestManager> heartbeat;
    final OffsetsRequestManager offsets;
    final TopicMetadataRequestManager topicMetadata;
    final FetchRequestManager fetches;
    final RequestManagers managers;

    /** With {@code group}, the group managers exist, as with a group.id (auto-commit off). */
    LoopFixture(boolean group) {
        coordinator = group ? Optional.of(new CoordinatorRequestManager("group", clock, 100, 1_000, REQUEST_TIMEOUT_MS))
                : Optional.empty();
        commits = coordinator.map(found -> new CommitRequestManager("group", clock, found, subscriptions, metrics, false,
                5_000, 100, 1_000, false));
        membership = commits.map(commitManager -> new MembershipManager("group", Optional.empty(), clock, subscriptions,
                network, commitManager, callbacks, pollTracker, metrics, false,
                MAX_POLL_INTERVAL_MS));
        heartbeat = membership.map(member -> new HeartbeatRequestManager(clock, member, coordinator.get(), pollTracker,
                metrics, MAX_POLL_INTERVAL_MS, REQUEST_TIMEOUT_MS, 100, 1_000, Optional.empty(), Optional.empty()));
        offsets = new OffsetsRequestManager(clock, network, subscriptions, commits, metrics,
                IsolationLevel.READ_UNCOMMITTED, REQUEST_TIMEOUT_MS, 100, 1_000, fetchBuffer::notifyStateChanged);
        topicMetadata = new TopicMetadataRequestManager(clock, metrics, 100, 1_000, true);
        fetches = new FetchRequestManager(clock, network, subscriptions, fetchBuffer, metrics,
                new FetchRequestManager.FetchConfig(1, 50 << 20, FETCH_MAX_WAIT_MS, 1 << 20,
                        IsolationLevel.READ_UNCOMMITTED, "", REQUEST_TIMEOUT_MS, 100, 1_000));
        heartbeat.ifPresent(beat -> fetches.boundWaitBy(beat::timeUntilNextHeartbeatMs));
        managers = new RequestManagers(membership, commits, offsets, topicMetadata, heartbeat, fetches, coordinator);
        network.ready(FakeNetwork.NODE_0, true);
    }

    /** Polls the managers and sends what they produced, as one loop iteration does. */
    void pollManagers() {
        managers.poll(clock.milliseconds(), sender);
        sender.sendReady(clock.milliseconds());
    }

    /** Makes NODE_0 the known group coordinator. */
    void knowCoordinator() {
        CoordinatorRequestManager found = coordinator.orElseThrow();
        assertThat(found.coordinator()).isEmpty();
        List<UnsentRequest<?>> lookup = found.poll(clock.milliseconds()).requests();
        assertThat(lookup).singleElement().satisfies(r -> assertThat(r.request().name()).isEqualTo("FindCoordinator"));
        complete(lookup.get(0), FakeNetwork.NODE_0, null);
    }

    @SuppressWarnings("unchecked")
    static <R> void complete(UnsentRequest<?> request, R result, Throwable error) {
        ((UnsentRequest<R>) request).complete(result, error);
    }

    @Override
    public void close() {
        metrics.close();
    }
}
