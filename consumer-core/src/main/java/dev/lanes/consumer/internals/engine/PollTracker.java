package dev.lanes.consumer.internals.engine;

/**
 * When the application last called {@code poll()}, for max.poll.interval.ms: written by the application
 * thread, read by the background thread, which heartbeats regardless of how slow processing is.
 */
public final class PollTracker {

    private volatile long lastPollMs;

    public PollTracker(long nowMs) {
        this.lastPollMs = nowMs;
    }

    public void polled(long nowMs) {
        lastPollMs = nowMs;
    }

    public long lastPollMs() {
        return lastPollMs;
    }
}
