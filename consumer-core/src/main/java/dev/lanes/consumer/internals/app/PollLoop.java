package dev.lanes.consumer.internals.app;

import dev.lanes.consumer.MemberState;
import dev.lanes.consumer.internals.common.Clock;
import dev.lanes.consumer.internals.metrics.LanesConsumerMetrics;
import dev.lanes.consumer.internals.shared.BackgroundHandle;
import dev.lanes.consumer.internals.shared.ClusterIdentity;
import dev.lanes.consumer.internals.shared.FetchBuffer;
import dev.lanes.consumer.internals.shared.MembershipView;
import dev.lanes.consumer.internals.shared.PollTracker;
import dev.lanes.consumer.internals.shared.SubscriptionState;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.InterruptException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.List;
import java.util.Optional;

/**
 * The body of {@code poll()}: until records are ready or the deadline passes, it runs what the application
 * thread owes (commit callbacks, interceptors' onCommit, rebalance callbacks, cluster id listeners), raises
 * a wakeup or what the background thread reported, collects records (held back while the membership is
 * unconfirmed), and otherwise waits on the fetch buffer with its own timed wait (R12).
 *
 * <p>Application thread only.
 */
public final class PollLoop<K, V> {

    private static final Logger log = LoggerFactory.getLogger(PollLoop.class);

    private final String clientId;
    private final Clock clock;
    private final LanesConsumerMetrics metrics;
    private final CallGate gate;
    private final BackgroundHandle background;
    private final Optional<MembershipView> membership;
    private final SubscriptionState subscriptions;
    private final PollTracker pollTracker;
    private final FetchBuffer fetchBuffer;
    private final FetchCollector<K, V> collector;
    private final Commits commits;
    private final RebalanceListenerInvoker rebalanceListener;
    private final Interceptors<K, V> interceptors;
    private final ClusterIdentity clusterIdentity;
    private final List<Object> clusterListenerCandidates;
    private final int maxPollRecords;
    private final long heartbeatOverdueHoldMs;
    private boolean holding;

    /**
     * @param clusterListenerCandidates what is told the cluster id if it listens for it (deserializers,
     *                                  interceptors, metric reporters)
     * @param heartbeatOverdueHoldMs    how long past its interval a heartbeat answer may be overdue before
     *                                  records are held back (lanes.heartbeat.overdue.hold.ms)
     */
    public PollLoop(String clientId, Clock clock, LanesConsumerMetrics metrics, CallGate gate, BackgroundHandle background,
                    Optional<MembershipView> membership, SubscriptionState subscriptions, PollTracker pollTracker,
                    FetchBuffer fetchBuffer, FetchCollector<K, V> collector, Commits commits,
                    RebalanceListenerInvoker rebalanceListener, Interceptors<K, V> interceptors,
                    ClusterIdentity clusterIdentity, List<Object> clusterListenerCandidates, int maxPollRecords,
                    long heartbeatOverdueHoldMs) {
        this.clientId = clientId;
        this.clock = clock;
        this.metrics = metrics;
        this.gate = gate;
        this.background = background;
        this.membership = membership;
        this.subscriptions = subscriptions;
        this.pollTracker = pollTracker;
        this.fetchBuffer = fetchBuffer;
        this.collector = collector;
        this.commits = commits;
        this.rebalanceListener = rebalanceListener;
        this.interceptors = interceptors;
        this.clusterIdentity = clusterIdentity;
        this.clusterListenerCandidates = List.copyOf(clusterListenerCandidates);
        this.maxPollRecords = maxPollRecords;
        this.heartbeatOverdueHoldMs = heartbeatOverdueHoldMs;
    }

    /** One {@code poll(timeout)}, its arguments checked: records, or none once {@code timeoutNanos} have passed. */
    public ConsumerRecords<K, V> poll(long timeoutNanos) {
        long deadlineNanos = clock.nanoseconds() + timeoutNanos;
        metrics.consumerThread().pollStarted(clock.milliseconds());
        notePoll();
        try {
            return pollUntil(deadlineNanos);
        } finally {
            pollTracker.exit(clock.milliseconds());
            metrics.consumerThread().pollEnded(clock.milliseconds());
        }
    }

    private ConsumerRecords<K, V> pollUntil(long deadlineNanos) {
        while (true) {
            clusterIdentity.tell(clusterListenerCandidates);
            commits.runCompletedCallbacks();
            commits.reportOwnCommits();
            rebalanceListener.runRequested();
            gate.throwIfWakeupPending();
            throwIfBackgroundError();
            gate.ensureOpen(); // the background thread may have died while this poll waited
            boolean held = holdWhileUnconfirmed();
            ConsumerRecords<K, V> records = held ? ConsumerRecords.empty() : collector.collect(maxPollRecords);
            if (!records.isEmpty()) {
                metrics.recordsConsumed(records.count());
                return interceptors.onConsume(records);
            }
            long remaining = deadlineNanos - clock.nanoseconds();
            if (remaining <= 0) {
                return ConsumerRecords.empty();
            }
            long waitStart = clock.nanoseconds();
            try {
                if (held) {
                    fetchBuffer.awaitStateChange(remaining);
                } else {
                    fetchBuffer.await(remaining);
                }
            } catch (InterruptedException e) {
                throw new InterruptException(e);
            } finally {
                metrics.applicationPollIdle(clock.nanoseconds() - waitStart);
            }
        }
    }

    /**
     * Whether records are held back because the member's heartbeats have gone unanswered for too long: it may
     * have been fenced, and its partitions processed by another member (lanes.heartbeat.overdue.hold.ms). Logged
     * once per episode.
     */
    private boolean holdWhileUnconfirmed() {
        boolean hold = membership.isPresent()
                && membership.get().ownershipUnconfirmed(clock.milliseconds(), heartbeatOverdueHoldMs);
        if (hold && !holding) {
            log.warn("Consumer {} holds back records: no heartbeat answer for {} ms, so the group may have given its "
                    + "partitions to another member; records are returned again once an answer confirms the membership",
                    clientId, clock.milliseconds() - membership.get().lastConfirmedMs());
        } else if (!hold && holding) {
            log.info("Consumer {}: membership confirmed again, records are returned", clientId);
        }
        holding = hold;
        return hold;
    }

    /**
     * Tells the background thread the application is polling (max.poll.interval.ms, and positions of newly
     * assigned partitions may be looked up now); wakes it if it needs to act on that.
     */
    private void notePoll() {
        subscriptions.markConsumed();
        boolean awaited = pollTracker.enter(clock.milliseconds());
        if (subscriptions.requestPositions() || awaited) {
            background.wakeup();
        }
        if (membership.isPresent() && membership.get().state() == MemberState.STALE) {
            background.wakeup();
        }
    }

    private void throwIfBackgroundError() {
        Optional<RuntimeException> fatal = membership.flatMap(MembershipView::fatalError);
        if (fatal.isPresent()) {
            throw fatal.get();
        }
        RuntimeException error = fetchBuffer.takeError();
        if (error != null) {
            throw error;
        }
        for (TopicPartition partition : subscriptions.assignedPartitions()) {
            Optional<RuntimeException> positionError = subscriptions.positionError(partition);
            if (positionError.isPresent()) {
                throw positionError.get();
            }
        }
    }
}
