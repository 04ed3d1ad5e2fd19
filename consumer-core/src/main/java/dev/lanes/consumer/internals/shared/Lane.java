package dev.lanes.consumer.internals.shared;

import dev.lanes.consumer.internals.common.Clock;
import dev.lanes.consumer.internals.events.ApplicationEvent;

import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * A bounded queue of events from the application thread to the background thread.
 *
 * <p>The rejection policy lives here and only here: {@link #offer} refuses at once when the lane is
 * full, {@link #offer(ApplicationEvent, long)} waits for room until an absolute deadline. Any thread may
 * offer; only the background thread drains.
 */
public final class Lane {

    private final LaneName name;
    private final int capacity;
    private final ArrayBlockingQueue<ApplicationEvent<?>> queue;
    private final Clock clock;

    public Lane(LaneName name, int capacity, Clock clock) {
        if (capacity < 1) {
            throw new IllegalArgumentException("lane capacity must be at least 1, was " + capacity);
        }
        this.name = name;
        this.capacity = capacity;
        this.queue = new ArrayBlockingQueue<>(capacity);
        this.clock = clock;
    }

    /** Adds the event if there is room; returns false at once when the lane is full. */
    public boolean offer(ApplicationEvent<?> event) {
        event.markEnqueued(clock.nanoseconds());
        return queue.offer(event);
    }

    /**
     * Adds the event, waiting for room until {@code deadlineMs}. Returns false if the deadline passed
     * first. Blocking callers use this so that a full lane slows them down instead of failing them.
     */
    public boolean offer(ApplicationEvent<?> event, long deadlineMs) throws InterruptedException {
        event.markEnqueued(clock.nanoseconds());
        if (queue.offer(event)) {
            return true;
        }
        long waitMs = deadlineMs - clock.milliseconds();
        return waitMs > 0 && queue.offer(event, waitMs, TimeUnit.MILLISECONDS);
    }

    /** Moves at most {@code max} events into {@code sink}, oldest first. Background thread only. */
    public int drainTo(List<? super ApplicationEvent<?>> sink, int max) {
        return queue.drainTo(sink, max);
    }

    public boolean isEmpty() {
        return queue.isEmpty();
    }

    public int size() {
        return queue.size();
    }

    public int capacity() {
        return capacity;
    }

    public LaneName name() {
        return name;
    }
}
