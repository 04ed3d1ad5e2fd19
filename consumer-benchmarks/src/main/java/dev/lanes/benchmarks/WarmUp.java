package dev.lanes.benchmarks;

/**
 * How many warm-up rounds a workload gets: the configured number, then more while the JIT compiler was still
 * busy in the last one. On two cores, compiling competes with a consumer that keeps both busy: in a fresh JVM
 * Lanes read the first workload at 8.0, 9.0, 10.5, 9.9 and 11.3 million records/s in five rounds after two
 * warm-up rounds, the JVM's CPU beyond the consumer's threads shrinking from round to round. A round is
 * quiet when no consumer's pass in it kept the compiler threads busy for more than {@link #QUIET_CORES} of a
 * core; at most {@link #MAX_EXTRA_ROUNDS} rounds are added, so that a JVM that never settles still measures.
 */
final class WarmUp {

    static final double QUIET_CORES = 0.05;
    static final int MAX_EXTRA_ROUNDS = 4;

    private final int configuredRounds;

    /** @param configuredRounds warm-up rounds always run ({@code --warmup-rounds}); 0 runs none at all */
    WarmUp(int configuredRounds) {
        this.configuredRounds = configuredRounds;
    }

    /**
     * Whether another warm-up round follows {@code round} (0 being the first), in which the compiler threads were
     * busy for at most {@code mostCompilingCores} of a core during any consumer's pass.
     */
    boolean another(int round, double mostCompilingCores) {
        if (configuredRounds == 0) {
            return false;
        }
        if (round + 1 < configuredRounds) {
            return true;
        }
        return mostCompilingCores > QUIET_CORES && round + 1 < configuredRounds + MAX_EXTRA_ROUNDS;
    }
}
