package dev.lanes.consumer.internals.app;

import dev.lanes.consumer.internals.shared.BackgroundHandle;

/**
 * Wakes the background thread on behalf of a part that must exist before that thread is built (the fetch
 * buffer, which the thread is built with, wakes it when the application frees room). Bound once, by the
 * consumer's constructor, before the thread starts; until then a wakeup has nobody to wake and does nothing.
 */
public final class BackgroundWakeup implements Runnable {

    private volatile BackgroundHandle background;

    /** Names the thread to wake. Called once, from the consumer's constructor. */
    public void bind(BackgroundHandle background) {
        if (this.background != null) {
            throw new IllegalStateException("The background thread to wake is already bound");
        }
        this.background = background;
    }

    /** Any thread. */
    @Override
    public void run() {
        BackgroundHandle bound = background;
        if (bound != null) {
            bound.wakeup();
        }
    }
}
