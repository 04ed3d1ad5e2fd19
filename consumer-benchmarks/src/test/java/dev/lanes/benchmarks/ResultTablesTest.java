package dev.lanes.benchmarks;

import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

class ResultTablesTest {

    private static Map<String, Double> run(double rate, double appCpu, double consumerCpu) {
        return Map.of(ResultTables.RECORDS_PER_S, rate, ResultTables.MB_PER_S, rate / 10_000, ResultTables.SECONDS, 3_000_000 / rate,
                ResultTables.APP_CPU, appCpu, ResultTables.CONSUMER_CPU, consumerCpu);
    }

    @Test
    void throughputRowsGiveMediansSpreadAndRatiosAgainstClassic() {
        ResultTables results = new ResultTables();
        results.addThroughput("json256-lz4", ConsumerKind.CLASSIC, run(1_000_000, 0.50, 0.60));
        results.addThroughput("json256-lz4", ConsumerKind.CLASSIC, run(1_020_000, 0.50, 0.60));
        results.addThroughput("json256-lz4", ConsumerKind.CLASSIC, run(980_000, 0.50, 0.60));
        results.addThroughput("json256-lz4", ConsumerKind.LANES, run(1_500_000, 0.25, 0.63));
        results.addThroughput("json256-lz4", ConsumerKind.LANES, run(1_200_000, 0.25, 0.63));
        results.addThroughput("json256-lz4", ConsumerKind.LANES, run(1_550_000, 0.25, 0.63));

        String table = results.throughputTable(List.of(Workload.named("json256-lz4"), Workload.named("raw100")),
                List.of(ConsumerKind.LANES, ConsumerKind.CLASSIC, ConsumerKind.ASYNC)).render();

        List<String> lines = table.lines().toList();
        assertThat(lines).hasSize(4); // header, rule, Lanes, Classic; nothing for async or raw100
        assertThat(lines.get(1)).startsWith("|:--").endsWith(":|");
        assertThat(cells(lines.get(0))).containsExactly("Workload", "Consumer", "rec/s median", "min", "max", "spread", "IQR spread",
                "round s", "rec/s vs Classic", "MB/s", "app CPU s/1M", "consumer CPU s/1M", "app CPU vs Classic", "consumer CPU vs Classic");
        assertThat(cells(lines.get(2))).containsExactly("json256-lz4", "Lanes", "1,500,000", "1,200,000", "1,550,000",
                "**±20.0%**", "±20.0%", "2.00", "1.50x", "150.0", "0.250", "0.630", "0.50x", "1.05x");
        assertThat(cells(lines.get(3))).containsExactly("json256-lz4", "Classic", "1,000,000", "980,000", "1,020,000",
                "±2.0%", "±2.0%", "3.00", "1.00x", "100.0", "0.500", "0.600", "1.00x", "1.00x");
        assertThat(results.noisyThroughput()).containsExactly("json256-lz4 lanes (±20.0%)");
    }

    @Test
    void noisyRowsNameWhatTheMachineDidDuringTheirSlowestRound() {
        ResultTables results = new ResultTables();
        // rate, steal, other processes, iowait, JIT, cores busy, longest wait ms, at percent
        double[][] rounds = {{1_000_000, 1.0, 0.02, 0.0, 0.01, 1.90, 40, 0}, {700_000, 9.5, 0.80, 4.0, 0.35, 1.45, 820, 97},
                {1_050_000, 1.5, 0.04, 0.1, 0.0, 1.91, 35, 0}, {990_000, 2.0, 0.03, 0.0, 0.02, 1.88, 60, 95},
                {1_010_000, 0.5, 0.01, 0.2, 0.0, 1.89, 45, 0}};
        for (double[] round : rounds) {
            Map<String, Double> measured = new java.util.HashMap<>(run(round[0], 0.25, 0.63));
            measured.put(ResultTables.STEAL_PERCENT, round[1]);
            measured.put(ResultTables.OTHER_CORES, round[2]);
            measured.put(ResultTables.IOWAIT_PERCENT, round[3]);
            measured.put(ResultTables.JIT_CORES, round[4]);
            measured.put(ResultTables.CORES_BUSY, round[5]);
            measured.put(ResultTables.LONGEST_WAIT_MS, round[6]);
            measured.put(ResultTables.LONGEST_WAIT_AT_PERCENT, round[7]);
            results.addThroughput("raw100", ConsumerKind.LANES, measured);
        }

        assertThat(results.noisyThroughput()).containsExactly("raw100 lanes (±30.0%; slowest round: steal 9.5% (median 1.5%), "
                + "iowait 4.0% (median 0.1%), other processes 0.80 cores (median 0.03), JIT compiling 0.35 cores (median 0.01), "
                + "cores busy 1.45 (median 1.89), longest wait for records 820 ms at 97% of the round (median 45 ms), "
                + "consumer CPU per record +0.0% against its median)");
        // The middle three rounds stay within 1% of the median: the one disturbed round sets the full spread alone.
        String row = results.throughputTable(List.of(Workload.named("raw100")), List.of(ConsumerKind.LANES)).render()
                .lines().toList().get(2);
        assertThat(cells(row)).containsSubsequence("**±30.0%**", "±1.0%");
    }

