package dev.lanes.consumer.internals.background.managers;

import dev.lanes.consumer.internals.adapter.Requests;
import dev.lanes.consumer.internals.common.Clock;
import dev.lanes.consumer.internals.metrics.LanesConsumerMetrics;
import dev.lanes.consumer.internals.shared.SubscriptionState;
import org.apache.kafka.clients.consumer.CommitFailedException;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.consumer.RetriableCommitFailedException;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.RetriableException;
import org.apache.kafka.common.errors.StaleMemberEpochException;
import org.apache.kafka.common.errors.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;

/**
 * Commits offsets and reads committed offsets, through the group coordinator.
 *
 * <p>Commits go out one at a time, in the order they were made, so a synchronous commit naturally waits
 * for the asynchronous ones before it (R16). While one is in flight, later asynchronous commits fold
 * into the next pending one, which carries the latest offset per partition; every caller's future
 * completes with that request's result (R4). Auto-commit is scheduled here too, by the background
 * thread's own clock (R7). Identical committed-offset lookups in flight share one request (R4).
 */
public final class CommitRequestManager implements RequestManager {

    private static final Logger log = LoggerFactory.getLogger(CommitRequestManager.class);
    private static final int NO_EPOCH = Integer.MIN_VALUE;

    /** Commits of the same batch: one OffsetCommit request serves every caller in it. */
    private final class PendingCommit {
        final Map<TopicPartition, OffsetAndMetadata> offsets = new LinkedHashMap<>();
        final List<CompletableFuture<Map<TopicPartition, OffsetAndMetadata>>> callers = new ArrayList<>();
        final boolean retryUntilDeadline;
        final Priority priority;
        final RetryBackoff backoff = new RetryBackoff(retryBackoffMs, retryBackoffMaxMs);
        long deadlineMs;
        /** The member epoch and the coordinator of the attempt in flight. */
        int epochSent = NO_EPOCH;
        int coordinatorSent;
        long sentAtMs;
        /** The epoch the coordinator called stale: the retry waits for the next one. */
        int staleEpoch = NO_EPOCH;

        PendingCommit(boolean retryUntilDeadline, Priority priority, long deadlineMs) {
            this.retryUntilDeadline = retryUntilDeadline;
            this.priority = priority;
            this.deadlineMs = deadlineMs;
        }

        boolean abandoned() {
            return callers.stream().allMatch(CompletableFuture::isDone);
        }
    }

    private final String groupId;
    private final Clock clock;
    private final CoordinatorRequestManager coordinator;
    private final SubscriptionState subscriptions;
    private final LanesConsumerMetrics metrics;
    private final boolean autoCommitEnabled;
    private final long autoCommitIntervalMs;
    private final long retryBackoffMs;
    private final long retryBackoffMaxMs;
    private final boolean requireStableOffsets;

    private final Deque<PendingCommit> commits = new ArrayDeque<>();
    private final SharedLookups<Set<TopicPartition>, Map<TopicPartition, OffsetAndMetadata>> offsetFetches;
    private java.util.function.Supplier<String> memberId = () -> "";
    private java.util.function.IntSupplier memberEpoch = () -> -1;
    private java.util.function.Consumer<Map<TopicPartition, OffsetAndMetadata>> ownCommitted = offsets -> { };
    private long nextAutoCommitMs;
    private Map<TopicPartition, OffsetAndMetadata> lastAutoCommitted = Map.of();

    public CommitRequestManager(String groupId, Clock clock, CoordinatorRequestManager coordinator,
                                SubscriptionState subscriptions, LanesConsumerMetrics metrics,
                                boolean autoCommitEnabled, long autoCommitIntervalMs, long retryBackoffMs,
                                long retryBackoffMaxMs, boolean requireStableOffsets) {
        this.groupId = groupId;
        this.clock = clock;
        this.coordinator = coordinator;
        this.subscriptions = subscriptions;
        this.metrics = metrics;
        this.autoCommitEnabled = autoCommitEnabled;
        this.autoCommitIntervalMs = autoCommitIntervalMs;
        this.retryBackoffMs = retryBackoffMs;
        this.retryBackoffMaxMs = retryBackoffMaxMs;
        this.requireStableOffsets = requireStableOffsets;
        this.nextAutoCommitMs = clock.milliseconds() + autoCommitIntervalMs;
        this.offsetFetches = new SharedLookups<>(metrics, retryBackoffMs, retryBackoffMaxMs);
    }

