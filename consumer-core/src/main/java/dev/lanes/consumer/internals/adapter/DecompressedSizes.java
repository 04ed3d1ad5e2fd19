package dev.lanes.consumer.internals.adapter;

/**
 * How large a consumer's compressed batches turn out once decompressed, learnt from the last batch decompressed,
 * so that each fetch's batch stage starts with a buffer that fits its first batch. A buffer found too small is
 * grown and, for zstd and lz4 decompressed in one call, the batch is decompressed again from the start: a buffer
 * grown from 64 KB to fit an lz4 batch of 270 KB decompressed 450 KB for nothing, once per fetch, which on the
 * benchmark's JSON-like records was a sixth more decompression than the records needed.
 *
 * <p>One per consumer, shared by the fetches it buffers and by both threads that decode them; the ratio is a
 * hint, so a lost update between the two costs at most a buffer grown once more.
 */
final class DecompressedSizes {

    /** What a batch gets when nothing is known yet, and at least. */
    static final int MIN_BYTES = 64 * 1024;
    /**
     * Room beyond the estimate: lz4 decompresses a block only into at least its frame's block size (64 KB as Kafka's
     * producers write it), and a batch a little less compressible than the last still fits.
     */
    static final int SLACK_BYTES = 64 * 1024;
    /**
     * The largest buffer an estimate asks for: a ratio learnt from a batch of zeros must not allocate a gigabyte
     * for the next batch; a batch larger than this grows its buffer as it decompresses.
     */
    static final int MAX_ESTIMATE_BYTES = 16 << 20;
    private static final double MARGIN = 1.125;

    /** Decompressed bytes per compressed byte of the last batch; 0 until one is decompressed. */
    private volatile double ratio;

    /** Bytes of buffer to decompress a batch of {@code compressedBytes} into, at most {@code maxBytes}. */
    int bufferBytesFor(int compressedBytes, int maxBytes) {
        double estimate = compressedBytes * ratio * MARGIN + SLACK_BYTES;
        return (int) Math.min(Math.min(maxBytes, MAX_ESTIMATE_BYTES), Math.max(MIN_BYTES, estimate));
    }

    /** A batch of {@code compressedBytes} was decompressed into {@code decompressedBytes}. */
    void learn(int compressedBytes, int decompressedBytes) {
        if (compressedBytes > 0) {
            ratio = (double) decompressedBytes / compressedBytes;
        }
    }
}
