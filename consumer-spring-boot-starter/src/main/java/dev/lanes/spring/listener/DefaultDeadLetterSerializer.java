package dev.lanes.spring.listener;

import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.serialization.DoubleSerializer;
import org.apache.kafka.common.serialization.FloatSerializer;
import org.apache.kafka.common.serialization.IntegerSerializer;
import org.apache.kafka.common.serialization.LongSerializer;
import org.apache.kafka.common.serialization.Serializer;
import org.apache.kafka.common.serialization.ShortSerializer;
import org.apache.kafka.common.serialization.UUIDSerializer;
import org.apache.kafka.common.utils.Bytes;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.UUID;

/**
 * Writes a record's key or value back as bytes for its dead-letter topic when no serializer is configured:
 * byte arrays, buffers and Kafka {@link Bytes} as they are (a record that could not be deserialized keeps its
 * raw bytes), strings as UTF-8, numbers and UUIDs as Kafka's own serializers write them. Any other type is
 * refused with a {@link SerializationException} that says which property to set: guessing (with
 * {@code toString()}) would publish something no consumer can read back.
 */
public class DefaultDeadLetterSerializer implements Serializer<Object> {

    private final String property;

    /** @param property the property that configures a serializer in its place, named in the error */
    public DefaultDeadLetterSerializer(String property) {
        this.property = property;
    }

    @Override
    public byte[] serialize(String topic, Object data) {
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
            return serialize(new LongSerializer(), topic, value);
        }
        if (data instanceof Integer value) {
            return serialize(new IntegerSerializer(), topic, value);
        }
        if (data instanceof Short value) {
            return serialize(new ShortSerializer(), topic, value);
        }
        if (data instanceof Double value) {
            return serialize(new DoubleSerializer(), topic, value);
        }
        if (data instanceof Float value) {
            return serialize(new FloatSerializer(), topic, value);
        }
        if (data instanceof UUID value) {
            return serialize(new UUIDSerializer(), topic, value);
        }
        throw new SerializationException("Cannot write a " + data.getClass().getName() + " to the dead-letter topic "
                + topic + ": set " + property + " to a Serializer for it");
    }

    private static <T> byte[] serialize(Serializer<T> serializer, String topic, T value) {
        try (serializer) {
            return serializer.serialize(topic, value);
        }
    }
}
