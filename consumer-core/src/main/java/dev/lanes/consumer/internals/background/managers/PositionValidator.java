package dev.lanes.consumer.internals.background.managers;

import dev.lanes.consumer.internals.adapter.Network;
import dev.lanes.consumer.internals.adapter.Requests;
import dev.lanes.consumer.internals.adapter.Requests.EpochEndOffset;
import dev.lanes.consumer.internals.adapter.Requests.EpochQuery;
import dev.lanes.consumer.internals.common.Clock;
import dev.lanes.consumer.internals.shared.SubscriptionState;
import dev.lanes.consumer.internals.shared.SubscriptionState.FetchState;
import org.apache.kafka.clients.consumer.LogTruncationException;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.InvalidMetadataException;
import org.apache.kafka.common.errors.RetriableException;
import org.apache.kafka.common.errors.UnsupportedVersionException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;

/**
 * Validates positions against the current leader's log (KIP-320), as KafkaConsumer does: a partition in
 * {@link FetchState#AWAIT_VALIDATION} (its leader changed, or it was positioned with a leader epoch by a seek or a
 * committed offset) is not fetched until OffsetsForLeaderEpoch tells where the leader's log ends for the epoch of
 * the record before the position. If it ends before the position, an unclean leader election truncated the log
 * under it: the position moves back to that end, the first offset known to diverge, so the records written there
 * since are read, not skipped; with {@code auto.offset.reset=none}, poll() throws {@link LogTruncationException}
 * naming that offset until the application seeks. Owned by {@link OffsetsRequestManager}; background thread only.
 */
final class PositionValidator {

    private static final Logger log = LoggerFactory.getLogger(PositionValidator.class);

    private final Clock clock;
    private final Network network;
    private final SubscriptionState subscriptions;
    private final long requestTimeoutMs;
    private final long retryBackoffMs;
    private final long retryBackoffMaxMs;
    /** Wakes the application thread, which throws a truncation found under {@code auto.offset.reset=none}. */
    private final Runnable onPositionError;
    /** Partitions being validated now, with the position epoch the check was started for. */
    private final Map<TopicPartition, Integer> validating = new HashMap<>();
    /** Partitions whose last check failed with a retriable error. */
    private final Map<TopicPartition, RetryBackoff> backoffs = new HashMap<>();

    PositionValidator(Clock clock, Network network, SubscriptionState subscriptions, long requestTimeoutMs,
                      long retryBackoffMs, long retryBackoffMaxMs, Runnable onPositionError) {
        this.clock = clock;
        this.network = network;
        this.subscriptions = subscriptions;
        this.requestTimeoutMs = requestTimeoutMs;
        this.retryBackoffMs = retryBackoffMs;
        this.retryBackoffMaxMs = retryBackoffMaxMs;
        this.onPositionError = onPositionError;
    }

    /** Adds a request per leader for the partitions awaiting validation; returns how long until it should run again. */
    long poll(long nowMs, List<UnsentRequest<?>> requests) {
        validating.keySet().removeIf(partition -> !subscriptions.isAssigned(partition));
        backoffs.keySet().removeIf(partition -> !subscriptions.isAssigned(partition));
        long wait = Long.MAX_VALUE;
        Map<Node, Map<TopicPartition, EpochQuery>> byLeader = new HashMap<>();
        Map<TopicPartition, Integer> positionEpochs = new HashMap<>();
        for (TopicPartition partition : subscriptions.partitionsIn(FetchState.AWAIT_VALIDATION)) {
            int positionEpoch = subscriptions.positionEpoch(partition);
            if (Integer.valueOf(positionEpoch).equals(validating.get(partition))) {
                continue;
            }
            RetryBackoff backoff = backoffs.get(partition);
            if (backoff != null && !backoff.canSend(nowMs)) {
                wait = Math.min(wait, backoff.remainingBackoffMs(nowMs));
                continue;
            }
            Optional<Node> leader = network.leader(partition);
            Optional<Integer> currentLeaderEpoch = network.leaderEpoch(partition);
            Optional<Integer> positionLeaderEpoch = subscriptions.leaderEpoch(partition);
            if (leader.isEmpty()) {
                network.requestMetadataUpdate();
                continue;
            }
            if (currentLeaderEpoch.isEmpty() || positionLeaderEpoch.isEmpty()) {
                // Nothing to compare: KafkaConsumer fetches without a check too.
                subscriptions.completeValidation(partition, positionEpoch, currentLeaderEpoch);
                continue;
            }
            byLeader.computeIfAbsent(leader.get(), node -> new HashMap<>())
                    .put(partition, new EpochQuery(currentLeaderEpoch.get(), positionLeaderEpoch.get()));
            positionEpochs.put(partition, positionEpoch);
        }
        byLeader.forEach((leader, queries) -> {
            Map<TopicPartition, Integer> epochs = new HashMap<>();
            queries.keySet().forEach(partition -> epochs.put(partition, positionEpochs.get(partition)));
            validating.putAll(epochs);
            requests.add(new UnsentRequest<>(Requests.offsetsForLeaderEpoch(queries), Optional.of(leader),
                    Priority.SYSTEM, nowMs + requestTimeoutMs,
                    (answer, error) -> onResponse(queries, epochs, answer, error)));
        });
        return wait;
    }

