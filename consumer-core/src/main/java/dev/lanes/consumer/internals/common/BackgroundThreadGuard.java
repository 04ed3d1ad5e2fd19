package dev.lanes.consumer.internals.common;

/**
 * Knows the background thread, so that code which must run on it can say so (netty's
 * {@code inEventLoop()}). Before the thread starts, the thread that drives the loop directly (an engine
 * test calling {@code runOnce()}) is accepted.
 */
public final class BackgroundThreadGuard {

    private volatile Thread thread;

    /** Binds the guard to the calling thread; called once, first thing on the background thread. */
    public void bindToCurrentThread() {
        thread = Thread.currentThread();
    }

    public boolean inBackgroundThread() {
        Thread bound = thread;
        return bound == null || bound == Thread.currentThread();
    }

    /** Fails fast when called from any other thread than the background thread. */
    public void ensureBackgroundThread(String operation) {
        if (!inBackgroundThread()) {
            throw new IllegalStateException(operation + " must run on the background thread "
                    + thread.getName() + ", not on " + Thread.currentThread().getName());
        }
    }

    /** Fails fast when blocking code is entered from the background thread, which must never block. */
    public void ensureNotBackgroundThread(String operation) {
        Thread bound = thread;
        if (bound == Thread.currentThread()) {
            throw new IllegalStateException(operation + " blocks and must not be called from the background thread "
                    + bound.getName());
        }
    }
}