    /**
     * Commits of a group member carry its member id and epoch, so that the coordinator can refuse a commit
     * from a member that lost its partitions. Without a membership, commits are made as a non-member.
     */
    public void useMemberIdentity(java.util.function.Supplier<String> memberId, java.util.function.IntSupplier memberEpoch) {
        this.memberId = memberId;
        this.memberEpoch = memberEpoch;
    }

    /** Where the commits the consumer makes on its own go once they succeed (to tell the interceptors). */
    public void reportOwnCommitsTo(java.util.function.Consumer<Map<TopicPartition, OffsetAndMetadata>> ownCommitted) {
        this.ownCommitted = ownCommitted;
    }

    /**
     * A commit the consumer makes on its own, not the application (before a reconciliation): like a synchronous
     * commit, and reported to {@link #reportOwnCommitsTo} once it succeeds.
     */
    public void commitOwn(Map<TopicPartition, OffsetAndMetadata> offsets, long deadlineMs,
                          CompletableFuture<Map<TopicPartition, OffsetAndMetadata>> future) {
        future.whenComplete((committed, error) -> {
            if (error == null && !committed.isEmpty()) {
                ownCommitted.accept(committed);
            }
        });
        commit(offsets, true, deadlineMs, future);
    }

    /**
     * Queues a commit; an asynchronous one merges into a pending asynchronous batch not yet sent. A synchronous
     * commit of nothing still waits for the commits before it, as KafkaConsumer's commitSync does.
     */
    public void commit(Map<TopicPartition, OffsetAndMetadata> offsets, boolean sync, long deadlineMs,
                       CompletableFuture<Map<TopicPartition, OffsetAndMetadata>> future) {
        if (offsets.isEmpty() && (!sync || commits.isEmpty())) {
            future.complete(offsets);
            return;
        }
        PendingCommit tail = commits.peekLast();
        boolean tailAcceptsMerge = tail != null && !sync && !tail.retryUntilDeadline && !tail.backoff.isInFlight()
                && tail.priority == Priority.USER;
        if (tailAcceptsMerge) {
            tail.offsets.putAll(offsets);
            tail.callers.add(future);
            tail.deadlineMs = Math.max(tail.deadlineMs, deadlineMs);
            metrics.requestCoalesced();
            return;
        }
        PendingCommit pending = new PendingCommit(sync, Priority.USER, deadlineMs);
        pending.offsets.putAll(offsets);
        pending.callers.add(future);
        commits.addLast(pending);
    }

    /** Reads committed offsets; joins an identical lookup already pending or in flight. */
    public CompletableFuture<Map<TopicPartition, OffsetAndMetadata>> fetchCommitted(Set<TopicPartition> partitions,
                                                                                   long deadlineMs) {
        CompletableFuture<Map<TopicPartition, OffsetAndMetadata>> future = new CompletableFuture<>();
        if (partitions.isEmpty()) {
            future.complete(Map.of());
            return future;
        }
        offsetFetches.join(Set.copyOf(partitions), deadlineMs, future);
        return future;
    }

    /** Whether commits are queued or in flight (close flushes them). */
    public boolean hasPendingCommits() {
        return !commits.isEmpty();
    }

    /** Fails every pending commit and lookup; returns how many requests were discarded. */
    public int discardAll(RuntimeException reason) {
        int discarded = commits.size() + offsetFetches.discardAll(reason);
        commits.forEach(commit -> commit.callers.forEach(caller -> caller.completeExceptionally(reason)));
        commits.clear();
        return discarded;
    }

    @Override
    public PollResult poll(long nowMs) {
        long wait = maybeScheduleAutoCommit(nowMs);
        List<UnsentRequest<?>> requests = new ArrayList<>();
        wait = Math.min(wait, pollCommits(nowMs, requests));
        wait = Math.min(wait, pollOffsetFetches(nowMs, requests));
        return new PollResult(wait, requests);
    }

