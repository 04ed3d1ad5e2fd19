package dev.lanes.benchmarks;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class WarmUpTest {

    @Test
    void theConfiguredRoundsRunWhateverTheCompilerDid() {
        WarmUp warmUp = new WarmUp(2);
        assertThat(warmUp.another(0, 0.0)).isTrue();
        assertThat(warmUp.another(1, 0.0)).isFalse();
        assertThat(warmUp.another(1, WarmUp.QUIET_CORES)).isFalse();
    }

    @Test
    void moreFollowWhileTheCompilerIsBusyUpToALimit() {
        WarmUp warmUp = new WarmUp(2);
        assertThat(warmUp.another(1, 0.30)).isTrue();
        assertThat(warmUp.another(2, 0.12)).isTrue();
        assertThat(warmUp.another(3, 0.01)).isFalse();

        int lastRound = 2 + WarmUp.MAX_EXTRA_ROUNDS - 1;
        assertThat(warmUp.another(lastRound - 1, 0.5)).isTrue();
        assertThat(warmUp.another(lastRound, 0.5)).isFalse();
    }

    @Test
    void noneConfiguredMeansNone() {
        assertThat(new WarmUp(0).another(0, 0.9)).isFalse();
    }
}
