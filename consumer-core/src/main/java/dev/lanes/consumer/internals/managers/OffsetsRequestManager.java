package dev.lanes.consumer.internals.managers;

import dev.lanes.consumer.internals.adapter.Network;
import dev.lanes.consumer.internals.adapter.Requests;
import dev.lanes.consumer.internals.engine.Clock;
import dev.lanes.consumer.internals.metrics.LanesConsumerMetrics;
import dev.lanes.consumer.internals.state.ListedOffset;
import dev.lanes.consumer.internals.state.OffsetResetStrategy;
import dev.lanes.consumer.internals.state.SubscriptionState;
import dev.lanes.consumer.internals.state.SubscriptionState.FetchState;
import org.apache.kafka.clients.consumer.NoOffsetForPartitionException;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.IsolationLevel;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.InvalidMetadataException;
import org.apache.kafka.common.errors.RetriableException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;

/**
 * Offsets by timestamp (ListOffsets), and fetch positions: a newly assigned partition starts at its
 * committed offset when there is a group and one is committed, otherwise where {@code auto.offset.reset}
 * says; a reset (seekToBeginning/End, out of range) asks the leader. Identical lookups in flight share one
 * request (R4). Background thread only.
 */
public final class OffsetsRequestManager implements RequestManager {

    private static final Logger log = LoggerFactory.getLogger(OffsetsRequestManager.class);

    /** Callers waiting for offsets of the same partitions at the same timestamps. */
    private static final class PendingLookup {
        final Map<TopicPartition, Long> timestamps;
        final List<CompletableFuture<Map<TopicPartition, ListedOffset>>> callers = new ArrayList<>();
        final Map<TopicPartition, ListedOffset> found = new HashMap<>();
        final Set<TopicPartition> inFlight = new HashSet<>();
        final RetryBackoff backoff;
        long deadlineMs;

        PendingLookup(Map<TopicPartition, Long> timestamps, long deadlineMs, RetryBackoff backoff) {
            this.timestamps = timestamps;
            this.deadlineMs = deadlineMs;
            this.backoff = backoff;
        }

        Set<TopicPartition> missing() {
            Set<TopicPartition> missing = new HashSet<>(timestamps.keySet());
            missing.removeAll(found.keySet());
            missing.removeAll(inFlight);
            return missing;
        }
    }

    private record PositionWaiter(Set<TopicPartition> partitions, CompletableFuture<Void> future) {
    }

    private final Clock clock;
    private final Network network;
    private final SubscriptionState subscriptions;
    private final Optional<CommitRequestManager> commits;
    private final LanesConsumerMetrics metrics;
    private final IsolationLevel isolationLevel;
    private final long requestTimeoutMs;
    private final long retryBackoffMs;
    private final long retryBackoffMaxMs;

    private final Map<Map<TopicPartition, Long>, PendingLookup> lookups = new LinkedHashMap<>();
    private final List<PositionWaiter> waiters = new ArrayList<>();
    /** Partitions whose position lookup is in flight, with the position epoch it was started for. */
    private final Map<TopicPartition, Integer> resolving = new HashMap<>();
    private final RetryBackoff positionBackoff;
    /** Wakes the application thread waiting in poll, which throws position errors. */
    private final Runnable onPositionError;

    public OffsetsRequestManager(Clock clock, Network network, SubscriptionState subscriptions,
                                 Optional<CommitRequestManager> commits, LanesConsumerMetrics metrics,
                                 IsolationLevel isolationLevel, long requestTimeoutMs, long retryBackoffMs,
                                 long retryBackoffMaxMs, Runnable onPositionError) {
        this.onPositionError = onPositionError;
        this.clock = clock;
        this.network = network;
        this.subscriptions = subscriptions;
        this.commits = commits;
        this.metrics = metrics;
        this.isolationLevel = isolationLevel;
        this.requestTimeoutMs = requestTimeoutMs;
        this.retryBackoffMs = retryBackoffMs;
        this.retryBackoffMaxMs = retryBackoffMaxMs;
        this.positionBackoff = new RetryBackoff(retryBackoffMs, retryBackoffMaxMs);
    }

    /** Looks up offsets by timestamp; joins an identical lookup already pending or in flight. */
    public void listOffsets(Map<TopicPartition, Long> timestamps, long deadlineMs,
                            CompletableFuture<Map<TopicPartition, ListedOffset>> future) {
        if (timestamps.isEmpty()) {
            future.complete(Map.of());
            return;
        }
        PendingLookup pending = lookups.get(timestamps);
        if (pending != null) {
            metrics.requestCoalesced();
            pending.deadlineMs = Math.max(pending.deadlineMs, deadlineMs);
        } else {
            pending = new PendingLookup(Map.copyOf(timestamps), deadlineMs, new RetryBackoff(retryBackoffMs, retryBackoffMaxMs));
            lookups.put(pending.timestamps, pending);
        }
        pending.callers.add(future);
    }

