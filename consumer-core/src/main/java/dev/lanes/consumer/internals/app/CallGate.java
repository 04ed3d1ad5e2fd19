package dev.lanes.consumer.internals.app;

import java.util.function.Supplier;
import dev.lanes.consumer.ConsumerClosedException;
import dev.lanes.consumer.internals.common.ApplicationThreadGuard;
import dev.lanes.consumer.internals.shared.BackgroundHandle;
import org.apache.kafka.common.errors.WakeupException;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The way into the consumer: one application thread at a time (R8), only while the consumer is open and its
 * background thread alive (R10), and the {@code wakeup()} that any thread may use to get that application
 * thread out of a blocking call.
 *
 * <p>Called from the application thread, except {@link #wakeup()} and {@link #isClosed()} (any thread).
 */
public final class CallGate {

    private final ApplicationThreadGuard guard = new ApplicationThreadGuard();
    private final String clientId;
    private final BackgroundHandle background;
    private final Runnable wakePoll;
    private final AtomicBoolean wakeupPending = new AtomicBoolean();
    /** The future a blocking call waits for, which a wakeup completes with WakeupException. */
    private final AtomicReference<CompletableFuture<?>> awaiting = new AtomicReference<>();
    private volatile boolean closed;
    /** Set when close starts, before {@link #closed}; application thread only. */
    private boolean closing;

    /**
     * @param background whose death closes the consumer
     * @param wakePoll   ends a poll's wait for records (a wakeup)
     */
    public CallGate(String clientId, BackgroundHandle background, Runnable wakePoll) {
        this.clientId = clientId;
        this.background = background;
        this.wakePoll = wakePoll;
    }

    /** Lets the calling thread in, if the consumer is open; pair with {@link #exit()}. */
    public void enter() {
        guard.acquire();
        try {
            ensureOpen();
        } catch (RuntimeException e) {
            guard.release();
            throw e;
        }
    }

    /** Runs {@code call} inside the gate: {@link #enter()}, the call, {@link #exit()} whatever happens. */
    public <T> T call(Supplier<T> call) {
        enter();
        try {
            return call.get();
        } finally {
            exit();
        }
    }

    /** Runs {@code action} inside the gate, as {@link #call} does. */
    public void run(Runnable action) {
        enter();
        try {
            action.run();
        } finally {
            exit();
        }
    }

    /** Lets the calling thread in even if the consumer is closed (close itself); pair with {@link #exit()}. */
    public void enterEvenIfClosed() {
        guard.acquire();
    }

    public void exit() {
        guard.release();
    }

    /** Throws if the application closed the consumer or its background thread died, saying why. */
    public void ensureOpen() {
        if (closed) {
            throw new IllegalStateException("This consumer has already been closed.");
        }
        Throwable failure = background.failure();
        if (failure != null) {
            throw new ConsumerClosedException("The consumer " + clientId + " is closed because its background thread died: "
                    + failure, failure);
        }
    }

    /** Starts closing; false if close already ran or is running (a close called from a callback). */
    public boolean startClosing() {
        if (closed || closing) {
            return false;
        }
        closing = true;
        return true;
    }

    /** From here on, every call but close throws IllegalStateException. */
    public void markClosed() {
        closed = true;
    }

    /** Whether the application closed the consumer. Any thread. */
    public boolean isClosed() {
        return closed;
    }

    // ---- wakeup

    /** Makes the blocking call in progress, or else the next one, throw WakeupException. Any thread. */
    public void wakeup() {
        wakeupPending.set(true);
        CompletableFuture<?> current = awaiting.get();
        if (current != null) {
            current.completeExceptionally(new WakeupException());
        }
        wakePoll.run();
    }

    /** Throws WakeupException if a wakeup is pending, and clears it. */
    public void throwIfWakeupPending() {
        if (wakeupPending.getAndSet(false)) {
            throw new WakeupException();
        }
    }

    /** A blocking call waits for {@code future} now: a wakeup completes it. */
    void awaiting(CompletableFuture<?> future) {
        awaiting.set(future);
    }

    /** The blocking call stopped waiting. */
    void doneAwaiting() {
        awaiting.set(null);
    }

    /** A WakeupException was thrown for the pending wakeup: it is used up. */
    void wakeupDelivered() {
        wakeupPending.set(false);
    }
}
