package dev.lanes.consumer.internals.background.managers;

import dev.lanes.consumer.MemberState;
import dev.lanes.consumer.internals.adapter.GroupHeartbeat;
import dev.lanes.consumer.internals.adapter.Network;
import dev.lanes.consumer.internals.common.Clock;
import dev.lanes.consumer.internals.shared.PollTracker;
import dev.lanes.consumer.internals.shared.RebalanceCallbackQueue;
import dev.lanes.consumer.internals.events.RebalanceCallback;
import dev.lanes.consumer.internals.metrics.LanesConsumerMetrics;
import dev.lanes.consumer.internals.shared.MembershipView;
import dev.lanes.consumer.internals.shared.SubscriptionState;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.Uuid;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;

/**
 * The member of a consumer group (KIP-848): its state machine, identity and assignment. Reconciliation
 * revokes before it assigns (R15): partitions being revoked stop being fetched and handed out, their
 * offsets are committed when auto-commit is on, onPartitionsRevoked runs on the application thread, and
 * only then are they given up; new partitions are added and onPartitionsAssigned runs; the next
 * heartbeat acknowledges the new assignment. Background thread only; the member id, epoch and state are
 * also published for the application thread to read.
 */
public final class MembershipManager {

    private static final Logger log = LoggerFactory.getLogger(MembershipManager.class);

    private final String groupId;
    private final Optional<String> groupInstanceId;
    private final Clock clock;
    private final SubscriptionState subscriptions;
    private final Network network;
    private final CommitRequestManager commits;
    private final RebalanceCallbackQueue callbacks;
    private final PollTracker pollTracker;
    private final LanesConsumerMetrics metrics;
    private final boolean autoCommit;
    private final long rebalanceTimeoutMs;
    private final String memberId = Uuid.randomUuid().toString();

    private MemberState state = MemberState.UNSUBSCRIBED;
    private int memberEpoch = GroupHeartbeat.JOIN_EPOCH;
    /** What the application thread reads: published after every change of the state or the epoch. */
    private final MembershipView view;

    /** The latest target assignment from the coordinator, by topic id. */
    private Map<Uuid, Set<Integer>> target;
    private boolean reconciling;
    /** Bumped whenever a reconciliation must stop (fenced, leaving): its later steps see it and return. */
    private int reconciliationGeneration;
    private long reconciliationStartNanos;
    private final Map<Long, CompletableFuture<Void>> awaitingCallbacks = new HashMap<>();
    /** Completed once the application is in poll() again (see {@link #awaitApplicationPoll()}); null if nothing waits. */
    private CompletableFuture<Void> applicationPoll;
    private long pollMark;
    private boolean heartbeatNow;

    public MembershipManager(String groupId, Optional<String> groupInstanceId, Clock clock, SubscriptionState subscriptions,
                             Network network, CommitRequestManager commits, RebalanceCallbackQueue callbacks,
                             PollTracker pollTracker, LanesConsumerMetrics metrics, boolean autoCommit,
                             long rebalanceTimeoutMs) {
        this.groupId = groupId;
        this.groupInstanceId = groupInstanceId;
        this.clock = clock;
        this.subscriptions = subscriptions;
        this.network = network;
        this.commits = commits;
        this.callbacks = callbacks;
        this.pollTracker = pollTracker;
        this.metrics = metrics;
        this.autoCommit = autoCommit;
        this.rebalanceTimeoutMs = rebalanceTimeoutMs;
        this.view = new MembershipView(groupId, groupInstanceId, new MembershipView.Member(state, memberId, memberEpoch));
    }

    /** The member as the application thread may read it. */
    public MembershipView view() {
        return view;
    }

    // ---- background thread

    public MemberState state() {
        return state;
    }

    public String memberId() {
        return memberId;
    }

    public int memberEpoch() {
        return memberEpoch;
    }

    public Optional<RuntimeException> fatalError() {
        return view.fatalError();
    }

    public String groupId() {
        return groupId;
    }

    public Optional<String> groupInstanceId() {
        return groupInstanceId;
    }

    private void publish() {
        view.publish(new MembershipView.Member(state, memberId, memberEpoch));
    }

    private void transitionTo(MemberState next) {
        if (!next.canTransitionFrom(state)) {
            throw new IllegalStateException("Invalid member state transition from " + state + " to " + next
                    + " (member " + memberId + " of group " + groupId + ")");
        }
        if (next != state) {
            log.debug("Member {} of group {}: {} -> {}", memberId, groupId, state, next);
        }
        state = next;
        publish();
    }

