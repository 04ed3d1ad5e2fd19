package dev.lanes.benchmarks;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.ByteArrayOutputStream;
import java.util.Arrays;
import java.util.HashSet;
import java.util.Set;
import java.util.zip.GZIPOutputStream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class JsonValuesTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    @ParameterizedTest
    @ValueSource(ints = {64, 100, 256, 1024, 4096})
    void valuesHaveTheExactSizeAndParseAsJsonObjects(int size) throws Exception {
        for (byte[] value : JsonValues.generate(Workload.JSON_SEED, size, 500)) {
            assertThat(value).hasSize(size);
            JsonNode node = JSON.readTree(value);
            assertThat(node.isObject()).isTrue();
            assertThat(node.has("note")).isTrue();
        }
    }

    @Test
    void theSameSeedGivesTheSameBytesAndAnotherSeedOtherBytes() {
        byte[][] first = JsonValues.generate(17, 256, 100);
        byte[][] again = JsonValues.generate(17, 256, 100);
        byte[][] other = JsonValues.generate(18, 256, 100);
        assertThat(Arrays.deepEquals(first, again)).isTrue();
        assertThat(Arrays.equals(first[5], other[5])).isFalse();
        assertThat(JsonValues.value(17, 256, 5)).isEqualTo(first[5]);
    }

    @Test
    void valuesVaryInContentAndFields() throws Exception {
        byte[][] values = JsonValues.generate(Workload.JSON_SEED, 1024, 200);
        Set<String> distinct = new HashSet<>();
        Set<String> types = new HashSet<>();
        Set<Integer> itemCounts = new HashSet<>();
        for (byte[] value : values) {
            distinct.add(new String(value));
            JsonNode node = JSON.readTree(value);
            types.add(node.get("type").asText());
            itemCounts.add(node.path("items").size());
            assertThat(node.has("eventId")).isTrue();
            assertThat(node.has("userId")).isTrue();
        }
        assertThat(distinct).hasSize(values.length);
        assertThat(types.size()).isGreaterThan(5);
        assertThat(itemCounts.size()).isGreaterThan(3);
    }

    @Test
    void valuesCompressLikeTextNotLikeRandomBytes() throws Exception {
        ByteArrayOutputStream compressed = new ByteArrayOutputStream();
        int raw = 0;
        try (GZIPOutputStream gzip = new GZIPOutputStream(compressed)) {
            for (byte[] value : JsonValues.generate(Workload.JSON_SEED, 256, 1000)) {
                gzip.write(value);
                raw += value.length;
            }
        }
        double ratio = (double) raw / compressed.size();
        // Repeated field names and vocabularies compress; ids, numbers and timestamps do not.
        assertThat(ratio).isBetween(2.0, 8.0);
    }

    @Test
    void refusesSizesTooSmallForAnObject() {
        assertThatThrownBy(() -> JsonValues.value(1, 32, 0)).hasMessageContaining("at least 64 bytes");
    }
}