    /** Completes the future once every partition has a position (or one of them cannot get one). */
    public void awaitPositions(Set<TopicPartition> partitions, CompletableFuture<Void> future) {
        waiters.add(new PositionWaiter(partitions, future));
    }

    @Override
    public PollResult poll(long nowMs) {
        List<UnsentRequest<?>> requests = new ArrayList<>();
        long wait = resolvePositions(nowMs, requests);
        wait = Math.min(wait, pollLookups(nowMs, requests));
        completeWaiters();
        return new PollResult(wait, requests);
    }

    private long resolvePositions(long nowMs, List<UnsentRequest<?>> requests) {
        resolving.keySet().removeIf(partition -> !subscriptions.isAssigned(partition));
        if (!positionBackoff.canSend(nowMs) && !positionBackoff.isInFlight()) {
            return positionBackoff.remainingBackoffMs(nowMs);
        }
        Set<TopicPartition> initializing = notResolving(subscriptions.partitionsIn(FetchState.INITIALIZING));
        if (!initializing.isEmpty()) {
            if (commits.isPresent()) {
                fetchCommittedPositions(initializing, nowMs);
            } else {
                initializing.forEach(partition ->
                        subscriptions.fallBackToReset(partition, subscriptions.positionEpoch(partition)));
            }
        }
        Set<TopicPartition> resetting = notResolving(subscriptions.partitionsIn(FetchState.AWAIT_RESET));
        Map<Node, Map<TopicPartition, Long>> byLeader = new HashMap<>();
        for (TopicPartition partition : resetting) {
            OffsetResetStrategy strategy = subscriptions.resetStrategy(partition);
            int epoch = subscriptions.positionEpoch(partition);
            if (strategy.isNone()) {
                subscriptions.failPosition(partition, epoch, new NoOffsetForPartitionException(partition));
                onPositionError.run();
                continue;
            }
            Optional<Node> leader = network.leader(partition);
            if (leader.isEmpty()) {
                network.requestMetadataUpdate();
                continue;
            }
            byLeader.computeIfAbsent(leader.get(), node -> new HashMap<>()).put(partition, strategy.timestamp(nowMs));
        }
        byLeader.forEach((leader, timestamps) -> {
            Map<TopicPartition, Integer> epochs = new HashMap<>();
            timestamps.keySet().forEach(partition -> epochs.put(partition, subscriptions.positionEpoch(partition)));
            resolving.putAll(epochs);
            requests.add(new UnsentRequest<>(Requests.listOffsets(timestamps, isolationLevel), Optional.of(leader),
                    Priority.SYSTEM, nowMs + requestTimeoutMs,
                    (listed, error) -> onResetResponse(epochs, listed, error)));
        });
        return Long.MAX_VALUE;
    }

    private Set<TopicPartition> notResolving(Set<TopicPartition> partitions) {
        Set<TopicPartition> result = new HashSet<>(partitions);
        result.removeAll(resolving.keySet());
        return result;
    }

    private void fetchCommittedPositions(Set<TopicPartition> partitions, long nowMs) {
        Map<TopicPartition, Integer> epochs = new HashMap<>();
        partitions.forEach(partition -> epochs.put(partition, subscriptions.positionEpoch(partition)));
        resolving.putAll(epochs);
        commits.get().fetchCommitted(partitions, nowMs + requestTimeoutMs).whenComplete((committed, error) -> {
            epochs.keySet().forEach(resolving::remove);
            if (error != null) {
                positionBackoff.onFailure(clock.milliseconds());
                log.debug("Fetching committed offsets of {} failed, will retry: {}", partitions, error.toString());
                if (!(error instanceof RetriableException)) {
                    epochs.forEach((partition, epoch) -> subscriptions.failPosition(partition, epoch, asRuntime(error)));
                }
                return;
            }
            positionBackoff.onSuccess();
            epochs.forEach((partition, epoch) -> {
                OffsetAndMetadata offset = committed.get(partition);
                if (offset != null) {
                    subscriptions.resolvePosition(partition, epoch, offset.offset(), offset.leaderEpoch());
                } else {
                    subscriptions.fallBackToReset(partition, epoch);
                }
            });
        });
    }

    private void onResetResponse(Map<TopicPartition, Integer> epochs, Requests.ListedOffsets listed, Throwable error) {
        epochs.keySet().forEach(resolving::remove);
        if (error != null) {
            positionBackoff.onFailure(clock.milliseconds());
            if (!(error instanceof RetriableException)) {
                epochs.forEach((partition, epoch) -> subscriptions.failPosition(partition, epoch, asRuntime(error)));
            }
            return;
        }
        epochs.forEach((partition, epoch) -> {
            ListedOffset offset = listed.offsets().get(partition);
            RuntimeException partitionError = listed.errors().get(partition);
            if (offset != null) {
                subscriptions.resolvePosition(partition, epoch, offset.offset(), offset.leaderEpoch());
            } else if (partitionError instanceof InvalidMetadataException || partitionError instanceof RetriableException) {
                network.requestMetadataUpdate();
                positionBackoff.onFailure(clock.milliseconds());
            } else if (partitionError != null) {
                subscriptions.failPosition(partition, epoch, partitionError);
                onPositionError.run();
            }
        });
    }

