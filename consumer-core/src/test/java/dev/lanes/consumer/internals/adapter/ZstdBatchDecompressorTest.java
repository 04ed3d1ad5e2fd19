package dev.lanes.consumer.internals.adapter;

import com.github.luben.zstd.Zstd;
import com.github.luben.zstd.ZstdException;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ZstdBatchDecompressorTest {

    private static final byte[] RECORDS = "{\"id\":1,\"event\":\"order-created\"} ".repeat(500).getBytes(StandardCharsets.UTF_8);

    @Test
    void decompressesFramesOneAfterAnotherWithOneContext() {
        byte[] compressed = Zstd.compress(RECORDS);
        byte[] source = new byte[7 + compressed.length];
        System.arraycopy(compressed, 0, source, 7, compressed.length);
        byte[] target = new byte[RECORDS.length + 100];
        try (ZstdBatchDecompressor decompressor = new ZstdBatchDecompressor()) {
            for (int i = 0; i < 3; i++) {
                int length = decompressor.decompress(source, 7, compressed.length, target);
                assertThat(Arrays.copyOf(target, length)).isEqualTo(RECORDS);
            }
        }
    }

    @Test
    void aTargetTooSmallIsToldAndTheNextCallStartsAfresh() {
        byte[] compressed = Zstd.compress(RECORDS);
        try (ZstdBatchDecompressor decompressor = new ZstdBatchDecompressor()) {
            assertThat(decompressor.decompress(compressed, 0, compressed.length, new byte[RECORDS.length / 2])).isEqualTo(-1);

            byte[] target = new byte[RECORDS.length];
            assertThat(decompressor.decompress(compressed, 0, compressed.length, target)).isEqualTo(RECORDS.length);
            assertThat(target).isEqualTo(RECORDS);
        }
    }

    @Test
    void dataThatIsNotZstdIsAnError() {
        byte[] garbage = "not zstd at all".getBytes(StandardCharsets.UTF_8);
        try (ZstdBatchDecompressor decompressor = new ZstdBatchDecompressor()) {
            assertThatThrownBy(() -> decompressor.decompress(garbage, 0, garbage.length, new byte[1024]))
                    .isInstanceOf(ZstdException.class);
        }
    }
}
