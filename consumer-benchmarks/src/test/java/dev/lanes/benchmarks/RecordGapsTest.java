package dev.lanes.benchmarks;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class RecordGapsTest {

    private static final long MS = 1_000_000L;

    @Test
    void theLongestStretchWithoutRecordsAndWhereInTheRoundItFell() {
        RecordGaps gaps = new RecordGaps(0, 1_000);
        gaps.polled(40 * MS, 100, 0);     // the first records after 40 ms
        gaps.polled(45 * MS, 200, 100);
        gaps.polled(145 * MS, 0, 300);    // empty polls do not end a wait
        gaps.polled(245 * MS, 0, 300);
        gaps.polled(545 * MS, 600, 300);  // 500 ms without records, 30% into the round
        gaps.polled(550 * MS, 100, 900);

        assertThat(gaps.longestMillis()).isEqualTo(500.0);
        assertThat(gaps.longestAtPercent()).isEqualTo(30.0);
    }

    @Test
    void theWaitForTheFirstRecordsCountsFromTheRoundsStart() {
        RecordGaps gaps = new RecordGaps(10 * MS, 50);
        gaps.polled(20 * MS, 0, 0);
        gaps.polled(1_210 * MS, 50, 0);

        assertThat(gaps.longestMillis()).isEqualTo(1_200.0);
        assertThat(gaps.longestAtPercent()).isZero();
    }

    @Test
    void aRoundWithoutRecordsHasNoWaitToReport() {
        RecordGaps gaps = new RecordGaps(0, 10);
        gaps.polled(100 * MS, 0, 0);

        assertThat(gaps.longestMillis()).isZero();
        assertThatThrownBy(() -> new RecordGaps(0, 0)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("at least one record");
    }
}
