package dev.lanes.consumer.internals.shared;

import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;

import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;

/**
 * The assigned partitions and their positions, the one piece of state both threads read.
 *
 * <p>The application thread changes the assignment, seeks, pauses and advances positions as it hands
 * out records; the background thread resolves missing positions and reads positions to fetch from. Each
 * method holds this object's monitor for a few field accesses only, and never calls out while holding
 * it, so neither thread can block the other for longer than that. Fetched data records the position it
 * was fetched from; data whose position no longer matches is stale (a seek happened) and is dropped.
 */
public final class SubscriptionState {

    /** Where a partition stands on the way to having a fetch position. */
    public enum FetchState {
        /** Just assigned: the committed offset (if there is a group) or the reset policy decides. */
        INITIALIZING,
        /** A reset to the earliest/latest/by-duration offset is wanted. */
        AWAIT_RESET,
        /**
         * The position carries a leader epoch the current leader has not confirmed (after a leader change, a seek
         * with an epoch, or a committed offset with one): checked with OffsetsForLeaderEpoch (KIP-320) before
         * records are fetched from it, so a log truncated under it is noticed.
         */
        AWAIT_VALIDATION,
        /** The position is known: records can be fetched from it. */
        FETCHING
    }

    /** How partitions come to be assigned. The modes exclude each other, as in KafkaConsumer. */
    public enum SubscriptionType {
        NONE,
        /** assign(): the application chose the partitions. */
        USER_ASSIGNED,
        /** subscribe(topics): the group coordinator assigns. */
        AUTO_TOPICS,
        /** subscribe(Pattern): topics matched on the client from metadata. */
        AUTO_PATTERN,
        /** subscribe(SubscriptionPattern): the broker matches the regular expression. */
        AUTO_BROKER_PATTERN
    }

    private static final class PartitionState {
        FetchState fetchState = FetchState.INITIALIZING;
        /** Being given up: no longer fetched or handed out, but its position can still be committed. */
        boolean pendingRevocation;
        long position = -1L;
        Optional<Integer> leaderEpoch = Optional.empty();
        /** The leader epoch under which the position was last known to be in the log; empty until first seen. */
        Optional<Integer> validatedLeaderEpoch = Optional.empty();
        OffsetResetStrategy resetStrategy;
        boolean paused;
        long highWatermark = -1L;
        long lastStableOffset = -1L;
        long logStartOffset = -1L;
        RuntimeException positionError;
        /** Bumped on every position change not caused by consuming, so the resolvers see their answer is stale. */
        int positionEpoch;
        /** The position when the application last entered poll(), close() or unsubscribe(); -1 if it had none. */
        long consumedPosition = -1L;
        Optional<Integer> consumedLeaderEpoch = Optional.empty();
    }

    private final OffsetResetStrategy defaultResetStrategy;
    private final Map<TopicPartition, PartitionState> assignment = new LinkedHashMap<>();
    private int assignmentVersion;
    /**
     * Whether the application has asked for records or positions since it last assigned new partitions:
     * only then are their starting positions looked up, so that a seek right after assign() needs no lookup
     * (and no group coordinator, R14), as with KafkaConsumer.
     */
    private volatile boolean positionsRequested = true;
    private SubscriptionType subscriptionType = SubscriptionType.NONE;
    private Set<String> subscribedTopics = Set.of();
    private java.util.regex.Pattern clientPattern;
    private String brokerPattern;

    public SubscriptionState(OffsetResetStrategy defaultResetStrategy) {
        this.defaultResetStrategy = defaultResetStrategy;
    }

    // ---- application thread: subscription

    private void setSubscriptionType(SubscriptionType type) {
        if (subscriptionType != SubscriptionType.NONE && subscriptionType != type) {
            throw new IllegalStateException("Subscription to topics, partitions and pattern are mutually exclusive");
        }
        subscriptionType = type;
    }

    /** subscribe(topics). Returns whether the subscription changed. */
    public synchronized boolean subscribe(Set<String> topics) {
        setSubscriptionType(SubscriptionType.AUTO_TOPICS);
        boolean changed = !topics.equals(subscribedTopics);
        subscribedTopics = Set.copyOf(topics);
        return changed;
    }

    /** subscribe(Pattern): the matching topics are set later by {@link #matchedTopics}. */
    public synchronized void subscribe(java.util.regex.Pattern pattern) {
        setSubscriptionType(SubscriptionType.AUTO_PATTERN);
        clientPattern = pattern;
    }