    private long maybeScheduleAutoCommit(long nowMs) {
        if (!autoCommitEnabled) {
            return Long.MAX_VALUE;
        }
        if (nowMs >= nextAutoCommitMs) {
            nextAutoCommitMs = nowMs + autoCommitIntervalMs;
            // Only what the application had consumed when it last entered poll(): never a batch in progress.
            Map<TopicPartition, OffsetAndMetadata> offsets = subscriptions.consumedAtLastPoll();
            if (!offsets.isEmpty() && !offsets.equals(lastAutoCommitted)) {
                PendingCommit pending = new PendingCommit(false, Priority.SYSTEM, nowMs + autoCommitIntervalMs);
                pending.offsets.putAll(offsets);
                CompletableFuture<Map<TopicPartition, OffsetAndMetadata>> future = new CompletableFuture<>();
                future.whenComplete((committed, error) -> {
                    if (error != null) {
                        log.warn("Auto-commit of offsets {} for group {} failed: {}", offsets, groupId, error.toString());
                    } else {
                        lastAutoCommitted = offsets;
                        ownCommitted.accept(committed);
                    }
                });
                pending.callers.add(future);
                commits.addLast(pending);
            }
        }
        return nextAutoCommitMs - nowMs;
    }

    private long pollCommits(long nowMs, List<UnsentRequest<?>> requests) {
        // Commits whose callers all gave up are dropped unsent (R5). One in flight past its deadline is no longer
        // waited for either: the commits behind it go out (behind it on the same connection, so still in order),
        // and its late answer changes nothing.
        while (!commits.isEmpty() && commits.peekFirst().abandoned()
                && (!commits.peekFirst().backoff.isInFlight() || nowMs >= commits.peekFirst().deadlineMs)) {
            commits.pollFirst();
        }
        // A commit of nothing only marks where the commits made before it end: it completes when it is reached.
        while (!commits.isEmpty() && commits.peekFirst().offsets.isEmpty()) {
            commits.pollFirst().callers.forEach(caller -> caller.complete(Map.of()));
        }
        PendingCommit head = commits.peekFirst();
        if (head == null) {
            return Long.MAX_VALUE;
        }
        if (nowMs >= head.deadlineMs && !head.backoff.isInFlight()) {
            failCommit(commits.pollFirst(), new TimeoutException("Commit of offsets " + head.offsets
                    + " could not be completed before its deadline"));
            return 0;
        }
        if (!head.backoff.canSend(nowMs)) {
            return head.backoff.remainingBackoffMs(nowMs);
        }
        int epoch = memberEpoch.getAsInt();
        if (head.staleEpoch != NO_EPOCH && epoch == head.staleEpoch) {
            return Math.max(0, head.deadlineMs - nowMs); // the heartbeat that brings the new epoch wakes the loop
        }
        Optional<Node> node = coordinator.coordinator();
        if (node.isEmpty()) {
            coordinator.fatalError().ifPresent(error -> failCommit(commits.pollFirst(), error));
            return Math.max(0, head.deadlineMs - nowMs);
        }
        head.backoff.onSend();
        head.epochSent = epoch;
        head.coordinatorSent = coordinator.generation();
        head.sentAtMs = nowMs;
        Map<TopicPartition, OffsetAndMetadata> offsets = Map.copyOf(head.offsets);
        requests.add(new UnsentRequest<>(
                Requests.offsetCommit(groupId, memberId.get(), epoch, Optional.empty(), offsets),
                node, head.priority, head.deadlineMs,
                (failed, error) -> onCommitResponse(head, failed, error)));
        return Long.MAX_VALUE;
    }

