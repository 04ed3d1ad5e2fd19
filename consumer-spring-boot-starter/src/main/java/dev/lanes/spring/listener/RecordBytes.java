package dev.lanes.spring.listener;

import org.apache.kafka.common.serialization.DoubleSerializer;
import org.apache.kafka.common.serialization.FloatSerializer;
import org.apache.kafka.common.serialization.IntegerSerializer;
import org.apache.kafka.common.serialization.LongSerializer;
import org.apache.kafka.common.serialization.ShortSerializer;
import org.apache.kafka.common.serialization.UUIDSerializer;
import org.apache.kafka.common.utils.Bytes;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.UUID;

/**
 * Turns a deserialized key or value back into bytes for the dead-letter topic: byte arrays, buffers and
 * Kafka {@link Bytes} as they are, strings as UTF-8, numbers and UUIDs as Kafka's serializers write them,
 * anything else as its {@code toString()} in UTF-8.
 */
final class RecordBytes {

    private RecordBytes() {
    }

    static byte[] of(Object data) {
        if (data == null) {
            return null;
        }
        if (data instanceof byte[] bytes) {
            return bytes;
        }
        if (data instanceof ByteBuffer buffer) {
            ByteBuffer copy = buffer.duplicate();
            byte[] bytes = new byte[copy.remaining()];
            copy.get(bytes);
            return bytes;
        }
        if (data instanceof Bytes bytes) {
            return bytes.get();
        }
        if (data instanceof String text) {
            return text.getBytes(StandardCharsets.UTF_8);
        }
        if (data instanceof Long value) {
            return serialize(new LongSerializer(), value);
        }
        if (data instanceof Integer value) {
            return serialize(new IntegerSerializer(), value);
        }
        if (data instanceof Short value) {
            return serialize(new ShortSerializer(), value);
        }
        if (data instanceof Double value) {
            return serialize(new DoubleSerializer(), value);
        }
        if (data instanceof Float value) {
            return serialize(new FloatSerializer(), value);
        }
        if (data instanceof UUID value) {
            return serialize(new UUIDSerializer(), value);
        }
        return data.toString().getBytes(StandardCharsets.UTF_8);
    }

    private static <T> byte[] serialize(org.apache.kafka.common.serialization.Serializer<T> serializer, T value) {
        try (serializer) {
            return serializer.serialize(null, value);
        }
    }
}