    /** subscribe(SubscriptionPattern): the broker resolves the regular expression. */
    public synchronized void subscribeBrokerPattern(String regex) {
        setSubscriptionType(SubscriptionType.AUTO_BROKER_PATTERN);
        brokerPattern = regex;
        subscribedTopics = Set.of();
    }

    /** Ends any subscription or assignment; returns the partitions that were assigned. */
    public synchronized Set<TopicPartition> unsubscribe() {
        Set<TopicPartition> removed = new LinkedHashSet<>(assignment.keySet());
        assignment.clear();
        assignmentVersion++;
        subscriptionType = SubscriptionType.NONE;
        subscribedTopics = Set.of();
        clientPattern = null;
        brokerPattern = null;
        return removed;
    }

    public synchronized SubscriptionType subscriptionType() {
        return subscriptionType;
    }

    public synchronized boolean hasGroupSubscription() {
        return subscriptionType == SubscriptionType.AUTO_TOPICS || subscriptionType == SubscriptionType.AUTO_PATTERN
                || subscriptionType == SubscriptionType.AUTO_BROKER_PATTERN;
    }

    /** The topics subscribed to by name (or matched by the client-side pattern). */
    public synchronized Set<String> subscribedTopics() {
        return subscribedTopics;
    }

    public synchronized Optional<java.util.regex.Pattern> clientPattern() {
        return Optional.ofNullable(clientPattern);
    }

    public synchronized Optional<String> brokerPattern() {
        return Optional.ofNullable(brokerPattern);
    }

    /** Background thread: the topics the client-side pattern matches now. Returns whether they changed. */
    public synchronized boolean matchedTopics(Set<String> topics) {
        if (subscriptionType != SubscriptionType.AUTO_PATTERN || topics.equals(subscribedTopics)) {
            return false;
        }
        subscribedTopics = Set.copyOf(topics);
        return true;
    }

    // ---- application thread: assignment, seeks, pause

    /** Replaces the assignment; partitions kept keep their positions. Returns the partitions removed. */
    public synchronized Set<TopicPartition> assignFromUser(Collection<TopicPartition> partitions) {
        if (!assignment.keySet().containsAll(partitions)) {
            positionsRequested = false;
        }
        if (partitions.isEmpty()) {
            if (subscriptionType == SubscriptionType.USER_ASSIGNED) {
                subscriptionType = SubscriptionType.NONE;
            }
        } else {
            setSubscriptionType(SubscriptionType.USER_ASSIGNED);
        }
        return replaceAssignment(partitions);
    }

    /**
     * The application polls or asks for a position: partitions without one may now be looked up. Returns
     * whether this changed anything, so that the caller wakes the background thread only then. Any thread.
     */
    public boolean requestPositions() {
        if (positionsRequested) {
            return false;
        }
        positionsRequested = true;
        return true;
    }

    /** Whether partitions without a position may be looked up now (see {@link #requestPositions()}). */
    public boolean positionsRequested() {
        return positionsRequested;
    }

    /** Background thread: partitions given by the group coordinator join the assignment, without positions. */
    public synchronized void addFromGroup(Collection<TopicPartition> partitions) {
        Set<TopicPartition> next = new LinkedHashSet<>(assignment.keySet());
        next.addAll(partitions);
        replaceAssignment(next);
    }

    /** Background thread: partitions given up to the group coordinator leave the assignment. */
    public synchronized void removeFromGroup(Collection<TopicPartition> partitions) {
        Set<TopicPartition> next = new LinkedHashSet<>(assignment.keySet());
        next.removeAll(partitions);
        replaceAssignment(next);
    }

    /** Background thread: stops fetching and handing out records of partitions about to be revoked. */
    public synchronized void markPendingRevocation(Collection<TopicPartition> partitions) {
        for (TopicPartition partition : partitions) {
            PartitionState state = assignment.get(partition);
            if (state != null) {
                state.pendingRevocation = true;
            }
        }
    }

    /** Whether records of the partition may be handed to the application now. */
    public synchronized boolean isConsumable(TopicPartition partition) {
        PartitionState state = assignment.get(partition);
        return state != null && !state.paused && !state.pendingRevocation;
    }

