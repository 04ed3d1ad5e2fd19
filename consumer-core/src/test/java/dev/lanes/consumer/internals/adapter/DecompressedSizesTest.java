package dev.lanes.consumer.internals.adapter;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class DecompressedSizesTest {

    @Test
    void beforeAnyBatchABufferGetsTheSmallestSize() {
        assertThat(new DecompressedSizes().bufferBytesFor(110_000, Integer.MAX_VALUE)).isEqualTo(DecompressedSizes.MIN_BYTES);
    }

    @Test
    void aBatchLikeTheLastFitsWithRoomForAnLz4BlockBeyondIt() {
        DecompressedSizes sizes = new DecompressedSizes();
        sizes.learn(110_000, 270_000);

        int buffer = sizes.bufferBytesFor(110_000, Integer.MAX_VALUE);

        assertThat(buffer).isGreaterThanOrEqualTo(270_000 + DecompressedSizes.SLACK_BYTES);
        assertThat(buffer).isLessThan(2 * 270_000); // not the power of two that growing from the smallest size reaches
    }

    @Test
    void theEstimateFollowsTheLastBatchAndStaysWithinItsBounds() {
        DecompressedSizes sizes = new DecompressedSizes();
        sizes.learn(1_000, 100_000);
        assertThat(sizes.bufferBytesFor(50_000, 1 << 20)).isEqualTo(1 << 20);

        sizes.learn(1_000, 1_000_000); // zeros, say
        assertThat(sizes.bufferBytesFor(1 << 20, Integer.MAX_VALUE)).isEqualTo(DecompressedSizes.MAX_ESTIMATE_BYTES);

        sizes.learn(10_000, 10_000);
        assertThat(sizes.bufferBytesFor(100, Integer.MAX_VALUE)).isLessThan(DecompressedSizes.MIN_BYTES + 1024);
        assertThat(sizes.bufferBytesFor(200_000, Integer.MAX_VALUE)).isBetween(200_000 + DecompressedSizes.SLACK_BYTES, 300_000);
    }
}
