package dev.lanes.consumer.internals.common;

import java.util.ConcurrentModificationException;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Detects a second thread entering the consumer while another is inside it (R8), the way
 * KafkaConsumer does: the consumer is not thread-safe, so a concurrent call is refused with
 * {@link ConcurrentModificationException} instead of corrupting state. Re-entry from the owning thread
 * (a callback calling back into the consumer) is allowed. {@code wakeup()} does not use the guard.
 */
public final class ApplicationThreadGuard {

    private static final long NO_OWNER = -1L;

    private final AtomicLong owner = new AtomicLong(NO_OWNER);
    private int depth;

    public void acquire() {
        long current = Thread.currentThread().getId();
        if (owner.get() != current && !owner.compareAndSet(NO_OWNER, current)) {
            throw new ConcurrentModificationException(
                    "LanesConsumer is not safe for multi-threaded access: thread " + Thread.currentThread().getName()
                            + " called it while thread id " + owner.get() + " is using it");
        }
        depth++;
    }

    public void release() {
        if (--depth == 0) {
            owner.set(NO_OWNER);
        }
    }
}