    private Set<TopicPartition> replaceAssignment(Collection<TopicPartition> partitions) {
        Set<TopicPartition> removed = new HashSet<>(assignment.keySet());
        removed.removeAll(partitions);
        Map<TopicPartition, PartitionState> next = new LinkedHashMap<>();
        for (TopicPartition partition : partitions) {
            next.put(partition, assignment.getOrDefault(partition, new PartitionState()));
        }
        if (!next.keySet().equals(assignment.keySet())) {
            assignment.clear();
            assignment.putAll(next);
            assignmentVersion++;
        }
        return removed;
    }

    public synchronized Set<TopicPartition> assignedPartitions() {
        return new LinkedHashSet<>(assignment.keySet());
    }

    public synchronized Set<String> assignedTopics() {
        Set<String> topics = new HashSet<>();
        for (TopicPartition partition : assignment.keySet()) {
            topics.add(partition.topic());
        }
        return topics;
    }

    /** Changes whenever the set of assigned partitions changes. */
    public synchronized int assignmentVersion() {
        return assignmentVersion;
    }

    public synchronized boolean isAssigned(TopicPartition partition) {
        return assignment.containsKey(partition);
    }

    /**
     * Moves the position. A position given with the leader epoch of the record before it (a seek to an
     * {@code OffsetAndMetadata} that carries one) is validated before it is fetched from, as with KafkaConsumer.
     */
    public synchronized void seek(TopicPartition partition, long offset, Optional<Integer> leaderEpoch) {
        PartitionState state = required(partition);
        state.position = offset;
        state.leaderEpoch = leaderEpoch;
        state.validatedLeaderEpoch = Optional.empty();
        state.fetchState = leaderEpoch.isPresent() ? FetchState.AWAIT_VALIDATION : FetchState.FETCHING;
        state.positionError = null;
        state.positionEpoch++;
    }

    public synchronized void requestReset(Collection<TopicPartition> partitions, OffsetResetStrategy strategy) {
        for (TopicPartition partition : partitions) {
            PartitionState state = required(partition);
            state.fetchState = FetchState.AWAIT_RESET;
            state.resetStrategy = strategy;
            state.positionError = null;
            state.positionEpoch++;
        }
    }

    public synchronized void pause(Collection<TopicPartition> partitions) {
        for (TopicPartition partition : partitions) {
            required(partition).paused = true;
        }
    }

    public synchronized void resume(Collection<TopicPartition> partitions) {
        for (TopicPartition partition : partitions) {
            required(partition).paused = false;
        }
    }

    public synchronized Set<TopicPartition> pausedPartitions() {
        Set<TopicPartition> paused = new LinkedHashSet<>();
        assignment.forEach((partition, state) -> {
            if (state.paused) {
                paused.add(partition);
            }
        });
        return paused;
    }

    public synchronized boolean isPaused(TopicPartition partition) {
        PartitionState state = assignment.get(partition);
        return state != null && state.paused;
    }

    /**
     * Advances the position after records were handed to the application, but only if nobody moved it
     * since the data was fetched from {@code expectedPosition}. Returns whether it advanced.
     */
    public synchronized boolean advance(TopicPartition partition, long expectedPosition, long nextPosition,
                                        Optional<Integer> leaderEpoch) {
        PartitionState state = assignment.get(partition);
        if (state == null || state.fetchState != FetchState.FETCHING || state.position != expectedPosition) {
            return false;
        }
        state.position = nextPosition;
        if (leaderEpoch.isPresent()) {
            state.leaderEpoch = leaderEpoch;
        }
        return true;
    }

    // ---- either thread: reads

    /** The position if known. */
    public synchronized OptionalLong position(TopicPartition partition) {
        PartitionState state = required(partition);
        return state.fetchState == FetchState.FETCHING ? OptionalLong.of(state.position) : OptionalLong.empty();
    }

    /** The position of a partition that has one, known good or still awaiting validation. */
    public synchronized OptionalLong unvalidatedPosition(TopicPartition partition) {
        PartitionState state = assignment.get(partition);
        return state != null && (state.fetchState == FetchState.FETCHING || state.fetchState == FetchState.AWAIT_VALIDATION)
                ? OptionalLong.of(state.position) : OptionalLong.empty();
    }

    public synchronized Optional<Integer> leaderEpoch(TopicPartition partition) {
        PartitionState state = assignment.get(partition);
        return state == null ? Optional.empty() : state.leaderEpoch;
    }