    @Test
    void aFastRoundThatSetsTheSpreadIsNamedWithTheOtherConsumersCpuInTheSameRound() {
        ResultTables results = new ResultTables();
        // Round 3 ran faster for both consumers: each spent less CPU on the same records.
        double[][] lanes = {{4_000_000, 0.44}, {3_950_000, 0.445}, {4_480_000, 0.396}, {4_050_000, 0.44}, {3_900_000, 0.45}};
        double[][] classic = {{2_000_000, 0.48}, {1_980_000, 0.485}, {2_140_000, 0.4464}, {2_010_000, 0.47}, {1_990_000, 0.49}};
        for (int round = 0; round < lanes.length; round++) {
            results.addThroughput("json256-zstd", ConsumerKind.LANES, quietRound(lanes[round][0], lanes[round][1]));
            results.addThroughput("json256-zstd", ConsumerKind.CLASSIC, quietRound(classic[round][0], classic[round][1]));
        }

        assertThat(results.noisyThroughput()).containsExactly("json256-zstd lanes (±12.0%; fastest round: steal 0.1% (median 0.1%), "
                + "iowait 0.0% (median 0.0%), other processes 0.00 cores (median 0.00), consumer CPU per record -10.0% against "
                + "its median (same round: classic -7.0%))");
    }

    private static Map<String, Double> quietRound(double rate, double consumerCpu) {
        Map<String, Double> measured = new java.util.HashMap<>(run(rate, consumerCpu / 2, consumerCpu));
        measured.put(ResultTables.STEAL_PERCENT, 0.1);
        measured.put(ResultTables.OTHER_CORES, 0.0);
        measured.put(ResultTables.IOWAIT_PERCENT, 0.0);
        return measured;
    }

    @Test
    void sweepRowsCompareEachBoundWithTheBestOfItsGroup() {
        ResultTables results = new ResultTables();
        results.addSweep(new ResultTables.SweepKey("raw1k", 1, 64), Map.of(ResultTables.RECORDS_PER_S, 100.0,
                ResultTables.RETAINED_MB, 70.0, ResultTables.BUFFER_PEAK_MB, 64.0));
        results.addSweep(new ResultTables.SweepKey("raw1k", 1, 4), Map.of(ResultTables.RECORDS_PER_S, 80.0,
                ResultTables.RETAINED_MB, 9.0, ResultTables.BUFFER_PEAK_MB, 4.0));
        results.addSweep(new ResultTables.SweepKey("raw1k", 3, 4), Map.of(ResultTables.RECORDS_PER_S, 120.0,
                ResultTables.RETAINED_MB, 20.0, ResultTables.BUFFER_PEAK_MB, 12.0));

        List<String> lines = results.sweepTable().render().lines().toList();

        assertThat(lines).hasSize(5);
        assertThat(cells(lines.get(2))).containsExactly("raw1k", "1", "4", "80.00", "n/a", "n/a", "0.80x", "9.00", "4.00", "n/a", "n/a");
        assertThat(cells(lines.get(3))).containsExactly("raw1k", "1", "64", "100.0", "n/a", "n/a", "1.00x", "70.00", "64.00", "n/a", "n/a");
        assertThat(cells(lines.get(4))).containsExactly("raw1k", "3", "4", "120.0", "n/a", "n/a", "1.00x", "20.00", "12.00", "n/a", "n/a");
    }

    private static List<String> cells(String line) {
        return Arrays.stream(line.substring(1, line.length() - 1).split("\\|")).map(String::trim).toList();
    }

    @Test
    void markdownGoesNextToTheJson() {
        assertThat(ConsumerBenchmark.markdownPath(Path.of("out", "results.json"))).isEqualTo(Path.of("out", "results.md"));
        assertThat(ConsumerBenchmark.markdownPath(Path.of("results"))).isEqualTo(Path.of("results.md"));
    }
}
