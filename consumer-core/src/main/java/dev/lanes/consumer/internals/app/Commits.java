package dev.lanes.consumer.internals.app;

import dev.lanes.consumer.internals.common.Clock;
import dev.lanes.consumer.internals.events.CommitEvent;
import dev.lanes.consumer.internals.metrics.LanesConsumerMetrics;
import dev.lanes.consumer.internals.shared.BackgroundHandle;
import dev.lanes.consumer.internals.shared.Lane;
import dev.lanes.consumer.internals.shared.OwnCommits;
import dev.lanes.consumer.internals.shared.SubscriptionState;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.consumer.OffsetCommitCallback;
import org.apache.kafka.common.TopicPartition;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * The application's commits: synchronous ones waited for until their deadline (R16), asynchronous ones whose
 * callbacks run later on the application thread (R3), the commit auto-commit owes when the consumer gives up
 * its partitions (R11), and the interceptors' {@code onCommit} for all of them, including the commits the
 * background thread made on its own.
 *
 * <p>Application thread only. The caller has checked the arguments and that there is a group.
 */
public final class Commits {

    private static final Logger log = LoggerFactory.getLogger(Commits.class);
    /** Without a callback of its own, a failed asynchronous commit is logged. */
    private static final OffsetCommitCallback LOG_FAILED_COMMIT = (offsets, exception) -> {
        if (exception != null) {
            log.error("Offset commit of {} failed", offsets, exception);
        }
    };

    private final Clock clock;
    private final SubscriptionState subscriptions;
    private final Lane userLane;
    private final BackgroundHandle background;
    private final BackgroundCalls calls;
    private final OwnCommits ownCommits;
    private final Consumer<Map<TopicPartition, OffsetAndMetadata>> onCommit;
    private final PendingAsyncCommits asyncCommits;
    private final LanesConsumerMetrics metrics;
    private final long defaultApiTimeoutMs;
    private final boolean autoCommitEnabled;

    /**
     * @param ownCommits commits the background thread made on its own, for {@code onCommit}
     * @param onCommit   told of every successful commit (the interceptors)
     */
    public Commits(Clock clock, SubscriptionState subscriptions, Lane userLane, BackgroundHandle background,
                   BackgroundCalls calls, OwnCommits ownCommits, Consumer<Map<TopicPartition, OffsetAndMetadata>> onCommit,
                   LanesConsumerMetrics metrics, long defaultApiTimeoutMs, boolean autoCommitEnabled) {
        this.clock = clock;
        this.subscriptions = subscriptions;
        this.userLane = userLane;
        this.background = background;
        this.calls = calls;
        this.ownCommits = ownCommits;
        this.onCommit = onCommit;
        this.asyncCommits = new PendingAsyncCommits(onCommit);
        this.metrics = metrics;
        this.defaultApiTimeoutMs = defaultApiTimeoutMs;
        this.autoCommitEnabled = autoCommitEnabled;
    }

    /** Commits and waits until {@code deadlineMs}; earlier asynchronous commits' callbacks run first (R16). */
    public void commitSync(Map<TopicPartition, OffsetAndMetadata> offsets, long deadlineMs) {
        asyncCommits.runCompletedCallbacks();
        long startNanos = clock.nanoseconds();
        try {
            CommitEvent event = new CommitEvent(offsets, true, deadlineMs);
            calls.submitBlocking(event);
            try {
                Map<TopicPartition, OffsetAndMetadata> committed = calls.await(event, "commitSync");
                onCommit.accept(committed);
            } finally {
                asyncCommits.runCompletedCallbacks();
            }
        } finally {
            metrics.consumerThread().commitSyncTime(clock.nanoseconds() - startNanos);
        }
    }

    /**
     * Hands the commit to the background thread, or refuses at once with BackPressureException (R9);
     * {@code callback} (null: failures are logged) runs in a later poll, commit or close.
     */
    public void commitAsync(Map<TopicPartition, OffsetAndMetadata> offsets, OffsetCommitCallback callback) {
        asyncCommits.runCompletedCallbacks();
        CommitEvent event = new CommitEvent(offsets, false, clock.deadlineAfter(defaultApiTimeoutMs));
        calls.submitNonBlocking(event);
        asyncCommits.add(offsets, event.future(), callback != null ? callback : LOG_FAILED_COMMIT);
    }

    /** Runs the callbacks of the asynchronous commits that are complete, in commit order. */
    public void runCompletedCallbacks() {
        asyncCommits.runCompletedCallbacks();
    }

    /** Tells {@code onCommit} of the commits the background thread made on its own since the last time. */
    public void reportOwnCommits() {
        ownCommits.drainTo(onCommit);
    }

    /**
     * Commits what auto-commit owes before the partitions are given up (R11), waiting until the deadline;
     * a failure is logged, not thrown.
     */
    public void commitOnClose(long deadlineMs) {
        if (!autoCommitEnabled) {
            return;
        }
        Map<TopicPartition, OffsetAndMetadata> offsets = subscriptions.allConsumed();
        if (offsets.isEmpty()) {
            return;
        }
        CommitEvent event = new CommitEvent(offsets, true, deadlineMs);
        try {
            if (!userLane.offer(event, deadlineMs)) {
                log.warn("Could not commit offsets {} on close: the user lane stayed full until the deadline", offsets);
                return;
            }
            background.wakeup();
            event.future().get(Math.max(0, deadlineMs - clock.milliseconds()), TimeUnit.MILLISECONDS);
            ownCommits.drainTo(onCommit);
            onCommit.accept(offsets);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (ExecutionException | java.util.concurrent.TimeoutException e) {
            log.warn("Committing offsets {} on close failed: {}", offsets,
                    String.valueOf(e.getCause() == null ? e : e.getCause()));
        }
    }

    /**
     * Close: every asynchronous commit not answered yet (the background thread may still be running at the
     * deadline) fails with {@code reason}, and every callback runs now (R11).
     */
    public void failPending(RuntimeException reason) {
        asyncCommits.failAll(reason);
        asyncCommits.runCompletedCallbacks();
    }

    /** Asynchronous commits whose callbacks have not run yet. */
    public int pendingAsyncCommits() {
        return asyncCommits.size();
    }
}