    /** Whether data fetched from {@code fetchOffset} is still what the application should see next. */
    public synchronized boolean isCurrentPosition(TopicPartition partition, long fetchOffset) {
        PartitionState state = assignment.get(partition);
        return state != null && state.fetchState == FetchState.FETCHING && state.position == fetchOffset;
    }

    /** The current positions, for commitSync() and commitAsync() without offsets. */
    public synchronized Map<TopicPartition, OffsetAndMetadata> allConsumed() {
        Map<TopicPartition, OffsetAndMetadata> positions = new LinkedHashMap<>();
        assignment.forEach((partition, state) -> {
            if (state.fetchState == FetchState.FETCHING) {
                positions.put(partition, new OffsetAndMetadata(state.position, state.leaderEpoch, ""));
            }
        });
        return positions;
    }

    /**
     * Application thread, on entering poll(), close() or unsubscribe(): the records returned so far count
     * as consumed. Only what is marked here is committed by auto-commit and before a reconciliation, so a
     * batch the application is still processing is never committed (at-least-once, as with KafkaConsumer).
     */
    public synchronized void markConsumed() {
        for (PartitionState state : assignment.values()) {
            if (state.fetchState == FetchState.FETCHING) {
                state.consumedPosition = state.position;
                state.consumedLeaderEpoch = state.leaderEpoch;
            } else {
                state.consumedPosition = -1L;
            }
        }
    }

    /** The positions as of the last {@link #markConsumed()}, of the partitions still assigned: what auto-commit owes. */
    public synchronized Map<TopicPartition, OffsetAndMetadata> consumedAtLastPoll() {
        Map<TopicPartition, OffsetAndMetadata> positions = new LinkedHashMap<>();
        assignment.forEach((partition, state) -> {
            if (state.consumedPosition >= 0) {
                positions.put(partition, new OffsetAndMetadata(state.consumedPosition, state.consumedLeaderEpoch, ""));
            }
        });
        return positions;
    }

    /**
     * Where a partition is fetched from: the position, the leader epoch of the record before it, and the position
     * epoch, read together so that a fetch built from them can tell later whether a seek or reset came in between.
     */
    public record FetchPosition(long offset, Optional<Integer> leaderEpoch, int positionEpoch) {
    }

    /** Partitions that can be fetched now, with their positions: assigned, not paused, position known. */
    public synchronized Map<TopicPartition, FetchPosition> fetchablePositions() {
        Map<TopicPartition, FetchPosition> positions = new LinkedHashMap<>();
        assignment.forEach((partition, state) -> {
            if (isFetchable(state)) {
                positions.put(partition, fetchPosition(state));
            }
        });
        return positions;
    }

    /** The partition's fetch position as of now, if it can be fetched now. */
    public synchronized Optional<FetchPosition> fetchPosition(TopicPartition partition) {
        PartitionState state = assignment.get(partition);
        return state != null && isFetchable(state) ? Optional.of(fetchPosition(state)) : Optional.empty();
    }

    private static boolean isFetchable(PartitionState state) {
        return state.fetchState == FetchState.FETCHING && !state.paused && !state.pendingRevocation;
    }

    private static FetchPosition fetchPosition(PartitionState state) {
        return new FetchPosition(state.position, state.leaderEpoch, state.positionEpoch);
    }

    public synchronized Set<TopicPartition> partitionsIn(FetchState fetchState) {
        Set<TopicPartition> partitions = new LinkedHashSet<>();
        assignment.forEach((partition, state) -> {
            if (state.fetchState == fetchState && state.positionError == null) {
                partitions.add(partition);
            }
        });
        return partitions;
    }

    public synchronized OffsetResetStrategy resetStrategy(TopicPartition partition) {
        PartitionState state = assignment.get(partition);
        return state == null || state.resetStrategy == null ? defaultResetStrategy : state.resetStrategy;
    }

    public synchronized int positionEpoch(TopicPartition partition) {
        PartitionState state = assignment.get(partition);
        return state == null ? -1 : state.positionEpoch;
    }

    /** The error that keeps a partition from getting a position, if any. */
    public synchronized Optional<RuntimeException> positionError(TopicPartition partition) {
        PartitionState state = assignment.get(partition);
        return state == null ? Optional.empty() : Optional.ofNullable(state.positionError);
    }

