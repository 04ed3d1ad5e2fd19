package dev.lanes.benchmarks;

import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

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
        assertThat(defaults.warmupRounds).isEqualTo(2);
        assertThat(defaults.records).isNull();
        assertThat(defaults.consumers).containsExactly(ConsumerKind.values());
        assertThat(defaults.workloadsToRun()).isEqualTo(Workload.ALL);
        assertThat(defaults.phases).containsExactlyElementsOf(ConsumerBenchmark.DEFAULT_PHASES)
                .doesNotContain(ConsumerBenchmark.PHASE_BUFFER_SWEEP);
        assertThat(defaults.bufferBoundsMib).containsExactly(4, 8, 16, 32, 64);
        assertThat(defaults.sweepConsumers).containsExactly(1, 3);

        Options quick = Options.parse("--quick", "--rounds", "2", "--records=1_000", "--consumers", "lanes,classic",
                "--phases", "throughput,idle");
        assertThat(quick.quick).isTrue();
        assertThat(quick.rounds).isEqualTo(2);
        assertThat(quick.records).isEqualTo(1_000);
        assertThat(quick.idleSeconds).isEqualTo(3);
        assertThat(quick.consumers).containsExactly(ConsumerKind.LANES, ConsumerKind.CLASSIC);
        assertThat(quick.phases).containsExactly("throughput", "idle");
        assertThat(quick.workloadsToRun()).allSatisfy(w -> assertThat(w.recordsPerRound()).isEqualTo(1_000));
    }

    @Test
    void parsesWorkloadsAndTheBufferSweep() {
        Options options = Options.parse("--workloads", "json256-lz4, RAW100", "--phases", "buffer-sweep",
                "--buffer-bounds", "8,64", "--sweep-consumers", "3", "--warmup-rounds", "0", "--records", "300");
        assertThat(options.workloads).extracting(Workload::name).containsExactly("json256-lz4", "raw100");
        assertThat(options.phases).containsExactly(ConsumerBenchmark.PHASE_BUFFER_SWEEP);
        assertThat(options.bufferBoundsMib).containsExactly(8, 64);
        assertThat(options.sweepConsumers).containsExactly(3);
        assertThat(options.warmupRounds).isZero();
        Workload lz4 = options.workloadsToRun().get(0);
        assertThat(lz4.recordsPerRound()).isEqualTo(300);
        assertThat(lz4.datasetRecords()).isEqualTo(300);
        assertThat(lz4.compression()).isEqualTo("lz4");
        assertThat(lz4.valueBytes()).isEqualTo(256);
        assertThat(lz4.json()).isTrue();
    }

    @Test
    void rejectsUnknownWorkloadsAndBadLists() {
        assertThatThrownBy(() -> Options.parse("--workloads", "json256-brotli")).hasMessageContaining("unknown workload json256-brotli");
        assertThatThrownBy(() -> Options.parse("--buffer-bounds", "8,0")).hasMessageContaining("must be positive");
        assertThatThrownBy(() -> Options.parse("--warmup-rounds", "-1")).hasMessageContaining("must not be negative");
    }

    @Test
    void parsesTheClusterSize() {
        assertThat(Options.parse().brokers).isEqualTo(1);
        assertThat(Options.parse("--brokers", "3").brokers).isEqualTo(3);
        assertThatThrownBy(() -> Options.parse("--brokers", "0")).hasMessageContaining("--brokers must be positive, was 0");
        assertThatThrownBy(() -> Options.parse("--brokers", "7"))
                .hasMessageContaining("--brokers must be at most 6 (a topic has 6 partitions, one broker each at most), was 7");
    }

    @Test
    void parsesSettingsForLanesAloneAndForEveryConsumer() {
        Options options = Options.parse("--lanes-settings", "lanes.decode.ahead=false",
                "--consumer-settings", "receive.buffer.bytes=1048576, fetch.max.bytes = 8388608");
        assertThat(options.lanesSettings).containsExactly(Map.entry("lanes.decode.ahead", "false"));
        assertThat(options.consumerSettings).containsExactly(Map.entry("receive.buffer.bytes", "1048576"),
                Map.entry("fetch.max.bytes", "8388608"));
        assertThatThrownBy(() -> Options.parse("--consumer-settings", "receive.buffer.bytes"))
                .hasMessageContaining("--consumer-settings takes KEY=VALUE entries: receive.buffer.bytes");
    }

    @Test
    void rejectsUnknownOptions() {
        assertThatThrownBy(() -> Options.parse("--bogus", "1")).hasMessageContaining("unknown option --bogus");
        assertThatThrownBy(() -> Options.parse("--phases", "nope")).hasMessageContaining("unknown phase");
        assertThatThrownBy(() -> Options.parse("--rounds", "0")).hasMessageContaining("must be positive");
        assertThat(Options.parse().maxStealPercent).isEqualTo(5.0);
        assertThat(Options.parse("--max-steal-percent", "12.5").maxStealPercent).isEqualTo(12.5);
        assertThatThrownBy(() -> Options.parse("--max-steal-percent", "150"))
                .hasMessageContaining("--max-steal-percent must be a number from 0 to 100, not 150");
        assertThatThrownBy(() -> Options.parse("--max-steal-percent", "lots")).hasMessageContaining("not lots");
    }

    @Test
    void summarizesRoundsWithSpreadAroundTheMedian() {
        Stats.Summary summary = Stats.summary(Arrays.asList(100.0, 90.0, 115.0, Double.NaN));
        assertThat(summary.median()).isEqualTo(100.0);
        assertThat(summary.min()).isEqualTo(90.0);
        assertThat(summary.max()).isEqualTo(115.0);
        assertThat(summary.count()).isEqualTo(3);
        assertThat(summary.spreadPercent()).isCloseTo(15.0, within(1e-9));
        assertThat(summary.spreadExceeds(10)).isTrue();
        assertThat(Stats.summary(List.of(100.0, 95.0, 104.0)).spreadExceeds(10)).isFalse();
        assertThat(Stats.summary(List.of()).spreadPercent()).isNaN();
        Stats.Summary fiveRounds = Stats.summary(List.of(100.0, 60.0, 102.0, 97.0, 130.0));
        assertThat(fiveRounds.lowerQuartile()).isEqualTo(97.0);
        assertThat(fiveRounds.upperQuartile()).isEqualTo(102.0);
        assertThat(fiveRounds.spreadPercent()).isCloseTo(40.0, within(1e-9));
        assertThat(fiveRounds.interquartileSpreadPercent()).isCloseTo(3.0, within(1e-9));
        assertThat(Stats.ratio(150, 100)).isEqualTo(1.5);
        assertThat(Stats.ratio(1, 0)).isNaN();
        assertThat(Stats.ratio(Double.NaN, 1)).isNaN();
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
