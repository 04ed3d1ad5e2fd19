package dev.lanes.benchmarks;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Which measurements (a consumer's throughput round, the rate of a buffer-sweep step) to take again because
 * the machine was taken from under them. On a shared VM the hypervisor sometimes gives a quarter of the CPU
 * time to other guests for minutes at a time (steal); a round measured then reads up to half as fast and says
 * nothing about the consumer. Such a round is measured again right away, at most {@link #MAX_REPEATS} times;
 * the last measurement is kept even when it was disturbed too, so that a round is never lost, and every
 * repeat is listed with the results.
 */
final class DisturbedRounds {

    static final int MAX_REPEATS = 2;

    private final double maxStealPercent;
    private final List<String> repeated = new ArrayList<>();
    private final List<String> keptDisturbed = new ArrayList<>();

    /** @param maxStealPercent steal (percent of the machine's CPU time) above which a round is measured again */
    DisturbedRounds(double maxStealPercent) {
        this.maxStealPercent = maxStealPercent;
    }

    /**
     * Whether {@code measured} (attempt 0 being the first) is to be measured again; records the decision
     * under {@code what}. A measurement without a steal figure (not Linux) is always kept.
     */
    boolean measureAgain(String what, Map<String, Double> measured, int attempt) {
        Double steal = measured.get(ResultTables.STEAL_PERCENT);
        if (steal == null || steal.isNaN() || steal <= maxStealPercent) {
            return false;
        }
        String entry = String.format(Locale.ROOT, "%s (steal %.1f%%)", what, steal);
        if (attempt >= MAX_REPEATS) {
            keptDisturbed.add(entry);
            return false;
        }
        repeated.add(entry);
        return true;
    }

    double maxStealPercent() {
        return maxStealPercent;
    }

    /** Measurements discarded and taken again, in order. */
    List<String> repeated() {
        return repeated;
    }

    /** Measurements kept although disturbed, because their round had been measured again as often as allowed. */
    List<String> keptDisturbed() {
        return keptDisturbed;
    }
}
