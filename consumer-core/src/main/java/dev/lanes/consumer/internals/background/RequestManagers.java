package dev.lanes.consumer.internals.background;

import dev.lanes.consumer.internals.background.managers.CommitRequestManager;
import dev.lanes.consumer.internals.background.managers.CoordinatorRequestManager;
import dev.lanes.consumer.internals.background.managers.FetchRequestManager;
import dev.lanes.consumer.internals.background.managers.HeartbeatRequestManager;
import dev.lanes.consumer.internals.background.managers.MembershipManager;
import dev.lanes.consumer.internals.background.managers.OffsetsRequestManager;
import dev.lanes.consumer.internals.background.managers.PollResult;
import dev.lanes.consumer.internals.background.managers.RequestManager;
import dev.lanes.consumer.internals.background.managers.TopicMetadataRequestManager;
import dev.lanes.consumer.internals.background.managers.UnsentRequest;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The request managers of one consumer, polled once per loop iteration in this order, which carries meaning: a
 * manager often changes, during its own poll, what a later one sees in the same iteration. The group managers
 * (membership, heartbeat, commits, coordinator) are present only with a {@code group.id}.
 * <ol>
 *   <li><b>Membership reconciles first</b> (it is not polled for requests). A reconciliation it starts, or one that
 *       was waiting for the application to enter poll(), queues its commit (with auto-commit) in the commit
 *       manager ({@code commitOwn}), which then sends it in this iteration; it marks the partitions being revoked,
 *       which the fetch manager then leaves out; and while it reconciles, the heartbeat manager keeps fetch waits
 *       short so the acknowledging heartbeat is not held behind a long poll.</li>
 *   <li><b>Commits.</b> Requests of one priority go out in the order the managers produce them, and a broker answers
 *       one request per connection at a time (R6): polled ahead of the fetch manager, an OffsetCommit made in this
 *       iteration goes to the coordinator's broker before a Fetch to the same broker, instead of waiting behind its
 *       long poll. The offsets manager, polled next, adds committed-offset lookups for new positions here; it asks
 *       for the next iteration at once, so they go out then, without waiting for a wakeup.</li>
 *   <li><b>Offsets</b> (positions, their validation, offsets by timestamp), before the fetch manager: a position
 *       settled during this poll (a validation with no leader epoch to compare is completed in place) is fetched in
 *       this iteration. The fetch manager in turn sends partitions back to validation (a leader change) or to reset
 *       (a topic created again); since offsets were polled already, it asks for the next iteration at once.</li>
 *   <li><b>Topic metadata</b> (partitionsFor, listTopics) depends on no other manager; its place only puts its
 *       lookups behind commits and offset lookups and ahead of fetches on the wire.</li>
 *   <li><b>Heartbeat</b>, before the fetch manager, which bounds each fetch's {@code max_wait_ms} by the time until
 *       the next heartbeat is due: a heartbeat due now has gone out by then (the next one is an interval away), so
 *       the fetch may long-poll (for up to the interval), not for 1 ms; one that could not go (no coordinator yet)
 *       is still due and keeps the fetch short.</li>
 *   <li><b>Fetches</b>, after everything that decides what may be fetched and for how long (above).</li>
 *   <li><b>Coordinator last</b> (R14): it looks the coordinator up only when a manager asked for it, and commits,
 *       committed-offset lookups and heartbeats ask during their own poll. Polled after them, it sends
 *       FindCoordinator in the same iteration. Polled first, it would send the lookup only in the next iteration,
 *       and nothing would make that come soon: a commit waiting for the coordinator asks to be polled again at its
 *       deadline, a heartbeat at the poll timeout. System requests still go out first (R7), so FindCoordinator
 *       leads what this iteration sends.</li>
 * </ol>
 * Background thread only.
 */
final class RequestManagers {

    private final Optional<MembershipManager> membership;
    private final Optional<CommitRequestManager> commits;
    private final OffsetsRequestManager offsets;
    private final TopicMetadataRequestManager topicMetadata;
    private final Optional<HeartbeatRequestManager> heartbeat;
    private final FetchRequestManager fetches;
    private final RequestManager[] pollOrder;

    /** The managers in the order they act in one iteration (see the class comment for why). */
    RequestManagers(Optional<MembershipManager> membership, Optional<CommitRequestManager> commits,
                    OffsetsRequestManager offsets, TopicMetadataRequestManager topicMetadata,
                    Optional<HeartbeatRequestManager> heartbeat, FetchRequestManager fetches,
                    Optional<CoordinatorRequestManager> coordinator) {
        this.membership = membership;
        this.commits = commits;
        this.offsets = offsets;
        this.topicMetadata = topicMetadata;
        this.heartbeat = heartbeat;
        this.fetches = fetches;
        List<RequestManager> ordered = new ArrayList<>();
        commits.ifPresent(ordered::add);
        ordered.add(offsets);
        ordered.add(topicMetadata);
        heartbeat.ifPresent(ordered::add);
        ordered.add(fetches);
        coordinator.ifPresent(ordered::add);
        this.pollOrder = ordered.toArray(new RequestManager[0]);
    }

    /**
     * Lets the membership reconcile, then polls every manager in order and hands their requests to the sender;
     * returns how long the loop may block before a manager has work again.
     */
    long poll(long nowMs, RequestSender sender) {
        membership.ifPresent(MembershipManager::maybeReconcile);
        long waitMs = Long.MAX_VALUE;
        for (RequestManager manager : pollOrder) {
            PollResult result = manager.poll(nowMs);
            waitMs = Math.min(waitMs, result.timeUntilNextPollMs());
            for (UnsentRequest<?> request : result.requests()) {
                sender.add(request);
            }
        }
        return waitMs;
    }

    /** Fails the commits and lookups the managers hold (not sent yet or in flight); returns how many. */
    int discardRequests(RuntimeException reason) {
        return commits.map(c -> c.discardAll(reason)).orElse(0)
                + offsets.discardAll(reason)
                + topicMetadata.discardAll(reason);
    }

    /** Releases a reconciliation waiting for rebalance callbacks that will never run. */
    void releaseCallbacks() {
        membership.ifPresent(MembershipManager::discardAll);
    }

    Optional<MembershipManager> membership() {
        return membership;
    }

    Optional<CommitRequestManager> commits() {
        return commits;
    }

    OffsetsRequestManager offsets() {
        return offsets;
    }

    TopicMetadataRequestManager topicMetadata() {
        return topicMetadata;
    }

    Optional<HeartbeatRequestManager> heartbeat() {
        return heartbeat;
    }

    FetchRequestManager fetches() {
        return fetches;
    }
}