    /**
     * Records between the position and the end of the log: the high watermark, or under read_committed the
     * last stable offset (records of open transactions are not yet readable), as KafkaConsumer counts it.
     */
    public synchronized OptionalLong lag(TopicPartition partition, boolean readCommitted) {
        PartitionState state = required(partition);
        long end = readCommitted ? state.lastStableOffset : state.highWatermark;
        if (end < 0 || state.fetchState != FetchState.FETCHING) {
            return OptionalLong.empty();
        }
        return OptionalLong.of(Math.max(0, end - state.position));
    }

    /** Records between the start of the log and the position, once a fetch told where the log starts. */
    public synchronized OptionalLong lead(TopicPartition partition) {
        PartitionState state = required(partition);
        if (state.logStartOffset < 0 || state.fetchState != FetchState.FETCHING) {
            return OptionalLong.empty();
        }
        return OptionalLong.of(Math.max(0, state.position - state.logStartOffset));
    }

    /** The sum of {@link #lag} over the partitions that know both their position and the end of their log. */
    public synchronized long totalLag(boolean readCommitted) {
        long total = 0;
        for (PartitionState state : assignment.values()) {
            long end = readCommitted ? state.lastStableOffset : state.highWatermark;
            if (state.fetchState == FetchState.FETCHING && end >= 0) {
                total += Math.max(0, end - state.position);
            }
        }
        return total;
    }

    // ---- background thread: resolving positions, fetch metadata

    /**
     * Sets a position found by the background thread (committed offset or reset), unless the partition
     * was seeked or reassigned after the lookup started ({@code expectedEpoch} differs). With {@code validate},
     * a position that carries a leader epoch (a committed offset) is validated before it is fetched from.
     */
    public synchronized boolean resolvePosition(TopicPartition partition, int expectedEpoch, long offset,
                                                Optional<Integer> leaderEpoch, boolean validate) {
        PartitionState state = assignment.get(partition);
        if (state == null || state.positionEpoch != expectedEpoch || state.fetchState == FetchState.FETCHING
                || state.fetchState == FetchState.AWAIT_VALIDATION) {
            return false;
        }
        state.position = offset;
        state.leaderEpoch = leaderEpoch;
        state.validatedLeaderEpoch = Optional.empty();
        state.fetchState = validate && leaderEpoch.isPresent() ? FetchState.AWAIT_VALIDATION : FetchState.FETCHING;
        state.resetStrategy = null;
        state.positionEpoch++;
        return true;
    }

    /**
     * Background thread, before fetching a partition: records the epoch of its current leader, and when that
     * changed since the position was last known good, and the position carries an epoch, moves the partition to
     * {@link FetchState#AWAIT_VALIDATION} (a new leader may have a log that diverges from what was read; data
     * fetched before is stale). Returns whether it did.
     */
    public synchronized boolean validateOnLeaderChange(TopicPartition partition, Optional<Integer> currentLeaderEpoch) {
        PartitionState state = assignment.get(partition);
        if (state == null || state.fetchState != FetchState.FETCHING || currentLeaderEpoch.isEmpty()
                || currentLeaderEpoch.equals(state.validatedLeaderEpoch)) {
            return false;
        }
        boolean firstSeen = state.validatedLeaderEpoch.isEmpty();
        state.validatedLeaderEpoch = currentLeaderEpoch;
        if (firstSeen || state.leaderEpoch.isEmpty()) {
            return false;
        }
        state.fetchState = FetchState.AWAIT_VALIDATION;
        state.positionEpoch++;
        return true;
    }

    /**
     * The leader at {@code leaderEpoch} has the position of a partition awaiting validation in its log: records
     * are fetched from it again. Ignored if the position moved since the check started ({@code expectedEpoch}).
     */
    public synchronized void completeValidation(TopicPartition partition, int expectedEpoch, Optional<Integer> leaderEpoch) {
        PartitionState state = assignment.get(partition);
        if (state != null && state.positionEpoch == expectedEpoch && state.fetchState == FetchState.AWAIT_VALIDATION) {
            state.fetchState = FetchState.FETCHING;
            state.validatedLeaderEpoch = leaderEpoch;
        }
    }

