package dev.lanes.consumer.internals.background.managers;

import dev.lanes.consumer.internals.adapter.Network;
import dev.lanes.consumer.internals.adapter.Requests;
import dev.lanes.consumer.internals.common.Clock;
import dev.lanes.consumer.internals.metrics.LanesConsumerMetrics;
import dev.lanes.consumer.internals.adapter.ListedOffset;
import dev.lanes.consumer.internals.shared.OffsetResetStrategy;
import dev.lanes.consumer.internals.shared.SubscriptionState;
import dev.lanes.consumer.internals.shared.SubscriptionState.FetchState;
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
import java.util.IdentityHashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;

/**
 * Offsets by timestamp (ListOffsets), and fetch positions: a newly assigned partition starts at its
 * committed offset when there is a group and one is committed, otherwise where {@code auto.offset.reset}
 * says; a reset (seekToBeginning/End, out of range) asks the leader; a position that needs checking against
 * the leader's log is validated ({@link PositionValidator}). Identical lookups in flight share one request (R4).
 * Background thread only.
 */
public final class OffsetsRequestManager implements RequestManager {

    private static final Logger log = LoggerFactory.getLogger(OffsetsRequestManager.class);

    /** How far one shared lookup has got: answers found, and partitions being asked for now. */
    private static final class LookupProgress {
        final Map<TopicPartition, ListedOffset> found = new HashMap<>();
        final Set<TopicPartition> inFlight = new HashSet<>();

        Set<TopicPartition> missing(Map<TopicPartition, Long> timestamps) {
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

    private final SharedLookups<Map<TopicPartition, Long>, Map<TopicPartition, ListedOffset>> lookups;
    private final Map<SharedLookups.Lookup<Map<TopicPartition, Long>, Map<TopicPartition, ListedOffset>>, LookupProgress> progress =
            new IdentityHashMap<>();
    private final List<PositionWaiter> waiters = new ArrayList<>();
    /** Partitions whose position lookup is in flight, with the position epoch it was started for. */
    private final Map<TopicPartition, Integer> resolving = new HashMap<>();
    private final RetryBackoff positionBackoff;
    private final PositionValidator validator;
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
        this.lookups = new SharedLookups<>(metrics, retryBackoffMs, retryBackoffMaxMs);
        this.validator = new PositionValidator(clock, network, subscriptions, requestTimeoutMs, retryBackoffMs,
                retryBackoffMaxMs, onPositionError);
    }

    /** Looks up offsets by timestamp; joins an identical lookup already pending or in flight. */
    public void listOffsets(Map<TopicPartition, Long> timestamps, long deadlineMs,
                            CompletableFuture<Map<TopicPartition, ListedOffset>> future) {
        if (timestamps.isEmpty()) {
            future.complete(Map.of());
            return;
        }
        lookups.join(Map.copyOf(timestamps), deadlineMs, future);
    }

    /** Completes the future once every partition has a position (or one of them cannot get one). */
    public void awaitPositions(Set<TopicPartition> partitions, CompletableFuture<Void> future) {
        subscriptions.requestPositions();
        waiters.add(new PositionWaiter(partitions, future));
    }

    @Override
    public PollResult poll(long nowMs) {
        List<UnsentRequest<?>> requests = new ArrayList<>();
        long wait = resolvePositions(nowMs, requests);
        wait = Math.min(wait, validator.poll(nowMs, requests));
        wait = Math.min(wait, pollLookups(nowMs, requests));
        completeWaiters();
        return new PollResult(wait, requests);
    }

