package dev.lanes.consumer.internals.app;

import dev.lanes.consumer.MemberState;
import dev.lanes.consumer.internals.events.LeaveGroupEvent;
import dev.lanes.consumer.internals.events.RebalanceCallback;
import dev.lanes.consumer.internals.shared.BackgroundHandle;
import dev.lanes.consumer.internals.shared.Lane;
import dev.lanes.consumer.internals.shared.MembershipView;
import dev.lanes.consumer.internals.shared.SubscriptionState;
import org.apache.kafka.common.TopicPartition;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.Optional;
import java.util.Set;

/**
 * How the member gives up its group (close, unsubscribe): first its partitions, with the commit auto-commit
 * owes and the revocation callback here on the application thread (R15), then its membership, with a leave
 * heartbeat that lets the others take the partitions at once.
 *
 * <p>Application thread only.
 */
public final class GroupExit {

    private static final Logger log = LoggerFactory.getLogger(GroupExit.class);

    private final SubscriptionState subscriptions;
    private final Optional<MembershipView> membership;
    private final RebalanceListenerInvoker rebalanceListener;
    private final Commits commits;
    private final Lane systemLane;
    private final BackgroundHandle background;
    private final BackgroundCalls calls;

    public GroupExit(SubscriptionState subscriptions, Optional<MembershipView> membership,
                     RebalanceListenerInvoker rebalanceListener, Commits commits, Lane systemLane,
                     BackgroundHandle background, BackgroundCalls calls) {
        this.subscriptions = subscriptions;
        this.membership = membership;
        this.rebalanceListener = rebalanceListener;
        this.commits = commits;
        this.systemLane = systemLane;
        this.background = background;
        this.calls = calls;
    }

    /**
     * Gives up the group's partitions before leaving: runs the callbacks already asked for, commits what
     * auto-commit owes, then runs onPartitionsRevoked (or onPartitionsLost if the member was fenced or left
     * for a poll timeout).
     */
    public void releasePartitions(long deadlineMs) {
        rebalanceListener.runRequested();
        Set<TopicPartition> owned = subscriptions.assignedPartitions();
        MemberState state = membership.map(MembershipView::state).orElse(MemberState.UNSUBSCRIBED);
        if (owned.isEmpty()) {
            return;
        }
        if (state == MemberState.FENCED || state == MemberState.STALE || state == MemberState.FATAL) {
            rebalanceListener.invoke(RebalanceCallback.Kind.LOST, owned);
        } else {
            commits.commitOnClose(deadlineMs);
            rebalanceListener.invoke(RebalanceCallback.Kind.REVOKED, owned);
        }
    }

    /** Sends the leave heartbeat and waits for it until the deadline, so others get the partitions at once. */
    public void leave(long deadlineMs) {
        LeaveGroupEvent event = new LeaveGroupEvent(deadlineMs);
        try {
            if (!systemLane.offer(event)) {
                log.warn("Could not leave the group: the system lane is full");
                return;
            }
        } finally {
            background.wakeup();
        }
        calls.awaitQuietly(event.future(), deadlineMs);
    }
}
