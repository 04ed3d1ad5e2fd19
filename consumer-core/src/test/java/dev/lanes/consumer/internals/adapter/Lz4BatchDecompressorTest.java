package dev.lanes.consumer.internals.adapter;

import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.compress.Compression;
import org.apache.kafka.common.record.DefaultRecordBatch;
import org.apache.kafka.common.record.MemoryRecords;
import org.apache.kafka.common.record.RecordBatch;
import org.apache.kafka.common.utils.BufferSupplier;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.util.Arrays;

import static org.assertj.core.api.Assertions.assertThat;

/** Kafka's lz4 frames, as its producers write them, decompressed in one call to what its record stream reads. */
class Lz4BatchDecompressorTest {

    private static final TopicPartition PARTITION = new TopicPartition("orders", 0);

    @Test
    void aFrameDecompressesToWhatKafkasRecordStreamReads() throws IOException {
        byte[] frame = frameOfOneBatch(2_000); // records of over 100 KB: several 64 KB blocks
        byte[] expected = readThroughKafkasStream(2_000);
        byte[] target = new byte[expected.length + 64 * 1024];

        int length = Lz4BatchDecompressor.decompress(frame, 0, frame.length, target);

        assertThat(Arrays.copyOf(target, length)).isEqualTo(expected);
    }

    @Test
    void aTargetTooSmallForTheNextBlockIsTold() {
        byte[] frame = frameOfOneBatch(2_000);

        assertThat(Lz4BatchDecompressor.decompress(frame, 0, frame.length, new byte[32 * 1024]))
                .isEqualTo(Lz4BatchDecompressor.TARGET_TOO_SMALL);
    }

    @Test
    void aFrameWithABadDescriptorChecksumOrFlagsThisPathDoesNotCheckIsLeftToTheStream() {
        byte[] badChecksum = frameOfOneBatch(50);
        badChecksum[6] ^= 0x01; // the descriptor's checksum byte (no content size)
        byte[] blockChecksums = frameOfOneBatch(50);
        blockChecksums[4] |= 0x10; // declares block checksums, which this path does not verify
        byte[] notLz4 = frameOfOneBatch(50);
        notLz4[0] = 0;

        for (byte[] frame : new byte[][] {badChecksum, blockChecksums, notLz4}) {
            assertThat(Lz4BatchDecompressor.decompress(frame, 0, frame.length, new byte[1 << 20]))
                    .isEqualTo(Lz4BatchDecompressor.NOT_HANDLED);
        }
    }

    @Test
    void aBlockCutShortIsLeftToTheStream() {
        byte[] frame = frameOfOneBatch(2_000);
        byte[] cut = Arrays.copyOf(frame, frame.length / 2);

        assertThat(Lz4BatchDecompressor.decompress(cut, 0, cut.length, new byte[1 << 20]))
                .isEqualTo(Lz4BatchDecompressor.NOT_HANDLED);
    }

    /** The lz4 frame of one producer batch of {@code records} JSON-like records. */
    private static byte[] frameOfOneBatch(int records) {
        ByteBuffer batch = batchBuffer(records);
        int start = DefaultRecordBatch.RECORD_BATCH_OVERHEAD;
        return Arrays.copyOfRange(batch.array(), batch.arrayOffset() + start, batch.arrayOffset() + batch.limit());
    }

    private static byte[] readThroughKafkasStream(int records) throws IOException {
        RecordBatch batch = MemoryRecords.readableRecords(batchBuffer(records)).batches().iterator().next();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (InputStream stream = ((DefaultRecordBatch) batch).recordInputStream(BufferSupplier.NO_CACHING)) {
            stream.transferTo(out);
        }
        return out.toByteArray();
    }

    private static ByteBuffer batchBuffer(int records) {
        FetchedPartition fetched = FetchedPartitions.compressed(PARTITION, 0, 1, records, Compression.lz4().build());
        return ((MemoryRecords) fetched.records()).buffer();
    }
}