    /**
     * The leader at {@code currentLeaderEpoch} no longer has the position of a partition awaiting validation: its
     * log was truncated under it. The position moves to {@code offset}, the first offset known to diverge, with
     * that offset's epoch. Ignored if the position moved since the check started ({@code expectedEpoch}).
     */
    public synchronized void truncateAfterValidation(TopicPartition partition, int expectedEpoch, long offset,
                                                     Optional<Integer> leaderEpoch, Optional<Integer> currentLeaderEpoch) {
        PartitionState state = assignment.get(partition);
        if (state != null && state.positionEpoch == expectedEpoch && state.fetchState == FetchState.AWAIT_VALIDATION) {
            state.position = offset;
            state.leaderEpoch = leaderEpoch;
            state.validatedLeaderEpoch = currentLeaderEpoch;
            state.fetchState = FetchState.FETCHING;
            state.positionEpoch++;
        }
    }

    /**
     * The log was truncated under a partition's position and no reset policy applies: the partition waits, with
     * {@code error} thrown by poll() and position(), until the application seeks. Ignored if the position moved
     * since the check started ({@code expectedEpoch}).
     */
    public synchronized void truncationWithoutReset(TopicPartition partition, int expectedEpoch, RuntimeException error) {
        PartitionState state = assignment.get(partition);
        if (state != null && state.positionEpoch == expectedEpoch
                && (state.fetchState == FetchState.AWAIT_VALIDATION || state.fetchState == FetchState.FETCHING)) {
            state.fetchState = FetchState.AWAIT_VALIDATION;
            state.positionError = error;
            state.positionEpoch++;
        }
    }

    /** A truncation was found but not where: the position is reset by policy, if it did not move meanwhile. */
    public synchronized void resetAfterValidation(TopicPartition partition, int expectedEpoch) {
        PartitionState state = assignment.get(partition);
        if (state != null && state.positionEpoch == expectedEpoch && state.fetchState == FetchState.AWAIT_VALIDATION) {
            state.fetchState = FetchState.AWAIT_RESET;
            state.positionEpoch++;
        }
    }

    /** A committed offset was not found: the partition falls back to its reset policy. */
    public synchronized void fallBackToReset(TopicPartition partition, int expectedEpoch) {
        PartitionState state = assignment.get(partition);
        if (state != null && state.positionEpoch == expectedEpoch && state.fetchState == FetchState.INITIALIZING) {
            state.fetchState = FetchState.AWAIT_RESET;
        }
    }

    /**
     * The log was truncated under the position fetched at {@code fetchOffset} (KIP-320): the position moves to
     * {@code offset}, the first offset known to diverge, with that leader epoch; data fetched before is stale.
     */
    public synchronized void truncateTo(TopicPartition partition, long fetchOffset, long offset, Optional<Integer> leaderEpoch) {
        PartitionState state = assignment.get(partition);
        if (state != null && state.fetchState == FetchState.FETCHING && state.position == fetchOffset) {
            state.position = offset;
            state.leaderEpoch = leaderEpoch;
            state.positionEpoch++;
        }
    }

    /** The fetch position fell out of the log (OFFSET_OUT_OF_RANGE): reset it by policy. */
    public synchronized void resetAfterOutOfRange(TopicPartition partition, long fetchOffset) {
        PartitionState state = assignment.get(partition);
        if (state != null && state.fetchState == FetchState.FETCHING && state.position == fetchOffset) {
            state.fetchState = FetchState.AWAIT_RESET;
            state.positionEpoch++;
        }
    }

    public synchronized void failPosition(TopicPartition partition, int expectedEpoch, RuntimeException error) {
        PartitionState state = assignment.get(partition);
        if (state != null && state.positionEpoch == expectedEpoch && state.fetchState != FetchState.FETCHING) {
            state.positionError = error;
        }
    }

    public synchronized void updateFetchOffsets(TopicPartition partition, long highWatermark, long lastStableOffset,
                                                long logStartOffset) {
        PartitionState state = assignment.get(partition);
        if (state != null) {
            if (highWatermark >= 0) {
                state.highWatermark = highWatermark;
            }
            if (lastStableOffset >= 0) {
                state.lastStableOffset = lastStableOffset;
            }
            if (logStartOffset >= 0) {
                state.logStartOffset = logStartOffset;
            }
        }
    }

    private PartitionState required(TopicPartition partition) {
        PartitionState state = assignment.get(partition);
        if (state == null) {
            throw new IllegalStateException("No current assignment for partition " + partition);
        }
        return state;
    }

    @Override
    public synchronized String toString() {
        Map<TopicPartition, String> view = new HashMap<>();
        assignment.forEach((partition, state) -> view.put(partition, state.fetchState + "@" + state.position));
        return "SubscriptionState" + view;
    }
}
