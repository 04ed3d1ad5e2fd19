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

    /** Calls the handler's method for this kind of event (double dispatch, no type switches). */
    public abstract void dispatch(ApplicationEventHandler handler);

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
