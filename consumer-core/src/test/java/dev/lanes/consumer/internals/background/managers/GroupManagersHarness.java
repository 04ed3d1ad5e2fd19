package dev.lanes.consumer.internals.background.managers;

import dev.lanes.consumer.MemberState;
import dev.lanes.consumer.internals.adapter.FakeNetwork;
import dev.lanes.consumer.internals.adapter.GroupHeartbeat;
import dev.lanes.consumer.internals.shared.FetchBuffer;
import dev.lanes.consumer.internals.common.ManualClock;
import dev.lanes.consumer.internals.shared.PollTracker;
import dev.lanes.consumer.internals.shared.RebalanceCallbackQueue;
import dev.lanes.consumer.internals.events.RebalanceCallback;
import dev.lanes.consumer.internals.metrics.LanesConsumerMetrics;
import dev.lanes.consumer.internals.shared.OffsetResetStrategy;
import dev.lanes.consumer.internals.shared.SubscriptionState;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.message.ConsumerGroupHeartbeatRequestData;
import org.apache.kafka.common.metrics.Metrics;
import org.apache.kafka.common.requests.ConsumerGroupHeartbeatRequest;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Wires a MembershipManager and a HeartbeatRequestManager over a FakeNetwork, a ManualClock and a
 * coordinator that is already known, for the group unit tests. Requests are driven by poll(now) and
 * completed by the test.
 */
final class GroupManagersHarness implements AutoCloseable {

    static final Node COORDINATOR = new Node(3, "localhost", 9095);
    static final String TOPIC = "topic";
    static final Uuid TOPIC_ID = Uuid.fromString("AAAAAAAAAAAAAAAAAAAAAQ");
    static final TopicPartition P0 = new TopicPartition(TOPIC, 0);
    static final TopicPartition P1 = new TopicPartition(TOPIC, 1);
    static final TopicPartition P2 = new TopicPartition(TOPIC, 2);
    static final long RETRY_BACKOFF_MS = 100;
    static final long RETRY_BACKOFF_MAX_MS = 1_000;
    static final long MAX_POLL_INTERVAL_MS = 10_000;
    static final long REBALANCE_TIMEOUT_MS = 60_000;

    final ManualClock clock = new ManualClock(10_000);
    final LanesConsumerMetrics metrics = new LanesConsumerMetrics(new Metrics(), "test-client");
    final SubscriptionState subscriptions = new SubscriptionState(OffsetResetStrategy.EARLIEST);
    final FakeNetwork network = new FakeNetwork().topicIds(Map.of(TOPIC, TOPIC_ID));
    final CoordinatorRequestManager coordinator = new CoordinatorRequestManager("group", clock,
            RETRY_BACKOFF_MS, RETRY_BACKOFF_MAX_MS, 30_000);
    final CommitRequestManager commits;
    final RebalanceCallbackQueue callbacks = new RebalanceCallbackQueue(new FetchBuffer(1 << 20, () -> { }));
    final MembershipManager membership;
    final PollTracker pollTracker = new PollTracker(clock.milliseconds());
    final HeartbeatRequestManager heartbeats;

    GroupManagersHarness(boolean autoCommit, Optional<String> instanceId) {
        commits = new CommitRequestManager("group", clock, coordinator, subscriptions, metrics, autoCommit, 5_000,
                RETRY_BACKOFF_MS, RETRY_BACKOFF_MAX_MS, false);
        membership = new MembershipManager("group", instanceId, clock, subscriptions, network, commits, callbacks,
                pollTracker, metrics, autoCommit, REBALANCE_TIMEOUT_MS);
        heartbeats = new HeartbeatRequestManager(clock, membership, coordinator, pollTracker, metrics,
                MAX_POLL_INTERVAL_MS, 30_000, RETRY_BACKOFF_MS, RETRY_BACKOFF_MAX_MS, Optional.empty(), Optional.empty());
        knowCoordinator();
    }

    /** The application called poll() and it returned at once. */
    void polled() {
        pollTracker.enter(clock.milliseconds());
        pollTracker.exit(clock.milliseconds());
    }

    GroupManagersHarness() {
        this(false, Optional.empty());
    }

    @Override
    public void close() {
        metrics.close();
    }

    @SuppressWarnings("unchecked")
    static <R> void complete(UnsentRequest<?> request, R result, Throwable error) {
        ((UnsentRequest<R>) request).complete(result, error);
    }

    private void knowCoordinator() {
        assertThat(coordinator.coordinator()).isEmpty();
        List<UnsentRequest<?>> lookup = coordinator.poll(clock.milliseconds()).requests();
        assertThat(lookup).singleElement().satisfies(r -> assertThat(r.request().name()).isEqualTo("FindCoordinator"));
        complete(lookup.get(0), COORDINATOR, null);
        assertThat(coordinator.coordinator()).contains(COORDINATOR);
    }

