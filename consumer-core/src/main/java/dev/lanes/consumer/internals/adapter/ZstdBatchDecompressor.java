package dev.lanes.consumer.internals.adapter;

import com.github.luben.zstd.Zstd;
import com.github.luben.zstd.ZstdDecompressCtx;
import com.github.luben.zstd.ZstdException;

/**
 * Decompresses the records of zstd batches in one call each, with one zstd context kept for all the batches of
 * a fetch. Reading a batch through kafka-clients' record stream builds a zstd stream, its native context and
 * its buffers for every batch (about 16 KB of compressed records, as producers batch them by default), which
 * profiled as costing more of the background thread's Java time than reading the data out. A context reused
 * across batches keeps its buffers, and one call decompresses a whole batch straight into the caller's array.
 *
 * <p>Used by one thread at a time (the caller's lock); {@link #close()} frees the native context.
 */
final class ZstdBatchDecompressor implements AutoCloseable {

    /** The target cannot hold the batch's records: the caller grows it and calls again (the same as lz4's). */
    static final int TARGET_TOO_SMALL = Lz4BatchDecompressor.TARGET_TOO_SMALL;

    private ZstdDecompressCtx context;

    /**
     * Decompresses {@code length} bytes of zstd data at {@code offset} of {@code source} into {@code target}
     * from its start; returns the decompressed length, or {@link #TARGET_TOO_SMALL}.
     *
     * @throws ZstdException when the data is not valid zstd
     */
    int decompress(byte[] source, int offset, int length, byte[] target) {
        if (context == null) {
            context = new ZstdDecompressCtx();
        }
        try {
            return context.decompressByteArray(target, 0, target.length, source, offset, length);
        } catch (ZstdException e) {
            if (e.getErrorCode() == Zstd.errDstSizeTooSmall()) {
                context.reset(); // the failed frame's state goes; the next call starts afresh
                return TARGET_TOO_SMALL;
            }
            throw e;
        }
    }

    @Override
    public void close() {
        if (context != null) {
            context.close();
            context = null;
        }
    }
}
