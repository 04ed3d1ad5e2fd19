package dev.lanes.consumer.internals.background.managers;

import dev.lanes.consumer.MemberState;
import dev.lanes.consumer.ConsumerClosedException;
import dev.lanes.consumer.internals.adapter.GroupHeartbeat;
import dev.lanes.consumer.internals.common.Clock;
import dev.lanes.consumer.internals.shared.PollTracker;
import dev.lanes.consumer.internals.metrics.LanesConsumerMetrics;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.errors.FencedMemberEpochException;
import org.apache.kafka.common.errors.RetriableException;
import org.apache.kafka.common.errors.UnknownMemberIdException;
import org.apache.kafka.common.errors.UnsupportedVersionException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.List;
import java.util.Optional;

/**
 * Sends the member's ConsumerGroupHeartbeats, scheduled by the background thread's own clock at the
 * interval the coordinator gives (R7), and at once when joining, acknowledging an assignment, changing
 * the subscription or leaving. Heartbeats never depend on the application: a slow listener that still
 * polls within max.poll.interval.ms keeps its membership; one that does not is made to leave. Background
 * thread only.
 */
public final class HeartbeatRequestManager implements RequestManager {

    private static final Logger log = LoggerFactory.getLogger(HeartbeatRequestManager.class);

    /** KafkaConsumer's message for a broker without the consumer group protocol. */
    static final String CONSUMER_PROTOCOL_NOT_SUPPORTED = "The cluster does not support the new CONSUMER group protocol. "
            + "Set group.protocol=classic on the consumer configs to revert to the CLASSIC protocol until the cluster is "
            + "upgraded.";

    /** The longest a fetch waits on the broker while an acknowledging or leave heartbeat may become due. */
    static final long CALLBACKS_PENDING_FETCH_WAIT_MS = 50;

    private final Clock clock;
    private final MembershipManager membership;
    private final CoordinatorRequestManager coordinator;
    private final PollTracker pollTracker;
    private final LanesConsumerMetrics metrics;
    private final long maxPollIntervalMs;
    private final long requestTimeoutMs;
    private final Optional<String> rackId;
    private final Optional<String> serverAssignor;
    private final RetryBackoff backoff;

    private volatile long heartbeatIntervalMs = -1;
    private volatile long lastAnsweredMs = -1;
    private long nextHeartbeatMs;
    private long sentAtMs;
    private volatile long lastSentMs = -1;
    /** The coordinator the heartbeat in flight went to, and its attempt number: a later one makes it stale. */
    private int sentToCoordinator;
    private long attempt;

    public HeartbeatRequestManager(Clock clock, MembershipManager membership, CoordinatorRequestManager coordinator,
                                   PollTracker pollTracker, LanesConsumerMetrics metrics, long maxPollIntervalMs,
                                   long requestTimeoutMs, long retryBackoffMs, long retryBackoffMaxMs,
                                   Optional<String> rackId, Optional<String> serverAssignor) {
        this.clock = clock;
        this.membership = membership;
        this.coordinator = coordinator;
        this.pollTracker = pollTracker;
        this.metrics = metrics;
        this.maxPollIntervalMs = maxPollIntervalMs;
        this.requestTimeoutMs = requestTimeoutMs;
        this.rackId = rackId;
        this.serverAssignor = serverAssignor;
        this.backoff = new RetryBackoff(retryBackoffMs, retryBackoffMaxMs);
    }

    @Override
    public PollResult poll(long nowMs) {
        MemberState state = membership.state();
        if (state == MemberState.STALE && pollTracker.lastPollMs() + maxPollIntervalMs > nowMs) {
            membership.rejoinAfterPollTimeout();
            state = membership.state();
        }
        long untilPollTimeout = Long.MAX_VALUE;
        if (state.inGroup() && !pollTracker.inPoll()) {
            long pollDeadline = pollTracker.lastPollMs() + maxPollIntervalMs;
            if (nowMs >= pollDeadline) {
                membership.onPollTimeout(maxPollIntervalMs);
                state = membership.state();
            } else {
                untilPollTimeout = pollDeadline - nowMs;
            }
        }
        if (!state.inGroup() && state != MemberState.LEAVING) {
            return PollResult.NOTHING;
        }
        if (backoff.isInFlight()) {
            if (sentToCoordinator == coordinator.generation()) {
                return PollResult.waitFor(untilPollTimeout);
            }
            // The coordinator it went to was forgotten or replaced since (another request learned it moved): its
            // answer, if one ever comes, is ignored, and the next heartbeat goes to the new coordinator at once.
            log.debug("Heartbeat of member {} in flight to an earlier coordinator is abandoned", membership.memberId());
            backoff.abandonInFlight();
            membership.requestHeartbeatAgain();
        }
        boolean urgent = membership.takeHeartbeatNow();
        if (urgent) {
            nextHeartbeatMs = nowMs;
        }
        if (nowMs < nextHeartbeatMs || !backoff.canSend(nowMs)) {
            if (urgent) {
                membership.requestHeartbeatAgain();
            }
            long wait = Math.max(nextHeartbeatMs - nowMs, backoff.remainingBackoffMs(nowMs));
            return PollResult.waitFor(Math.min(wait, untilPollTimeout));
        }
        Optional<Node> node = coordinator.coordinator();
        if (node.isEmpty()) {
            coordinator.fatalError().ifPresent(this::fail);
            if (urgent) {
                membership.requestHeartbeatAgain();
            }
            return PollResult.waitFor(untilPollTimeout);
        }
        boolean leaving = state == MemberState.LEAVING;
        int epoch = leaving ? membership.leaveEpoch() : membership.memberEpoch();
        GroupHeartbeat.Request request = membership.heartbeatRequest(epoch, rackId, serverAssignor);
        backoff.onSend();
        sentAtMs = nowMs;
        lastSentMs = nowMs;
        sentToCoordinator = coordinator.generation();
        long thisAttempt = ++attempt;
        // Until the answer comes, the next regular heartbeat is not due; a lost answer times out the request.
        nextHeartbeatMs = Long.MAX_VALUE;
        UnsentRequest<GroupHeartbeat.Response> unsent = new UnsentRequest<>(GroupHeartbeat.request(request), node,
                Priority.SYSTEM, nowMs + requestTimeoutMs, (response, error) -> {
                    if (thisAttempt == attempt && backoff.isInFlight()) {
                        onResponse(leaving, response, error);
                    }
                });
        return new PollResult(untilPollTimeout, List.of(unsent));
    }

