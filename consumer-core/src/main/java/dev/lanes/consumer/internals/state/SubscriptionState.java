package dev.lanes.consumer.internals.state;

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
        /** The position is known: records can be fetched from it. */
        FETCHING
    }

    private static final class PartitionState {
        FetchState fetchState = FetchState.INITIALIZING;
        long position = -1L;
        Optional<Integer> leaderEpoch = Optional.empty();
        OffsetResetStrategy resetStrategy;
        boolean paused;
        long highWatermark = -1L;
        long lastStableOffset = -1L;
        long logStartOffset = -1L;
        RuntimeException positionError;
        /** Bumped on every position change not caused by consuming, so the resolvers see their answer is stale. */
        int positionEpoch;
    }

    private final OffsetResetStrategy defaultResetStrategy;
    private final Map<TopicPartition, PartitionState> assignment = new LinkedHashMap<>();
    private int assignmentVersion;

    public SubscriptionState(OffsetResetStrategy defaultResetStrategy) {
        this.defaultResetStrategy = defaultResetStrategy;
    }

    // ---- application thread: assignment, seeks, pause

    /** Replaces the assignment; partitions kept keep their positions. Returns the partitions removed. */
    public synchronized Set<TopicPartition> assignFromUser(Collection<TopicPartition> partitions) {
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

    public synchronized void seek(TopicPartition partition, long offset, Optional<Integer> leaderEpoch) {
        PartitionState state = required(partition);
        state.position = offset;
        state.leaderEpoch = leaderEpoch;
        state.fetchState = FetchState.FETCHING;
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

    public synchronized Optional<Integer> leaderEpoch(TopicPartition partition) {
        PartitionState state = assignment.get(partition);
        return state == null ? Optional.empty() : state.leaderEpoch;
    }

    /** Whether data fetched from {@code fetchOffset} is still what the application should see next. */
    public synchronized boolean isCurrentPosition(TopicPartition partition, long fetchOffset) {
        PartitionState state = assignment.get(partition);
        return state != null && state.fetchState == FetchState.FETCHING && state.position == fetchOffset;
    }

    /** The positions the application has consumed up to, for commits (auto-commit and commitSync()). */
    public synchronized Map<TopicPartition, Long> consumedPositions() {
        Map<TopicPartition, Long> positions = new LinkedHashMap<>();
        assignment.forEach((partition, state) -> {
            if (state.fetchState == FetchState.FETCHING) {
                positions.put(partition, state.position);
            }
        });
        return positions;
    }

    /** Partitions that can be fetched now, with their positions: assigned, not paused, position known. */
    public synchronized Map<TopicPartition, Long> fetchablePositions() {
        Map<TopicPartition, Long> positions = new LinkedHashMap<>();
        assignment.forEach((partition, state) -> {
            if (state.fetchState == FetchState.FETCHING && !state.paused) {
                positions.put(partition, state.position);
            }
        });
        return positions;
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

    public synchronized OptionalLong lag(TopicPartition partition, boolean readCommitted) {
        PartitionState state = required(partition);
        long end = readCommitted ? state.lastStableOffset : state.highWatermark;
        if (end < 0 || state.fetchState != FetchState.FETCHING) {
            return OptionalLong.empty();
        }
        return OptionalLong.of(Math.max(0, end - state.position));
    }

    // ---- background thread: resolving positions, fetch metadata

    /**
     * Sets a position found by the background thread (committed offset or reset), unless the partition
     * was seeked or reassigned after the lookup started ({@code expectedEpoch} differs).
     */
    public synchronized boolean resolvePosition(TopicPartition partition, int expectedEpoch, long offset,
                                                Optional<Integer> leaderEpoch) {
        PartitionState state = assignment.get(partition);
        if (state == null || state.positionEpoch != expectedEpoch || state.fetchState == FetchState.FETCHING) {
            return false;
        }
        state.position = offset;
        state.leaderEpoch = leaderEpoch;
        state.fetchState = FetchState.FETCHING;
        state.resetStrategy = null;
        state.positionEpoch++;
        return true;
    }

    /** A committed offset was not found: the partition falls back to its reset policy. */
    public synchronized void fallBackToReset(TopicPartition partition, int expectedEpoch) {
        PartitionState state = assignment.get(partition);
        if (state != null && state.positionEpoch == expectedEpoch && state.fetchState == FetchState.INITIALIZING) {
            state.fetchState = FetchState.AWAIT_RESET;
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
