package dev.lanes.consumer.internals.shared;

import dev.lanes.consumer.internals.background.NetworkThread;

/** The background thread's life, changed by compare-and-set. */
public enum LoopState {
    NOT_STARTED,
    RUNNING,
    /** A close was asked for: no new work, in-flight work is flushed until the close deadline. */
    CLOSING,
    /** Ended normally after a close. */
    TERMINATED,
    /** Ended because the thread died; {@link NetworkThread#failure()} says why. */
    FAILED
}
