package dev.lanes.consumer.internals.app;

import dev.lanes.consumer.ConsumerClosedException;
import dev.lanes.consumer.internals.common.Clock;
import dev.lanes.consumer.internals.events.CloseEvent;
import dev.lanes.consumer.internals.shared.BackgroundHandle;
import dev.lanes.consumer.internals.shared.Lane;
import dev.lanes.consumer.internals.shared.LoopState;
import dev.lanes.consumer.internals.shared.SubscriptionState;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code close(timeout)} in its order (R11): give up the group's partitions (commit what auto-commit owes,
 * onPartitionsRevoked) and leave, or else just commit what auto-commit owes; mark the consumer closed; let
 * the background thread flush and stop (the close event) and wait for it; discard fetched data; fail the
 * asynchronous commits still pending and run their callbacks; release the consumer's resources. Everything
 * happens by the deadline, even if the broker or the background thread does not answer.
 *
 * <p>Application thread only.
 */
public final class Closer {

    private static final Logger log = LoggerFactory.getLogger(Closer.class);
    /** The most of close's budget kept for the background thread to discard what is left and stop. */
    private static final long SHUTDOWN_RESERVE_MS = 200;

    private final String clientId;
    private final Clock clock;
    private final CallGate gate;
    private final SubscriptionState subscriptions;
    private final GroupExit groupExit;
    private final Commits commits;
    private final BackgroundCalls calls;
    private final Lane systemLane;
    private final BackgroundHandle background;
    private final Runnable beforeBackgroundStops;
    private final Runnable discardFetched;
    private final Runnable releaseResources;

    /**
     * @param beforeBackgroundStops runs once the consumer is closed, while the background thread still runs
     *                              (a last push of the client's telemetry)
     * @param discardFetched        drops the records fetched and not returned
     * @param releaseResources      closes what the application side owns (interceptors, deserializers, metrics)
     */
    public Closer(String clientId, Clock clock, CallGate gate, SubscriptionState subscriptions, GroupExit groupExit,
                  Commits commits, BackgroundCalls calls, Lane systemLane, BackgroundHandle background,
                  Runnable beforeBackgroundStops, Runnable discardFetched, Runnable releaseResources) {
        this.clientId = clientId;
        this.clock = clock;
        this.gate = gate;
        this.subscriptions = subscriptions;
        this.groupExit = groupExit;
        this.commits = commits;
        this.calls = calls;
        this.systemLane = systemLane;
        this.background = background;
        this.beforeBackgroundStops = beforeBackgroundStops;
        this.discardFetched = discardFetched;
        this.releaseResources = releaseResources;
    }

    /** Closes the consumer within {@code timeoutMs} (not negative); a second close, or one from a callback, returns at once. */
    public void close(long timeoutMs) {
        gate.enterEvenIfClosed();
        try {
            if (!gate.startClosing()) {
                return;
            }
            subscriptions.markConsumed();
            long deadlineMs = clock.deadlineAfter(timeoutMs);
            // The last part of the budget is kept for the background thread to discard what is left, log it and
            // release its sockets, so that all of that happens before close returns, even with the broker down.
            long workDeadlineMs = deadlineMs - Math.min(SHUTDOWN_RESERVE_MS, timeoutMs / 4);
            commits.runCompletedCallbacks();
            boolean running = background.state() == LoopState.RUNNING;
            try {
                // Still open here, as with KafkaConsumer: onPartitionsRevoked may commit, the usual place for a
                // manual commit. A close called from a callback returns at once (closing).
                if (running && subscriptions.hasGroupSubscription()) {
                    try {
                        groupExit.releasePartitions(workDeadlineMs);
                    } catch (RuntimeException e) {
                        log.warn("A rebalance callback threw while the consumer was closing", e);
                    }
                    groupExit.leave(workDeadlineMs);
                } else if (running) {
                    commits.commitOnClose(workDeadlineMs);
                }
            } finally {
                gate.markClosed();
            }
            beforeBackgroundStops.run();
            if (running) {
                stopBackground(workDeadlineMs, deadlineMs);
            }
            try {
                background.join(Math.max(1, deadlineMs - clock.milliseconds()));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            if (background.isAlive()) {
                log.warn("The background thread of consumer {} did not stop within the close timeout; it is a daemon "
                        + "thread and will end on its own", clientId);
            }
            discardFetched.run();
            // Commits the background thread did not finish (it may still be running at the deadline) fail
            // here, so that close runs every callback (R11).
            commits.failPending(new ConsumerClosedException("The consumer was closed before this commit completed", null));
            releaseResources.run();
            log.debug("Lanes consumer {} closed", clientId);
        } finally {
            gate.exit();
        }
    }

    /** Asks the background thread to flush until {@code workDeadlineMs} and stop; waits for that until {@code deadlineMs}. */
    private void stopBackground(long workDeadlineMs, long deadlineMs) {
        CloseEvent closeEvent = new CloseEvent(workDeadlineMs);
        if (systemLane.offer(closeEvent)) {
            background.wakeup();
            calls.awaitQuietly(closeEvent.future(), deadlineMs);
        }
    }
}
