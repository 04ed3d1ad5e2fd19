package dev.lanes.benchmarks;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

class MachineCpuTest {

    @Test
    void stealIsAShareOfAllTicksAndBusyLeavesIdleAndStealOut() {
        MachineCpu.Snapshot before = MachineCpu.parse("cpu  1000 10 200 5000 40 0 30 20 0 0");
        MachineCpu.Snapshot after = MachineCpu.parse("cpu  1100 10 250 5130 50 0 40 40 0 0");

        MachineCpu.Between between = MachineCpu.between(before, after);

        // 100 user + 50 system + 10 softirq busy, 130 idle + 10 iowait, 20 steal: 320 ticks in all
        assertThat(between.busySeconds()).isCloseTo(1.6, within(1e-9));
        assertThat(between.stealPercent()).isCloseTo(100.0 * 20 / 320, within(1e-9));
        assertThat(between.iowaitPercent()).isCloseTo(100.0 * 10 / 320, within(1e-9));
    }

    @Test
    void anUnreadableLineIsUnknownAndGivesNoMeasurement() {
        MachineCpu.Snapshot unknown = MachineCpu.parse("intr 12345");
        assertThat(unknown.known()).isFalse();
        assertThat(MachineCpu.between(unknown, MachineCpu.parse("cpu 1 2 3 4 5 6 7 8 0 0"))).isNull();
    }
}
