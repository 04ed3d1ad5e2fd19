package dev.lanes.spring;

/**
 * Handed to a listener method that declares it, to commit what the listener processed when it says so. With
 * commit mode {@link CommitMode#MANUAL} the acknowledged offsets are committed once the poll's records are
 * processed; with {@link CommitMode#MANUAL_IMMEDIATE} at once (from the listener thread; from another thread,
 * at the container's next loop). Acknowledging a record acknowledges the records before it in its partition;
 * acknowledging in a batch listener acknowledges the whole batch it got. A listener that takes an
 * Acknowledgment in another commit mode (where the container commits by itself) fails start-up. May be called
 * from any thread.
 */
@FunctionalInterface
public interface Acknowledgment {

    /** Marks the record (or batch) as processed, so that its offset is committed. */
    void acknowledge();
}
