package dev.lanes.benchmarks;

import java.util.Arrays;
import java.util.Collection;

/** Percentiles and medians over plain arrays (nearest-rank, no interpolation). */
public final class Stats {

    private Stats() {
    }

    /** The {@code p}-th percentile (0..100) of {@code values} by nearest rank; NaN when empty. */
    public static double percentile(double[] values, double p) {
        if (values.length == 0) {
            return Double.NaN;
        }
        double[] sorted = values.clone();
        Arrays.sort(sorted);
        return percentileOfSorted(sorted, p);
    }

    static double percentileOfSorted(double[] sorted, double p) {
        if (sorted.length == 0) {
            return Double.NaN;
        }
        int rank = (int) Math.ceil(p / 100.0 * sorted.length);
        int index = Math.min(sorted.length - 1, Math.max(0, rank - 1));
        return sorted[index];
    }

    public static double max(double[] values) {
        return values.length == 0 ? Double.NaN : Arrays.stream(values).max().getAsDouble();
    }

    /** Median of the finite values (NaN entries are failed runs and are left out); NaN when none. */
    public static double median(Collection<Double> values) {
        double[] finite = values.stream().filter(v -> v != null && !v.isNaN() && !v.isInfinite())
                .mapToDouble(Double::doubleValue).sorted().toArray();
        if (finite.length == 0) {
            return Double.NaN;
        }
        int middle = finite.length / 2;
        return finite.length % 2 == 1 ? finite[middle] : (finite[middle - 1] + finite[middle]) / 2;
    }

    /**
     * Median, min, max and quartiles of a set of rounds (NaN entries, failed runs, left out).
     *
     * @param lowerQuartile the 25th percentile by nearest rank: with five rounds, the second lowest
     * @param upperQuartile the 75th percentile by nearest rank: with five rounds, the second highest
     * @param count the number of finite values
     */
    public record Summary(double median, double min, double max, double lowerQuartile, double upperQuartile, int count) {

        /** Half-width of the spread around the median, in percent: the larger of max and min's distance to it. */
        public double spreadPercent() {
            return halfWidthPercent(min, max);
        }

        /**
         * The same for the middle half of the rounds (the quartiles): how far the typical round strays, where
         * {@link #spreadPercent()} is set by the single most disturbed one.
         */
        public double interquartileSpreadPercent() {
            return halfWidthPercent(lowerQuartile, upperQuartile);
        }

        /** Whether the rounds spread more than {@code percent} around the median. */
        public boolean spreadExceeds(double percent) {
            return spreadPercent() > percent;
        }

        private double halfWidthPercent(double low, double high) {
            if (count == 0 || median == 0) {
                return Double.NaN;
            }
            return Math.max(high - median, median - low) / Math.abs(median) * 100.0;
        }
    }

    public static Summary summary(Collection<Double> values) {
        double[] finite = values.stream().filter(v -> v != null && !v.isNaN() && !v.isInfinite())
                .mapToDouble(Double::doubleValue).sorted().toArray();
        if (finite.length == 0) {
            return new Summary(Double.NaN, Double.NaN, Double.NaN, Double.NaN, Double.NaN, 0);
        }
        return new Summary(median(values), finite[0], finite[finite.length - 1], percentileOfSorted(finite, 25),
                percentileOfSorted(finite, 75), finite.length);
    }

    /** {@code value / reference}; NaN when either is missing or the reference is zero. */
    public static double ratio(double value, double reference) {
        double ratio = value / reference;
        return Double.isInfinite(ratio) ? Double.NaN : ratio;
    }

    /** A growable array of doubles, so that sampling loops do not box. */
    public static final class Samples {
        private double[] values = new double[1024];
        private int size;

        public void add(double value) {
            if (size == values.length) {
                values = Arrays.copyOf(values, size * 2);
            }
            values[size++] = value;
        }

        public int size() {
            return size;
        }

        public double[] toArray() {
            return Arrays.copyOf(values, size);
        }
    }
}
