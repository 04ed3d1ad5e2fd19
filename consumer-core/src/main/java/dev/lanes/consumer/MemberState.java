package dev.lanes.consumer;

import java.util.EnumSet;
import java.util.Set;

/**
 * The life of a member of a consumer group on the KIP-848 protocol (R15), as
 * {@link LanesConsumer#memberState()} reports it. Each state declares the states it may be entered from;
 * {@link #canTransitionFrom} is checked on every change, and an invalid transition is a bug that fails loudly.
 */
public enum MemberState {


    /** Not in a group: no subscription, or it left. */
    UNSUBSCRIBED,

    /** Sent (or about to send) a heartbeat with epoch 0 to join; waiting for a member epoch. */
    JOINING,

    /** Has a new target assignment and is working toward it: revoke first, then assign. */
    RECONCILING,

    /** Reconciled; the next heartbeat tells the coordinator which partitions it now owns. */
    ACKNOWLEDGING,

    /** Owns exactly its target assignment; heartbeats at the interval. */
    STABLE,

    /** The coordinator fenced the member (stale epoch, unknown member): partitions are lost, then it rejoins. */
    FENCED,

    /** Leaving was asked for (close, unsubscribe, poll timeout): callbacks run before the leave heartbeat. */
    PREPARE_LEAVING,

    /** The leave heartbeat is being sent. */
    LEAVING,

    /** Left because the application stopped polling for longer than max.poll.interval.ms; rejoins on its next poll. */
    STALE,

    /** An error that retrying cannot fix (authorization, unsupported broker): poll throws it. */
    FATAL,

    /**
     * The consumer has no group.id: it never joins a group, so no other state is ever entered. Last, so that the
     * ordinals the {@code member-state} metric reports are those of the group states alone.
     */
    NONE;

    private Set<MemberState> previous;

    static {
        UNSUBSCRIBED.previous = EnumSet.of(PREPARE_LEAVING, LEAVING, FENCED, FATAL, UNSUBSCRIBED, JOINING, STALE);
        JOINING.previous = EnumSet.of(UNSUBSCRIBED, FENCED, STALE, JOINING, STABLE, RECONCILING, ACKNOWLEDGING);
        RECONCILING.previous = EnumSet.of(JOINING, STABLE, ACKNOWLEDGING, RECONCILING);
        ACKNOWLEDGING.previous = EnumSet.of(RECONCILING);
        STABLE.previous = EnumSet.of(JOINING, ACKNOWLEDGING, RECONCILING);
        FENCED.previous = EnumSet.of(JOINING, RECONCILING, ACKNOWLEDGING, STABLE, PREPARE_LEAVING);
        PREPARE_LEAVING.previous = EnumSet.of(JOINING, RECONCILING, ACKNOWLEDGING, STABLE, FENCED, STALE, UNSUBSCRIBED);
        LEAVING.previous = EnumSet.of(PREPARE_LEAVING);
        STALE.previous = EnumSet.of(JOINING, RECONCILING, ACKNOWLEDGING, STABLE, LEAVING);
        FATAL.previous = EnumSet.complementOf(EnumSet.of(NONE));
        NONE.previous = EnumSet.noneOf(MemberState.class);
    }

    public boolean canTransitionFrom(MemberState from) {
        return previous.contains(from);
    }

    /** Whether the member is in the group, heartbeating. */
    public boolean inGroup() {
        return this == JOINING || this == RECONCILING || this == ACKNOWLEDGING || this == STABLE;
    }
}