    /** The subscription changed: join if not in the group, else tell the coordinator at once. */
    public void onSubscriptionChanged() {
        if (!subscriptions.hasGroupSubscription()) {
            return;
        }
        if (state == MemberState.UNSUBSCRIBED || state == MemberState.STALE) {
            join();
        } else {
            heartbeatNow = true;
        }
    }

    private void join() {
        memberEpoch = GroupHeartbeat.JOIN_EPOCH;
        target = null;
        transitionTo(MemberState.JOINING);
        heartbeatNow = true;
    }

    /** Whether a heartbeat should go out now rather than at the interval; clears the request. */
    public boolean takeHeartbeatNow() {
        boolean now = heartbeatNow;
        heartbeatNow = false;
        return now;
    }

    /** A heartbeat that should have gone out now could not (back-off, no coordinator yet): keep it urgent. */
    public void requestHeartbeatAgain() {
        heartbeatNow = true;
    }

    /** The request the next heartbeat carries. */
    public GroupHeartbeat.Request heartbeatRequest(int epoch, Optional<String> rackId, Optional<String> serverAssignor) {
        Set<TopicPartition> owned = state == MemberState.JOINING ? Set.of() : ownedPartitions();
        return new GroupHeartbeat.Request(groupId, memberId, epoch, groupInstanceId, rackId, (int) rebalanceTimeoutMs,
                subscriptions.subscribedTopics(), subscriptions.brokerPattern(), serverAssignor,
                GroupHeartbeat.byTopicId(owned, network.topicIds()));
    }

    private Set<TopicPartition> ownedPartitions() {
        return subscriptions.hasGroupSubscription() ? subscriptions.assignedPartitions() : Set.of();
    }

    public void onHeartbeatResponse(GroupHeartbeat.Response response) {
        if (state == MemberState.LEAVING || state == MemberState.UNSUBSCRIBED || state == MemberState.FATAL
                || state == MemberState.STALE || state == MemberState.FENCED) {
            return;
        }
        memberEpoch = response.memberEpoch();
        publish();
        view.confirmed(clock.milliseconds(), Math.max(0, response.heartbeatIntervalMs()));
        if (response.assignment().isPresent()) {
            target = response.assignment().get();
        }
        if (state == MemberState.ACKNOWLEDGING && !reconciling) {
            transitionTo(MemberState.STABLE);
        }
        maybeReconcile();
        if (state == MemberState.JOINING && target != null && !reconciling) {
            transitionTo(MemberState.STABLE);
        }
    }

    /** Starts reconciling toward the target if it differs from what is owned and nothing is in progress. */
    public void maybeReconcile() {
        if (applicationPoll != null && pollTracker.enteredSince(pollMark)) {
            releaseApplicationPollWaiter();
        }
        if (target == null || reconciling || !state.inGroup()) {
            return;
        }
        Map<Uuid, String> names = network.topicNames();
        Set<TopicPartition> wanted = new HashSet<>();
        boolean unresolved = false;
        for (Map.Entry<Uuid, Set<Integer>> entry : target.entrySet()) {
            String topic = names.get(entry.getKey());
            if (topic == null) {
                unresolved = true;
                continue;
            }
            entry.getValue().forEach(partition -> wanted.add(new TopicPartition(topic, partition)));
        }
        if (unresolved) {
            // Names of the assigned topic ids come from metadata; ask for every topic until they are known.
            network.metadataAllTopics(true);
            network.requestMetadataUpdate();
            return;
        }
        network.metadataAllTopics(subscriptions.clientPattern().isPresent());
        Set<TopicPartition> owned = ownedPartitions();
        if (wanted.equals(owned)) {
            if (state == MemberState.JOINING) {
                transitionTo(MemberState.STABLE);
            }
            return;
        }
        Set<TopicPartition> revoked = new HashSet<>(owned);
        revoked.removeAll(wanted);
        Set<TopicPartition> added = new HashSet<>(wanted);
        added.removeAll(owned);
        transitionTo(MemberState.RECONCILING);
        reconciling = true;
        reconciliationStartNanos = clock.nanoseconds();
        int generation = ++reconciliationGeneration;
        log.info("Member {} of group {} reconciling at epoch {}: revoking {}, adding {}", memberId, groupId,
                memberEpoch, revoked, added);
        subscriptions.markPendingRevocation(revoked);
        commitBeforeReconciling(owned, generation)
                .thenCompose(ignored -> stillCurrent(generation) ? revoke(revoked) : CompletableFuture.completedFuture(null))
                .thenCompose(ignored -> stillCurrent(generation) ? assign(added) : CompletableFuture.completedFuture(null))
                .whenComplete((ignored, error) -> {
                    if (!stillCurrent(generation)) {
                        return;
                    }
                    reconciling = false;
                    if (error != null) {
                        log.warn("Reconciliation of member {} failed; it will be retried", memberId, error);
                        metrics.rebalanceFailed();
                    } else {
                        metrics.rebalanceCompleted(clock.nanoseconds() - reconciliationStartNanos, clock.milliseconds());
                    }
                    transitionTo(MemberState.ACKNOWLEDGING);
                    heartbeatNow = true;
                });
    }