    private void onResponse(Map<TopicPartition, EpochQuery> queries, Map<TopicPartition, Integer> epochs,
                            Requests.EpochEndOffsets answer, Throwable error) {
        long nowMs = clock.milliseconds();
        epochs.forEach(validating::remove);
        if (error instanceof UnsupportedVersionException) {
            log.info("The leader of {} cannot validate positions (OffsetsForLeaderEpoch v3+); fetching without a check",
                    queries.keySet());
            queries.forEach((partition, query) -> subscriptions.completeValidation(partition, epochs.get(partition),
                    Optional.of(query.currentLeaderEpoch())));
            return;
        }
        if (error != null) {
            log.debug("Validating positions of {} failed, will retry: {}", queries.keySet(), error.toString());
            queries.keySet().forEach(partition -> backoff(partition, nowMs));
            if (!(error instanceof RetriableException)) {
                log.warn("Validating positions of {} failed: {}", queries.keySet(), error.toString());
            }
            return;
        }
        queries.forEach((partition, query) -> {
            int positionEpoch = epochs.get(partition);
            RuntimeException partitionError = answer.errors().get(partition);
            EpochEndOffset endOffset = answer.endOffsets().get(partition);
            if (partitionError instanceof InvalidMetadataException || partitionError instanceof RetriableException
                    || (partitionError == null && endOffset == null)) {
                // The leader moved or does not know its epoch yet: metadata says where to ask next.
                log.debug("Validating the position of {} failed, will retry: {}", partition, partitionError);
                network.requestMetadataUpdate();
                backoff(partition, nowMs);
            } else if (partitionError != null) {
                subscriptions.failPosition(partition, positionEpoch, partitionError);
                onPositionError.run();
            } else {
                backoffs.remove(partition);
                onEndOffset(partition, positionEpoch, query, endOffset);
            }
        });
    }

    private void onEndOffset(TopicPartition partition, int positionEpoch, EpochQuery query, EpochEndOffset endOffset) {
        if (subscriptions.positionEpoch(partition) != positionEpoch) {
            return; // the application moved the position meanwhile
        }
        OptionalLong position = positionOf(partition);
        Optional<Integer> currentLeaderEpoch = Optional.of(query.currentLeaderEpoch());
        boolean resettable = !subscriptions.resetStrategy(partition).isNone();
        if (endOffset.undefined()) {
            if (resettable) {
                log.info("Truncation detected for partition {} at offset {}, and the leader knows no epoch at or below "
                        + "{}; resetting by auto.offset.reset", partition, position, query.leaderEpoch());
                subscriptions.resetAfterValidation(partition, positionEpoch);
            } else {
                log.warn("Truncation detected for partition {} at offset {}, and auto.offset.reset is none", partition,
                        position);
                truncated(partition, positionEpoch, position, Map.of());
            }
        } else if (position.isPresent() && endOffset.endOffset() < position.getAsLong()) {
            if (resettable) {
                log.info("Truncation detected for partition {} at offset {}; resetting to the first offset known to "
                        + "diverge, {} (leader epoch {})", partition, position.getAsLong(), endOffset.endOffset(),
                        endOffset.leaderEpoch());
                subscriptions.truncateAfterValidation(partition, positionEpoch, endOffset.endOffset(),
                        Optional.of(endOffset.leaderEpoch()), currentLeaderEpoch);
            } else {
                OffsetAndMetadata divergent = new OffsetAndMetadata(endOffset.endOffset(),
                        Optional.of(endOffset.leaderEpoch()), null);
                log.warn("Truncation detected for partition {} at offset {} (the leader's log ends at {} for that "
                        + "epoch), and auto.offset.reset is none", partition, position.getAsLong(), divergent);
                truncated(partition, positionEpoch, position, Map.of(partition, divergent));
            }
        } else {
            subscriptions.completeValidation(partition, positionEpoch, currentLeaderEpoch);
        }
    }

    private void truncated(TopicPartition partition, int positionEpoch, OptionalLong position,
                           Map<TopicPartition, OffsetAndMetadata> divergent) {
        Map<TopicPartition, Long> fetchOffsets = position.isPresent() ? Map.of(partition, position.getAsLong()) : Map.of();
        subscriptions.truncationWithoutReset(partition, positionEpoch, new LogTruncationException(
                "Truncated partitions detected with divergent offsets " + divergent, fetchOffsets, divergent));
        onPositionError.run();
    }

    private OptionalLong positionOf(TopicPartition partition) {
        return subscriptions.isAssigned(partition) ? subscriptions.unvalidatedPosition(partition) : OptionalLong.empty();
    }

    private void backoff(TopicPartition partition, long nowMs) {
        backoffs.computeIfAbsent(partition, key -> new RetryBackoff(retryBackoffMs, retryBackoffMaxMs)).onFailure(nowMs);
    }
}
