package dev.lanes.consumer.internals.adapter;

import net.jpountz.lz4.LZ4Exception;
import net.jpountz.lz4.LZ4Factory;
import net.jpountz.lz4.LZ4SafeDecompressor;
import net.jpountz.xxhash.XXHash32;
import net.jpountz.xxhash.XXHashFactory;

/**
 * Decompresses the records of an lz4 batch in one call, block by block, straight into the caller's array.
 * Kafka's lz4 batches hold one LZ4 frame (magic, frame descriptor with its checksum, blocks, end mark). Reading
 * them through kafka-clients' record stream decompresses each block into a buffer of the stream's own, copies
 * it into the stream's chunk buffer, and from there into the reader's: here each block lands where its records
 * will be read, and nothing is built per batch.
 *
 * <p>Only the plain frames Kafka's producers write are read here: independent blocks, no block or content
 * checksums. Anything else (other flags, a bad descriptor checksum, a block that does not decompress) returns
 * {@link #NOT_HANDLED}, and the caller reads the batch through the record stream, which checks what the frame
 * asks for and reports bad data as Kafka does. Stateless; any thread.
 */
final class Lz4BatchDecompressor {

    /** The target cannot hold the next block: the caller grows it and calls again. */
    static final int TARGET_TOO_SMALL = -1;
    /** Not a frame this class reads, or not valid: the caller reads the batch through the record stream. */
    static final int NOT_HANDLED = -2;

    private static final int MAGIC = 0x184D2204;
    private static final int FLAG_VERSION_MASK = 0xC0;
    private static final int FLAG_VERSION_1 = 0x40;
    private static final int FLAG_INDEPENDENT_BLOCKS = 0x20;
    private static final int FLAG_BLOCK_CHECKSUM = 0x10;
    private static final int FLAG_CONTENT_SIZE = 0x08;
    private static final int FLAG_CONTENT_CHECKSUM = 0x04;
    private static final int FLAG_RESERVED = 0x03;
    private static final int STORED_BLOCK = 0x80000000;
    private static final LZ4SafeDecompressor DECOMPRESSOR = LZ4Factory.fastestInstance().safeDecompressor();
    private static final XXHash32 CHECKSUM = XXHashFactory.fastestInstance().hash32();

    private Lz4BatchDecompressor() {
    }

    /**
     * Decompresses the frame in {@code length} bytes at {@code offset} of {@code source} into {@code target} from
     * its start; returns the decompressed length, {@link #TARGET_TOO_SMALL} or {@link #NOT_HANDLED}.
     */
    static int decompress(byte[] source, int offset, int length, byte[] target) {
        int end = offset + length;
        if (length < 7 || intLittleEndian(source, offset) != MAGIC) {
            return NOT_HANDLED;
        }
        int descriptor = offset + 4;
        int flags = source[descriptor] & 0xFF;
        if ((flags & FLAG_VERSION_MASK) != FLAG_VERSION_1 || (flags & FLAG_INDEPENDENT_BLOCKS) == 0
                || (flags & (FLAG_BLOCK_CHECKSUM | FLAG_CONTENT_CHECKSUM | FLAG_RESERVED)) != 0) {
            return NOT_HANDLED;
        }
        int blockSizeId = (source[descriptor + 1] >> 4) & 0x7;
        if (blockSizeId < 4) {
            return NOT_HANDLED;
        }
        int maxBlockSize = 1 << (2 * blockSizeId + 8); // 64 KB, 256 KB, 1 MB or 4 MB
        int descriptorLength = (flags & FLAG_CONTENT_SIZE) != 0 ? 10 : 2;
        int position = descriptor + descriptorLength;
        if (position >= end) {
            return NOT_HANDLED;
        }
        int checksum = CHECKSUM.hash(source, descriptor, descriptorLength, 0);
        if ((byte) ((checksum >> 8) & 0xFF) != source[position]) {
            return NOT_HANDLED;
        }
        position++;
        int written = 0;
        while (true) {
            if (end - position < 4) {
                return NOT_HANDLED;
            }
            int blockSize = intLittleEndian(source, position);
            position += 4;
            if (blockSize == 0) {
                return written; // the end mark
            }
            boolean stored = (blockSize & STORED_BLOCK) != 0;
            blockSize &= ~STORED_BLOCK;
            if (blockSize > maxBlockSize || blockSize > end - position) {
                return NOT_HANDLED;
            }
            int room = target.length - written;
            if (stored) {
                if (room < blockSize) {
                    return TARGET_TOO_SMALL;
                }
                System.arraycopy(source, position, target, written, blockSize);
                written += blockSize;
            } else {
                if (room < maxBlockSize) {
                    return TARGET_TOO_SMALL; // a block may decompress to as much as the frame's block size
                }
                try {
                    written += DECOMPRESSOR.decompress(source, position, blockSize, target, written, maxBlockSize);
                } catch (LZ4Exception e) {
                    return NOT_HANDLED;
                }
            }
            position += blockSize;
        }
    }

    private static int intLittleEndian(byte[] bytes, int at) {
        return (bytes[at] & 0xFF) | (bytes[at + 1] & 0xFF) << 8 | (bytes[at + 2] & 0xFF) << 16 | (bytes[at + 3] & 0xFF) << 24;
    }
}