    /** Ends the reconciliation in progress, if any: its later steps see that and do nothing. */
    private void stopReconciliation() {
        if (reconciling) {
            metrics.rebalanceFailed(); // fenced, left or failed before it completed
        }
        reconciliationGeneration++;
        reconciling = false;
        releaseApplicationPollWaiter();
    }

    private boolean stillCurrent(int generation) {
        return generation == reconciliationGeneration && state == MemberState.RECONCILING;
    }

    private CompletableFuture<Void> revoke(Set<TopicPartition> revoked) {
        if (revoked.isEmpty()) {
            return CompletableFuture.completedFuture(null);
        }
        return runCallback(RebalanceCallback.Kind.REVOKED, revoked).thenRun(() -> subscriptions.removeFromGroup(revoked));
    }

    private CompletableFuture<Void> assign(Set<TopicPartition> added) {
        subscriptions.addFromGroup(added);
        return runCallback(RebalanceCallback.Kind.ASSIGNED, added);
    }

    /**
     * With auto-commit, every reconciliation first commits what the application has consumed (R15), as
     * KafkaConsumer does: of every owned partition, not only the revoked ones. "Consumed" is what poll()
     * had returned when the application last entered it, so the commit waits until the application is in
     * poll() again; the callbacks run there anyway, and a batch that was being processed when the
     * reconciliation began is committed instead of being handed to the next owner again.
     */
    private CompletableFuture<Void> commitBeforeReconciling(Set<TopicPartition> owned, int generation) {
        if (!autoCommit || owned.isEmpty()) {
            return CompletableFuture.completedFuture(null);
        }
        return awaitApplicationPoll().thenCompose(ignored -> {
            if (!stillCurrent(generation)) {
                return CompletableFuture.completedFuture(null);
            }
            Map<TopicPartition, OffsetAndMetadata> offsets = subscriptions.consumedAtLastPoll();
            CompletableFuture<Map<TopicPartition, OffsetAndMetadata>> committed = new CompletableFuture<>();
            commits.commitOwn(offsets, clock.milliseconds() + rebalanceTimeoutMs, committed);
            return committed.handle((result, error) -> {
                if (error != null) {
                    log.warn("Committing offsets {} before a reconciliation failed: {}", offsets, error.toString());
                }
                return null;
            });
        });
    }

    /** Completes once the application is in poll(): at once if it is there now, else at its next entry. */
    private CompletableFuture<Void> awaitApplicationPoll() {
        releaseApplicationPollWaiter();
        pollTracker.requestWakeOnEntry();
        pollMark = pollTracker.entries();
        if (pollTracker.inPoll()) {
            return CompletableFuture.completedFuture(null);
        }
        applicationPoll = new CompletableFuture<>();
        return applicationPoll;
    }

    /** Lets a reconciliation waiting for the application go on (it then sees whether it is still current). */
    private void releaseApplicationPollWaiter() {
        CompletableFuture<Void> waiter = applicationPoll;
        if (waiter != null) {
            applicationPoll = null;
            waiter.complete(null);
        }
    }

    private CompletableFuture<Void> runCallback(RebalanceCallback.Kind kind, Set<TopicPartition> partitions) {
        CompletableFuture<Void> done = new CompletableFuture<>();
        long id = callbacks.request(kind, partitions);
        awaitingCallbacks.put(id, done);
        return done;
    }

    /** The application thread ran a callback. */
    public void onCallbackCompleted(long callbackId, Optional<Exception> error) {
        CompletableFuture<Void> done = awaitingCallbacks.remove(callbackId);
        if (done != null) {
            error.ifPresent(e -> log.warn("A rebalance callback of member {} threw; the rebalance goes on", memberId, e));
            done.complete(null);
        }
    }

