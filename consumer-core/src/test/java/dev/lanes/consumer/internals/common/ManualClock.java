package dev.lanes.consumer.internals.common;

/** A clock that moves only when the test says so. */
public final class ManualClock implements Clock {

    private volatile long nowMs;

    public ManualClock(long startMs) {
        this.nowMs = startMs;
    }

    @Override
    public long milliseconds() {
        return nowMs;
    }

    @Override
    public long nanoseconds() {
        return nowMs * 1_000_000L;
    }

    public void advance(long ms) {
        nowMs += ms;
    }

    public void set(long ms) {
        nowMs = ms;
    }
}
