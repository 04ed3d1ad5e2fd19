package dev.lanes.benchmarks;

/**
 * The longest stretch of a round in which the poll loop got no records, and how far into the round it fell. A
 * round that is slow at the same CPU per record, with fewer cores busy, waited on something: one long wait near the
 * end of the round points at the last partitions' fetches, one at the start at setting the consumer up, many short
 * ones at neither. Measured by the benchmark's own poll loop, the same way for every consumer.
 */
final class RecordGaps {

    private final long wanted;
    private long lastRecordsNanos;
    private long longestNanos;
    private double longestAtFraction;

    /** Starts timing at {@code startNanos}, the round's start: the wait for the first records counts as a gap. */
    RecordGaps(long startNanos, long wanted) {
        if (wanted <= 0) {
            throw new IllegalArgumentException("a round reads at least one record, not " + wanted);
        }
        this.wanted = wanted;
        this.lastRecordsNanos = startNanos;
    }

    /** A poll returned {@code records} (possibly none) at {@code nowNanos}, with {@code readBefore} read before it. */
    void polled(long nowNanos, int records, long readBefore) {
        if (records == 0) {
            return;
        }
        long gap = nowNanos - lastRecordsNanos;
        if (gap > longestNanos) {
            longestNanos = gap;
            longestAtFraction = Math.min(1.0, readBefore / (double) wanted);
        }
        lastRecordsNanos = nowNanos;
    }

    /** The longest time between two polls that returned records (from the round's start for the first), in ms. */
    double longestMillis() {
        return longestNanos / 1e6;
    }

    /** The records read before that longest wait, in percent of the round's records. */
    double longestAtPercent() {
        return longestAtFraction * 100;
    }
}
