package dev.lanes.consumer.internals.common;

/**
 * The source of time for the engine, injected so that tests control it instead of sleeping.
 * Deadlines are absolute values of {@link #milliseconds()}.
 */
public interface Clock {

    Clock SYSTEM = new Clock() {
        @Override
        public long milliseconds() {
            return System.currentTimeMillis();
        }

        @Override
        public long nanoseconds() {
            return System.nanoTime();
        }
    };

    long milliseconds();

    long nanoseconds();

    /** An absolute deadline {@code timeoutMs} from now, saturating instead of overflowing. */
    default long deadlineAfter(long timeoutMs) {
        long now = milliseconds();
        long deadline = now + Math.max(0, timeoutMs);
        return deadline < now ? Long.MAX_VALUE : deadline;
    }
}