    /** The coordinator fenced the member: its partitions are lost (onPartitionsLost), then it rejoins. */
    public void onFenced(RuntimeException error) {
        if (state == MemberState.FENCED || state == MemberState.LEAVING || state == MemberState.UNSUBSCRIBED
                || state == MemberState.FATAL || state == MemberState.STALE) {
            return;
        }
        log.warn("Member {} of group {} was fenced at epoch {} ({}); its partitions are lost and it rejoins",
                memberId, groupId, memberEpoch, error.toString());
        stopReconciliation();
        transitionTo(MemberState.FENCED);
        releaseAsLost().whenComplete((ignored, e) -> {
            if (state == MemberState.FENCED) {
                if (subscriptions.hasGroupSubscription()) {
                    join();
                } else {
                    transitionTo(MemberState.UNSUBSCRIBED);
                }
            }
        });
    }

    private CompletableFuture<Void> releaseAsLost() {
        Set<TopicPartition> lost = ownedPartitions();
        if (lost.isEmpty()) {
            return CompletableFuture.completedFuture(null);
        }
        subscriptions.markPendingRevocation(lost);
        return runCallback(RebalanceCallback.Kind.LOST, lost).thenRun(() -> subscriptions.removeFromGroup(lost));
    }

    /**
     * The application stopped polling for longer than max.poll.interval.ms: leave the group so its
     * partitions go to others at once, and rejoin on the next poll.
     */
    public void onPollTimeout(long maxPollIntervalMs) {
        if (!state.inGroup()) {
            return;
        }
        log.warn("Member {} of group {} is leaving the group: poll() was not called within max.poll.interval.ms "
                + "({} ms). Its partitions are released; it rejoins on the next poll. If processing takes this long, "
                + "raise max.poll.interval.ms or lower max.poll.records.", memberId, groupId, maxPollIntervalMs);
        stopReconciliation();
        transitionTo(MemberState.PREPARE_LEAVING);
        transitionTo(MemberState.LEAVING);
        leavingForPollTimeout = true;
        heartbeatNow = true;
    }

    private boolean leavingForPollTimeout;
    /** onPartitionsLost of a member that left for a poll timeout; it rejoins only after that ran. */
    private CompletableFuture<Void> staleRelease = CompletableFuture.completedFuture(null);

    /** Leaving was asked for by close or unsubscribe (the application ran onPartitionsRevoked already). */
    public boolean leave() {
        if (!state.inGroup() && state != MemberState.FENCED) {
            return false;
        }
        stopReconciliation();
        // The application already ran onPartitionsRevoked: nothing more is fetched or handed out.
        subscriptions.markPendingRevocation(ownedPartitions());
        transitionTo(MemberState.PREPARE_LEAVING);
        transitionTo(MemberState.LEAVING);
        leavingForPollTimeout = false;
        heartbeatNow = true;
        return true;
    }

    /** The epoch a leave heartbeat carries: a static member keeps its assignment for its return. */
    public int leaveEpoch() {
        return groupInstanceId.isPresent() && !leavingForPollTimeout ? GroupHeartbeat.LEAVE_STATIC_EPOCH : GroupHeartbeat.LEAVE_EPOCH;
    }

    /** The leave heartbeat was answered (or failed: the session timeout removes the member anyway). */
    public void onLeft() {
        if (state != MemberState.LEAVING) {
            return;
        }
        memberEpoch = GroupHeartbeat.JOIN_EPOCH;
        target = null;
        if (leavingForPollTimeout) {
            transitionTo(MemberState.STALE);
            staleRelease = releaseAsLost();
        } else {
            transitionTo(MemberState.UNSUBSCRIBED);
        }
    }

    /** A stale member was polled again: rejoin. */
    public void rejoinAfterPollTimeout() {
        if (state == MemberState.STALE && staleRelease.isDone() && subscriptions.hasGroupSubscription()) {
            log.info("Member {} of group {} rejoins after a poll timeout", memberId, groupId);
            join();
        }
    }

    /** The subscription ended without a leave (it was never joined): back to unsubscribed. */
    public void onUnsubscribed() {
        if (state == MemberState.JOINING || state == MemberState.STALE) {
            transitionTo(MemberState.UNSUBSCRIBED);
        }
    }

    public void onFatal(RuntimeException error) {
        view.failed(error);
        stopReconciliation();
        transitionTo(MemberState.FATAL);
    }

    /** Fails the callbacks still awaited (close). */
    public void discardAll() {
        awaitingCallbacks.values().forEach(future -> future.complete(null));
        awaitingCallbacks.clear();
    }
}
