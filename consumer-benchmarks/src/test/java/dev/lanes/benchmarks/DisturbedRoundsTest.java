package dev.lanes.benchmarks;

import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

class DisturbedRoundsTest {

    private static Map<String, Double> withSteal(double steal) {
        return Map.of(ResultTables.RECORDS_PER_S, 1_000_000.0, ResultTables.STEAL_PERCENT, steal);
    }

    @Test
    void aRoundUnderTheLimitIsKeptAtOnce() {
        DisturbedRounds rounds = new DisturbedRounds(5.0);
        assertThat(rounds.measureAgain("raw100 lanes round 1", withSteal(5.0), 0)).isFalse();
        assertThat(rounds.measureAgain("raw100 lanes round 2", Map.of(ResultTables.RECORDS_PER_S, 1.0), 0)).isFalse();
        assertThat(rounds.repeated()).isEmpty();
        assertThat(rounds.keptDisturbed()).isEmpty();
    }

    @Test
    void aDisturbedRoundIsMeasuredAgainAtMostTwiceAndThenKept() {
        DisturbedRounds rounds = new DisturbedRounds(5.0);

        assertThat(rounds.measureAgain("raw100 classic round 3", withSteal(26.0), 0)).isTrue();
        assertThat(rounds.measureAgain("raw100 classic round 3", withSteal(14.7), 1)).isTrue();
        assertThat(rounds.measureAgain("raw100 classic round 3", withSteal(9.0), 2)).isFalse();

        assertThat(rounds.repeated()).containsExactly("raw100 classic round 3 (steal 26.0%)", "raw100 classic round 3 (steal 14.7%)");
        assertThat(rounds.keptDisturbed()).containsExactly("raw100 classic round 3 (steal 9.0%)");
    }

    @Test
    void aLimitOfOneHundredNeverRepeats() {
        DisturbedRounds rounds = new DisturbedRounds(100.0);
        assertThat(rounds.measureAgain("raw100 async round 1", withSteal(60.0), 0)).isFalse();
        assertThat(rounds.repeated()).isEmpty();
    }
}
