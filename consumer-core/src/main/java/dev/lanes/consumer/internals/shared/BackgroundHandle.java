package dev.lanes.consumer.internals.shared;

/**
 * What the application thread may do with the background thread without depending on its code: start it,
 * wake it, ask how it is, wait for it to end. The background loop implements it; any thread may call it
 * unless a method says otherwise.
 */
public interface BackgroundHandle {

    /** Starts the thread. Called once, from the application thread. */
    void start();

    /** Makes the thread look at its work again: wakes it if it is blocked, or keeps it from blocking next. */
    void wakeup();

    LoopState state();

    /** Why the thread died, or null. */
    Throwable failure();

    /** Waits for the thread to end, up to {@code timeoutMs}; true if it ended. Never from the thread itself. */
    boolean join(long timeoutMs) throws InterruptedException;

    boolean isAlive();

    String threadName();

    /** Requests waiting for their broker's connection (a gauge). */
    int unsentRequests();
}