    private long resolvePositions(long nowMs, List<UnsentRequest<?>> requests) {
        resolving.keySet().removeIf(partition -> !subscriptions.isAssigned(partition));
        if (!subscriptions.positionsRequested()) {
            return Long.MAX_VALUE; // the application polls or asks for a position first; that wakes us
        }
        if (!positionBackoff.canSend(nowMs) && !positionBackoff.isInFlight()) {
            return positionBackoff.remainingBackoffMs(nowMs);
        }
        long wait = Long.MAX_VALUE;
        Set<TopicPartition> initializing = notResolving(subscriptions.partitionsIn(FetchState.INITIALIZING));
        if (!initializing.isEmpty()) {
            if (commits.isPresent()) {
                fetchCommittedPositions(initializing, nowMs);
                wait = 0; // the commit manager was polled before this one: it sends the lookup next time round
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
        return wait;
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
                    subscriptions.resolvePosition(partition, epoch, offset.offset(), offset.leaderEpoch(), true);
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
                subscriptions.resolvePosition(partition, epoch, offset.offset(), offset.leaderEpoch(), false);
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
        List<SharedLookups.Lookup<Map<TopicPartition, Long>, Map<TopicPartition, ListedOffset>>> active = lookups.active();
        progress.keySet().retainAll(active);
        for (SharedLookups.Lookup<Map<TopicPartition, Long>, Map<TopicPartition, ListedOffset>> lookup : active) {
            Map<TopicPartition, Long> timestamps = lookup.key();
            LookupProgress state = progress.computeIfAbsent(lookup, ignored -> new LookupProgress());
            if (state.inFlight.isEmpty() && state.found.keySet().containsAll(timestamps.keySet())) {
                Map<TopicPartition, ListedOffset> answer = new HashMap<>();
                timestamps.keySet().forEach(partition -> answer.put(partition, state.found.get(partition)));
                progress.remove(lookup);
                lookups.complete(lookup, answer);
                continue;
            }
            if (!lookup.backoff().canSend(nowMs) && state.inFlight.isEmpty()) {
                wait = Math.min(wait, lookup.backoff().remainingBackoffMs(nowMs));
                continue;
            }
            Map<Node, Map<TopicPartition, Long>> byLeader = new HashMap<>();
            for (TopicPartition partition : state.missing(timestamps)) {
                Optional<Node> leader = network.leader(partition);
                if (leader.isEmpty()) {
                    network.requestMetadataUpdate();
                    continue;
                }
                byLeader.computeIfAbsent(leader.get(), node -> new HashMap<>()).put(partition, timestamps.get(partition));
            }
            byLeader.forEach((leader, asked) -> {
                state.inFlight.addAll(asked.keySet());
                requests.add(new UnsentRequest<>(Requests.listOffsets(asked, isolationLevel), Optional.of(leader),
                        Priority.USER, lookup.deadlineMs(),
                        (listed, error) -> onLookupResponse(lookup, state, asked, listed, error)));
            });
        }
        return wait;
    }

    private void onLookupResponse(SharedLookups.Lookup<Map<TopicPartition, Long>, Map<TopicPartition, ListedOffset>> lookup,
                                  LookupProgress state, Map<TopicPartition, Long> asked, Requests.ListedOffsets listed,
                                  Throwable error) {
        state.inFlight.removeAll(asked.keySet());
        long nowMs = clock.milliseconds();
        if (error != null) {
            if (!lookups.failed(lookup, error, nowMs, "Looking up offsets of " + asked.keySet())) {
                progress.remove(lookup);
            }
            return;
        }
        for (TopicPartition partition : asked.keySet()) {
            ListedOffset offset = listed.offsets().get(partition);
            RuntimeException partitionError = listed.errors().get(partition);
            if (offset != null || partitionError == null) {
                // No error and no offset: no record at or after the timestamp; the answer is null.
                state.found.put(partition, offset);
            } else {
                if (partitionError instanceof RetriableException) {
                    network.requestMetadataUpdate();
                }
                if (!lookups.failed(lookup, partitionError, nowMs, "Looking up the offset of " + partition)) {
                    progress.remove(lookup);
                    return;
                }
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
        lookups.keys().forEach(timestamps -> timestamps.keySet().forEach(partition -> topics.add(partition.topic())));
        return topics;
    }

    /** Fails every pending lookup and waiter; returns how many were discarded. */
    public int discardAll(RuntimeException reason) {
        int discarded = lookups.discardAll(reason) + waiters.size();
        progress.clear();
        waiters.forEach(waiter -> waiter.future().completeExceptionally(reason));
        waiters.clear();
        return discarded;
    }

    private static RuntimeException asRuntime(Throwable error) {
        return error instanceof RuntimeException ? (RuntimeException) error : new RuntimeException(error);
    }
}
