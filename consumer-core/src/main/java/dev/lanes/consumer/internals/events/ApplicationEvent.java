package dev.lanes.consumer.internals.events;

import java.util.concurrent.CompletableFuture;

/**
 * Work the application thread hands to the background thread through a lane.
 *
 * <p>Every event carries an absolute deadline (milliseconds of the engine's clock) and a future. The
 * background thread completes the future; the application thread waits on it with its own timed wait,
 * so its deadline holds even if the background thread stalls. An event whose deadline passes before
 * its work is done is completed with a {@link org.apache.kafka.common.errors.TimeoutException}.
 *
 * @param <T> what the event's future completes with
 */
public abstract class ApplicationEvent<T> {

    private final long deadlineMs;
    private final CompletableFuture<T> future = new CompletableFuture<>();
    private long enqueuedNanos;

    protected ApplicationEvent(long deadlineMs) {
        this.deadlineMs = deadlineMs;
    }

    /** Calls the visitor's method for this kind of event (double dispatch, no type switches). */
    public abstract void accept(ApplicationEventVisitor visitor);

    /**
     * Whether the background thread still takes this event once closing has begun. Only the work close() itself
     * needs is: the close, commits accepted before it (flushed until the deadline, R11), the leave, and the
     * acknowledgements of rebalance callbacks. Anything else is refused.
     */
    public boolean acceptedWhileClosing() {
        return false;
    }

    /** Whether the event fails when its deadline passes; the close runs to its own end instead. */
    public boolean expires() {
        return true;
    }

    /**
     * Whether an authentication failure fails the event at once, as it fails every call waiting for a broker with
     * KafkaConsumer; the close and the leave go on to their end.
     */
    public boolean failsOnAuthenticationError() {
        return true;
    }

    public long deadlineMs() {
        return deadlineMs;
    }

    public CompletableFuture<T> future() {
        return future;
    }

    public boolean isExpired(long nowMs) {
        return nowMs >= deadlineMs;
    }

    /** Stamped by the lane so the background thread can measure the time spent queued. */
    public void markEnqueued(long nanos) {
        this.enqueuedNanos = nanos;
    }

    public long enqueuedNanos() {
        return enqueuedNanos;
    }

    @Override
    public String toString() {
        return getClass().getSimpleName() + "(deadlineMs=" + deadlineMs + ")";
    }
}
