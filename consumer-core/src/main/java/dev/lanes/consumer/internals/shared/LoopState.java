package dev.lanes.consumer.internals.shared;

/**
 * The background thread's life, changed by compare-and-set: the application thread moves it from NOT_STARTED to
 * RUNNING and asks for CLOSING; the background thread ends it in TERMINATED or FAILED. Any thread reads it.
 */
public enum LoopState {
    NOT_STARTED,
    RUNNING,
    /** A close was asked for: no new work, in-flight work is flushed until the close deadline. */
    CLOSING,
    /** Ended normally after a close. */
    TERMINATED,
    /** Ended because the thread died; {@link BackgroundHandle#failure()} says why. */
    FAILED
}