    private void onResponse(boolean leaving, GroupHeartbeat.Response response, Throwable error) {
        long nowMs = clock.milliseconds();
        if (leaving) {
            backoff.onSuccess();
            if (error != null) {
                log.debug("Leave heartbeat of member {} failed ({}); the coordinator removes it after the session timeout",
                        membership.memberId(), error.toString());
            }
            membership.onLeft();
            lastAnsweredMs = -1; // a later membership's first heartbeat is not a gap in this one
            return;
        }
        if (error == null) {
            backoff.onSuccess();
            if (lastAnsweredMs >= 0) {
                metrics.heartbeatGap(nowMs - lastAnsweredMs);
            }
            lastAnsweredMs = nowMs;
            metrics.heartbeatAnswered(nowMs - sentAtMs);
            if (response.heartbeatIntervalMs() > 0) {
                heartbeatIntervalMs = response.heartbeatIntervalMs();
            }
            nextHeartbeatMs = nowMs + Math.max(heartbeatIntervalMs, 0);
            membership.onHeartbeatResponse(response);
            return;
        }
        backoff.onFailure(nowMs);
        nextHeartbeatMs = nowMs;
        if (error instanceof ConsumerClosedException) {
            log.debug("Heartbeat of member {} discarded at close", membership.memberId());
        } else if (CoordinatorErrors.coordinatorLost(error)) {
            coordinator.markUnknown(sentToCoordinator, error.getClass().getSimpleName());
            membership.requestHeartbeatAgain();
        } else if (error instanceof FencedMemberEpochException || error instanceof UnknownMemberIdException) {
            membership.onFenced((RuntimeException) error);
        } else if (error instanceof UnsupportedVersionException) {
            // KafkaConsumer's message first, so that what users search for matches; then what it means for Lanes.
            fail(new UnsupportedVersionException(CONSUMER_PROTOCOL_NOT_SUPPORTED + " Lanes has no classic protocol: it "
                    + "needs a broker that supports the consumer group protocol of KIP-848 (group.protocol=consumer, "
                    + "ConsumerGroupHeartbeat): Apache Kafka 4.0 or later with group.coordinator.rebalance.protocols "
                    + "including 'consumer'.", error));
        } else if (error instanceof RetriableException) {
            log.debug("Heartbeat of member {} failed with a retriable error: {}", membership.memberId(), error.toString());
            membership.requestHeartbeatAgain();
        } else {
            fail(error instanceof RuntimeException ? (RuntimeException) error : new RuntimeException(error));
        }
    }

    private void fail(RuntimeException error) {
        log.error("Member {} of group {} cannot continue: {}", membership.memberId(), membership.groupId(), error.toString());
        membership.onFatal(error);
    }

    /**
     * How long until the next heartbeat may be due, so a long-poll fetch does not hold the connection past it.
     * While callbacks of a reconciliation or a leave run on the application thread, the heartbeat that
     * acknowledges them is due the moment they finish: fetches then wait briefly, so that it is not held
     * behind a fetch for up to {@code fetch.max.wait.ms}.
     */
    public long timeUntilNextHeartbeatMs(long nowMs) {
        MemberState state = membership.state();
        if (state == MemberState.RECONCILING || state == MemberState.PREPARE_LEAVING) {
            return CALLBACKS_PENDING_FETCH_WAIT_MS;
        }
        if (!state.inGroup()) {
            return Long.MAX_VALUE;
        }
        if (backoff.isInFlight()) {
            // The next one is due an interval after this one's answer, which is at least an interval away.
            return heartbeatIntervalMs > 0 ? heartbeatIntervalMs : Long.MAX_VALUE;
        }
        return Math.max(0, nextHeartbeatMs - nowMs);
    }

    public long heartbeatIntervalMs() {
        return heartbeatIntervalMs;
    }

    /** Milliseconds since the last answered heartbeat, or -1 before the first. */
    /** When the last heartbeat was sent (the background clock's milliseconds), or -1 before the first. */
    public long lastHeartbeatSentMs() {
        return lastSentMs;
    }

    public long lastHeartbeatMsAgo() {
        long last = lastAnsweredMs;
        return last < 0 ? -1 : Math.max(0, clock.milliseconds() - last);
    }
}