    void subscribe() {
        subscriptions.subscribe(Set.of(TOPIC));
        membership.onSubscriptionChanged();
    }

    List<UnsentRequest<?>> pollHeartbeats() {
        return heartbeats.poll(clock.milliseconds()).requests();
    }

    /** Polls and expects exactly one heartbeat. */
    UnsentRequest<?> nextHeartbeat() {
        List<UnsentRequest<?>> requests = pollHeartbeats();
        assertThat(requests).singleElement().satisfies(r -> {
            assertThat(r.request().name()).isEqualTo("ConsumerGroupHeartbeat");
            assertThat(r.destination()).contains(COORDINATOR);
        });
        return requests.get(0);
    }

    static ConsumerGroupHeartbeatRequestData data(UnsentRequest<?> heartbeat) {
        return ((ConsumerGroupHeartbeatRequest) FakeNetwork.build(heartbeat.request())).data();
    }

    /** The owned partitions a heartbeat carries, as partitions of TOPIC. */
    static Set<TopicPartition> owned(UnsentRequest<?> heartbeat) {
        Set<TopicPartition> owned = new TreeSet<>((a, b) -> a.toString().compareTo(b.toString()));
        for (ConsumerGroupHeartbeatRequestData.TopicPartitions topic : data(heartbeat).topicPartitions()) {
            assertThat(topic.topicId()).isEqualTo(TOPIC_ID);
            topic.partitions().forEach(p -> owned.add(new TopicPartition(TOPIC, p)));
        }
        return owned;
    }

    GroupHeartbeat.Response response(int epoch, int intervalMs, Integer... assignedPartitions) {
        Optional<Map<Uuid, Set<Integer>>> assignment =
                Optional.of(assignedPartitions.length == 0 ? Map.of() : Map.of(TOPIC_ID, Set.of(assignedPartitions)));
        return new GroupHeartbeat.Response(membership.memberId(), epoch, intervalMs, assignment);
    }

    GroupHeartbeat.Response responseWithoutAssignment(int epoch, int intervalMs) {
        return new GroupHeartbeat.Response(membership.memberId(), epoch, intervalMs, Optional.empty());
    }

    /** Takes every pending callback request. */
    List<RebalanceCallback> takeCallbacks() {
        List<RebalanceCallback> taken = new ArrayList<>();
        for (RebalanceCallback callback = callbacks.next(); callback != null; callback = callbacks.next()) {
            taken.add(callback);
        }
        return taken;
    }

    /** Takes the single pending callback, checks its kind and partitions, and acknowledges it. */
    RebalanceCallback ack(RebalanceCallback.Kind kind, TopicPartition... partitions) {
        List<RebalanceCallback> taken = takeCallbacks();
        assertThat(taken).singleElement().satisfies(c -> {
            assertThat(c.kind()).isEqualTo(kind);
            assertThat(c.partitions()).containsExactlyInAnyOrder(partitions);
        });
        membership.onCallbackCompleted(taken.get(0).id(), Optional.empty());
        return taken.get(0);
    }

    /** Joins and reaches STABLE owning the given partitions at epoch 1, heartbeat interval {@code intervalMs}. */
    void joinStable(int intervalMs, Integer... partitions) {
        subscribe();
        complete(nextHeartbeat(), response(1, intervalMs, partitions), null);
        assertThat(membership.state()).isEqualTo(MemberState.RECONCILING);
        TopicPartition[] tps = new TopicPartition[partitions.length];
        for (int i = 0; i < partitions.length; i++) {
            tps[i] = new TopicPartition(TOPIC, partitions[i]);
        }
        ack(RebalanceCallback.Kind.ASSIGNED, tps);
        assertThat(membership.state()).isEqualTo(MemberState.ACKNOWLEDGING);
        complete(nextHeartbeat(), responseWithoutAssignment(1, intervalMs), null);
        assertThat(membership.state()).isEqualTo(MemberState.STABLE);
    }

    static Map<TopicPartition, Long> committedOffsets(UnsentRequest<?> request) {
        assertThat(request.request().name()).isEqualTo("OffsetCommit");
        var data = ((org.apache.kafka.common.requests.OffsetCommitRequest) FakeNetwork.build(request.request())).data();
        Map<TopicPartition, Long> committed = new HashMap<>();
        data.topics().forEach(topic -> topic.partitions().forEach(partition ->
                committed.put(new TopicPartition(topic.name(), partition.partitionIndex()), partition.committedOffset())));
        return committed;
    }
}
