package dev.lanes.benchmarks;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

class MeasuredSpanTest {

    @Test
    void figuresBecomeCpuPerMillionRecordsAndSharesOfTheMachine() {
        // 2 s of wall time; the JVM used 1.5 s and the broker 0.5 s of CPU; the machine 2.4 s busy in all
        MachineCpu.Between machine = new MachineCpu.Between(3.0, 0.5, 2.4);
        MeasuredSpan.Figures figures = new MeasuredSpan.Figures(2_000_000_000L, 1_500_000_000L, 500_000_000L, machine, 0.02);
        Map<String, Double> result = new LinkedHashMap<>();

        figures.addTo(result, 4_000_000);

        assertThat(result.get(ResultTables.JVM_CPU)).isCloseTo(0.375, within(1e-9));
        assertThat(result.get(ResultTables.BROKER_CPU)).isCloseTo(0.125, within(1e-9));
        assertThat(result.get(ResultTables.CORES_BUSY)).isCloseTo(1.0, within(1e-9));
        assertThat(result.get(ResultTables.OTHER_CORES)).isCloseTo(0.2, within(1e-9));
        assertThat(result.get(ResultTables.STEAL_PERCENT)).isEqualTo(3.0);
        assertThat(result.get(ResultTables.IOWAIT_PERCENT)).isEqualTo(0.5);
        assertThat(result.get(ResultTables.JIT_CORES)).isEqualTo(0.02);
    }

    @Test
    void whatThePlatformDoesNotReportIsLeftOutRatherThanWrittenAsZero() {
        MeasuredSpan.Figures figures = new MeasuredSpan.Figures(1_000_000_000L, -1, -1, null, Double.NaN);
        Map<String, Double> result = new LinkedHashMap<>();

        figures.addTo(result, 1_000_000);

        assertThat(result).isEmpty();
    }

    @Test
    void aSpanAroundWorkMeasuresItsWallTimeAndThisJvmsCpu() {
        ProcessCpu processCpu = new ProcessCpu(List.of(ProcessHandle.current().pid()));
        MeasuredSpan span = MeasuredSpan.start(processCpu);
        long spinUntil = System.nanoTime() + 50_000_000L;
        long spins = 0;
        while (System.nanoTime() < spinUntil) {
            spins++;
        }
        MeasuredSpan.Figures figures = span.stop();

        assertThat(spins).isPositive();
        assertThat(figures.elapsedNanos()).isGreaterThanOrEqualTo(50_000_000L);
        if (figures.jvmNanos() >= 0) { // reported on Linux
            assertThat(figures.jvmNanos()).isPositive();
        }
    }
}