    private long pollLookups(long nowMs, List<UnsentRequest<?>> requests) {
        long wait = Long.MAX_VALUE;
        for (Iterator<PendingLookup> iterator = lookups.values().iterator(); iterator.hasNext(); ) {
            PendingLookup pending = iterator.next();
            if (pending.callers.stream().allMatch(CompletableFuture::isDone) && pending.inFlight.isEmpty()) {
                iterator.remove();
                continue;
            }
            if (pending.missing().isEmpty() && pending.inFlight.isEmpty()) {
                iterator.remove();
                Map<TopicPartition, ListedOffset> result = new HashMap<>();
                pending.timestamps.keySet().forEach(partition -> result.put(partition, pending.found.get(partition)));
                pending.callers.forEach(caller -> caller.complete(result));
                continue;
            }
            if (!pending.backoff.canSend(nowMs) && pending.inFlight.isEmpty()) {
                wait = Math.min(wait, pending.backoff.remainingBackoffMs(nowMs));
                continue;
            }
            Map<Node, Map<TopicPartition, Long>> byLeader = new HashMap<>();
            for (TopicPartition partition : pending.missing()) {
                Optional<Node> leader = network.leader(partition);
                if (leader.isEmpty()) {
                    network.requestMetadataUpdate();
                    continue;
                }
                byLeader.computeIfAbsent(leader.get(), node -> new HashMap<>())
                        .put(partition, pending.timestamps.get(partition));
            }
            byLeader.forEach((leader, timestamps) -> {
                pending.inFlight.addAll(timestamps.keySet());
                requests.add(new UnsentRequest<>(Requests.listOffsets(timestamps, isolationLevel), Optional.of(leader),
                        Priority.USER, pending.deadlineMs, (listed, error) -> onLookupResponse(pending, timestamps, listed, error)));
            });
        }
        return wait;
    }

    private void onLookupResponse(PendingLookup pending, Map<TopicPartition, Long> asked, Requests.ListedOffsets listed,
                                  Throwable error) {
        pending.inFlight.removeAll(asked.keySet());
        long nowMs = clock.milliseconds();
        if (error != null) {
            if (!(error instanceof RetriableException) || nowMs >= pending.deadlineMs) {
                lookups.remove(pending.timestamps, pending);
                pending.callers.forEach(caller -> caller.completeExceptionally(asRuntime(error)));
            } else {
                pending.backoff.onFailure(nowMs);
            }
            return;
        }
        for (TopicPartition partition : asked.keySet()) {
            ListedOffset offset = listed.offsets().get(partition);
            RuntimeException partitionError = listed.errors().get(partition);
            if (offset != null || partitionError == null) {
                // No error and no offset: no record at or after the timestamp; the answer is null.
                pending.found.put(partition, offset);
            } else if (partitionError instanceof RetriableException) {
                network.requestMetadataUpdate();
                pending.backoff.onFailure(nowMs);
            } else {
                lookups.remove(pending.timestamps, pending);
                pending.callers.forEach(caller -> caller.completeExceptionally(partitionError));
                return;
            }
        }
    }

    private void completeWaiters() {
        for (Iterator<PositionWaiter> iterator = waiters.iterator(); iterator.hasNext(); ) {
            PositionWaiter waiter = iterator.next();
            if (waiter.future().isDone()) {
                iterator.remove();
                continue;
            }
            boolean allKnown = true;
            for (TopicPartition partition : waiter.partitions()) {
                if (!subscriptions.isAssigned(partition)) {
                    waiter.future().completeExceptionally(new IllegalStateException(
                            "Partition " + partition + " is no longer assigned"));
                    break;
                }
                Optional<RuntimeException> error = subscriptions.positionError(partition);
                if (error.isPresent()) {
                    waiter.future().completeExceptionally(error.get());
                    break;
                }
                allKnown &= subscriptions.position(partition).isPresent();
            }
            if (allKnown) {
                waiter.future().complete(null);
            }
            if (waiter.future().isDone()) {
                iterator.remove();
            }
        }
    }

    /** Topics that pending lookups need metadata for, beyond the assigned ones. */
    public Set<String> topicsOfInterest() {
        Set<String> topics = new HashSet<>();
        lookups.keySet().forEach(timestamps -> timestamps.keySet().forEach(partition -> topics.add(partition.topic())));
        return topics;
    }

    /** Fails every pending lookup and waiter; returns how many were discarded. */
    public int discardAll(RuntimeException reason) {
        int discarded = lookups.size() + waiters.size();
        lookups.values().forEach(lookup -> lookup.callers.forEach(caller -> caller.completeExceptionally(reason)));
        waiters.forEach(waiter -> waiter.future().completeExceptionally(reason));
        lookups.clear();
        waiters.clear();
        return discarded;
    }

    private static RuntimeException asRuntime(Throwable error) {
        return error instanceof RuntimeException ? (RuntimeException) error : new RuntimeException(error);
    }
}