    private void onCommitResponse(PendingCommit pending, Map<TopicPartition, RuntimeException> failed, Throwable error) {
        long nowMs = clock.milliseconds();
        if (error == null) {
            metrics.commitAnswered(nowMs - pending.sentAtMs); // an answer, whatever the partitions' errors
        }
        if (error == null && !failed.isEmpty()) {
            error = failed.values().iterator().next();
        }
        if (error == null) {
            pending.backoff.onSuccess();
            commits.remove(pending);
            Map<TopicPartition, OffsetAndMetadata> committed = Map.copyOf(pending.offsets);
            pending.callers.forEach(caller -> caller.complete(committed));
            return;
        }
        if (CoordinatorErrors.coordinatorLost(error)) {
            coordinator.markUnknown(pending.coordinatorSent, error.getClass().getSimpleName());
        }
        if (!commits.contains(pending)) {
            return; // abandoned past its deadline: nobody waits for it any more
        }
        if (error instanceof StaleMemberEpochException && nowMs < pending.deadlineMs && stillOwned(pending)) {
            // The member moved to a new epoch (a reconciliation) and still owns these partitions: the heartbeat
            // that brings the new epoch is near, and the commit is retried with it.
            log.debug("Commit of {} at stale member epoch {} is retried with the next epoch", pending.offsets,
                    pending.epochSent);
            pending.staleEpoch = pending.epochSent;
            pending.backoff.onFailure(nowMs);
            return;
        }
        boolean retriable = error instanceof RetriableException;
        if (retriable && pending.retryUntilDeadline && nowMs < pending.deadlineMs) {
            pending.backoff.onFailure(nowMs);
            return;
        }
        commits.remove(pending);
        pending.backoff.onFailure(nowMs);
        RuntimeException failure;
        if (CoordinatorErrors.membershipLost(error)) {
            failure = new CommitFailedException("Offset commit cannot be completed: the member is no longer part of "
                    + "the group or no longer owns these partitions (" + error.getMessage() + "). Its partitions may "
                    + "have been reassigned; the records are consumed again by their new owner.");
        } else if (retriable && pending.retryUntilDeadline) {
            // A synchronous commit never surfaces a retriable error: its deadline ran out while retrying.
            failure = new TimeoutException("Commit of offsets " + pending.offsets
                    + " could not be completed before its deadline", error);
        } else if (retriable) {
            failure = new RetriableCommitFailedException(error);
        } else {
            failure = error instanceof RuntimeException ? (RuntimeException) error : new RuntimeException(error);
        }
        failCommit(pending, failure);
    }

    /** Whether a group member still owns every partition of the commit (a non-member commit owns none and needs none). */
    private boolean stillOwned(PendingCommit pending) {
        Set<TopicPartition> assigned = subscriptions.assignedPartitions();
        return !memberId.get().isEmpty() && assigned.containsAll(pending.offsets.keySet());
    }

    private static void failCommit(PendingCommit pending, RuntimeException error) {
        pending.callers.forEach(caller -> caller.completeExceptionally(error));
    }

    private long pollOffsetFetches(long nowMs, List<UnsentRequest<?>> requests) {
        long wait = Long.MAX_VALUE;
        for (SharedLookups.Lookup<Set<TopicPartition>, Map<TopicPartition, OffsetAndMetadata>> lookup : offsetFetches.active()) {
            if (!lookup.backoff().canSend(nowMs)) {
                wait = Math.min(wait, lookup.backoff().remainingBackoffMs(nowMs));
                continue;
            }
            Optional<Node> node = coordinator.coordinator();
            if (node.isEmpty()) {
                coordinator.fatalError().ifPresent(error -> offsetFetches.failed(lookup, error, nowMs, "Fetching committed offsets"));
                continue;
            }
            lookup.backoff().onSend();
            int sentToCoordinator = coordinator.generation();
            requests.add(new UnsentRequest<>(Requests.offsetFetch(groupId, lookup.key(), requireStableOffsets),
                    node, Priority.USER, lookup.deadlineMs(), (committed, error) -> {
                        if (error == null) {
                            offsetFetches.complete(lookup, new HashMap<>(committed));
                            return;
                        }
                        if (CoordinatorErrors.coordinatorLost(error)) {
                            coordinator.markUnknown(sentToCoordinator, error.getClass().getSimpleName());
                        }
                        offsetFetches.failed(lookup, error, clock.milliseconds(),
                                "Fetching committed offsets of " + lookup.key());
                    }));
        }
        return wait;
    }
}
