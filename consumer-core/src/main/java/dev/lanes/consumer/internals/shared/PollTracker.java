package dev.lanes.consumer.internals.shared;

import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The application's calls to {@code poll()}, as the background thread needs them: when the application
 * last polled (for max.poll.interval.ms, which only counts time spent outside poll), whether it is inside
 * poll now, and whether it has entered poll since a given moment (a reconciliation commits what was
 * consumed only once the application is back in poll, so a batch still being processed is not committed
 * and not lost to the next owner). Written by the application thread, read by the background thread, which
 * can ask to be woken at the next entry.
 */
public final class PollTracker {

    private volatile long lastPollMs;
    private volatile long entries;
    private volatile boolean inPoll;
    private final AtomicBoolean wakeOnEntry = new AtomicBoolean();

    public PollTracker(long nowMs) {
        this.lastPollMs = nowMs;
    }

    /** Application thread: poll() begins. Returns whether the background thread waits for this (wake it). */
    public boolean enter(long nowMs) {
        lastPollMs = nowMs;
        entries++;
        inPoll = true;
        return wakeOnEntry.getAndSet(false);
    }

    /** Application thread: poll() returns; time spent inside it never counts against max.poll.interval.ms. */
    public void exit(long nowMs) {
        lastPollMs = nowMs;
        inPoll = false;
    }

    /** The time of the last entry into or exit from poll(). */
    public long lastPollMs() {
        return lastPollMs;
    }

    /** Whether the application is inside poll() now. */
    public boolean inPoll() {
        return inPoll;
    }

    /** How many times the application has entered poll(): a mark for {@link #enteredSince}. */
    public long entries() {
        return entries;
    }

    /** Whether the application is in poll() or has entered it since {@code mark} was taken from {@link #entries()}. */
    public boolean enteredSince(long mark) {
        return inPoll || entries != mark;
    }

    /**
     * Background thread: the next entry into poll() must wake it. Ask before reading {@link #entries()} or
     * {@link #inPoll()}: an entry those reads miss then sees the request.
     */
    public void requestWakeOnEntry() {
        wakeOnEntry.set(true);
    }
}
