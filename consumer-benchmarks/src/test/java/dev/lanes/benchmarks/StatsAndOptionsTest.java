package dev.lanes.benchmarks;

import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Fast checks of the benchmark's arithmetic and option parsing; the benchmark itself is run by hand. */
class StatsAndOptionsTest {

    @Test
    void percentilesUseNearestRank() {
        double[] values = new double[100];
        for (int i = 0; i < 100; i++) {
            values[i] = 100 - i; // unsorted on purpose
        }
        assertThat(Stats.percentile(values, 50)).isEqualTo(50.0);
        assertThat(Stats.percentile(values, 99)).isEqualTo(99.0);
        assertThat(Stats.percentile(values, 100)).isEqualTo(100.0);
        assertThat(Stats.percentile(new double[] {7}, 99)).isEqualTo(7.0);
        assertThat(Stats.percentile(new double[0], 50)).isNaN();
        assertThat(Stats.max(new double[] {1, 5, 3})).isEqualTo(5.0);
    }

    @Test
    void medianSkipsFailedRuns() {
        assertThat(Stats.median(List.of(3.0, 1.0, 2.0))).isEqualTo(2.0);
        assertThat(Stats.median(List.of(4.0, 1.0, 2.0, 3.0))).isEqualTo(2.5);
        assertThat(Stats.median(Arrays.asList(1.0, Double.NaN, 3.0))).isEqualTo(2.0);
        assertThat(Stats.median(List.of())).isNaN();
    }

    @Test
    void samplesGrow() {
        Stats.Samples samples = new Stats.Samples();
        for (int i = 0; i < 5000; i++) {
            samples.add(i);
        }
        assertThat(samples.size()).isEqualTo(5000);
        assertThat(samples.toArray()[4999]).isEqualTo(4999.0);
    }

    @Test
    void parsesOptionsWithQuickDefaultsAndOverrides() {
        Options defaults = Options.parse();
        assertThat(defaults.rounds).isEqualTo(3);
        assertThat(defaults.records).isEqualTo(2_000_000);
        assertThat(defaults.consumers).containsExactly(ConsumerKind.values());

        Options quick = Options.parse("--quick", "--rounds", "2", "--records=1_000", "--consumers", "lanes,classic",
                "--phases", "throughput,idle");
        assertThat(quick.quick).isTrue();
        assertThat(quick.rounds).isEqualTo(2);
        assertThat(quick.records).isEqualTo(1_000);
        assertThat(quick.idleSeconds).isEqualTo(3);
        assertThat(quick.consumers).containsExactly(ConsumerKind.LANES, ConsumerKind.CLASSIC);
        assertThat(quick.phases).containsExactly("throughput", "idle");
    }

    @Test
    void rejectsUnknownOptions() {
        assertThatThrownBy(() -> Options.parse("--bogus", "1")).hasMessageContaining("unknown option --bogus");
        assertThatThrownBy(() -> Options.parse("--phases", "nope")).hasMessageContaining("unknown phase");
        assertThatThrownBy(() -> Options.parse("--rounds", "0")).hasMessageContaining("must be positive");
    }

    @Test
    void formatsNumbersForTheTable() {
        assertThat(ConsumerBenchmark.format(1_234_567.8)).isEqualTo("1,234,568");
        assertThat(ConsumerBenchmark.format(123.45)).isEqualTo("123.5");
        assertThat(ConsumerBenchmark.format(12.345)).isEqualTo("12.35");
        assertThat(ConsumerBenchmark.format(0.1234)).isEqualTo("0.123");
        assertThat(ConsumerBenchmark.format(Double.NaN)).isEqualTo("n/a");
    }
}
