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
