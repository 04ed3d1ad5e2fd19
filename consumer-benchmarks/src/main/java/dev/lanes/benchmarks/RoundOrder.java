package dev.lanes.benchmarks;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * The order in which the consumers run in each round. Rotating one order is not enough: with three
 * consumers, each would always run right after the same other one (and inherit its garbage and its cache
 * state). So the first rounds rotate the order and the next ones rotate its reverse (a Williams design):
 * over {@code 2n} rounds every consumer follows every other one equally often, and over the first
 * {@code n} rounds every consumer runs once in every position.
 */
public final class RoundOrder {

    private RoundOrder() {
    }

    /** The consumers' order in round {@code round} (0-based). */
    public static <T> List<T> of(List<T> consumers, int round) {
        int n = consumers.size();
        if (n == 0) {
            return List.of();
        }
        int cycle = round % (2 * n);
        List<T> order = new ArrayList<>(consumers);
        if (cycle >= n) {
            Collections.reverse(order);
        }
        Collections.rotate(order, -(cycle % n));
        return order;
    }
}
