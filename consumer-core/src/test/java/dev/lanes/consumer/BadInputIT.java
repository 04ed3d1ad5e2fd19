package dev.lanes.consumer;

import dev.lanes.consumer.testing.KafkaBrokerExtension;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.RecordDeserializationException;
import org.apache.kafka.common.errors.RecordDeserializationException.DeserializationExceptionOrigin;
import org.apache.kafka.common.serialization.BooleanDeserializer;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteBufferDeserializer;
import org.apache.kafka.common.serialization.BytesDeserializer;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.DoubleDeserializer;
import org.apache.kafka.common.serialization.FloatDeserializer;
import org.apache.kafka.common.serialization.IntegerDeserializer;
import org.apache.kafka.common.serialization.LongDeserializer;
import org.apache.kafka.common.serialization.ShortDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.UUIDDeserializer;
import org.apache.kafka.common.serialization.VoidDeserializer;
import org.apache.kafka.common.utils.Bytes;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.UUID;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static dev.lanes.consumer.testing.TestConsumers.consumerConfig;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

/**
 * Issue 7, bad input: random bytes (fixed seed) produced to a real broker and consumed through every
 * built-in kafka-clients deserializer. Every record a deserializer rejects surfaces once as a
 * {@link RecordDeserializationException} naming its partition and offset, {@code seek(offset + 1)}
 * moves past it, and every record it accepts is delivered exactly once.
 */
class BadInputIT {

    @RegisterExtension
    static final KafkaBrokerExtension BROKER = new KafkaBrokerExtension();

    private static final long SEED = 0x1a2e5L;
    private static final int[] LENGTHS = {0, 1, 2, 3, 4, 7, 8, 9, 16, 17, 36, 100};
    private static final AtomicInteger IDS = new AtomicInteger();

    /** The payloads, in produce order: random bytes of every length (twice), a null, and a few crafted valid ones. */
    private static List<byte[]> payloads() {
        Random random = new Random(SEED);
        List<byte[]> payloads = new ArrayList<>();
        for (int round = 0; round < 2; round++) {
            for (int length : LENGTHS) {
                byte[] bytes = new byte[length];
                random.nextBytes(bytes);
                payloads.add(bytes);
            }
        }
        payloads.add(null); // a tombstone: every deserializer maps null to null
        payloads.add(new byte[]{0});
        payloads.add(new byte[]{1});
        payloads.add(new UUID(random.nextLong(), random.nextLong()).toString().getBytes(StandardCharsets.UTF_8));
        Collections.shuffle(payloads, random);
        return payloads;
    }

    /** Produces {@code payloads} as values (or keys) to a new one-partition topic; returns the offset of each. */
    private static long[] produce(String topic, List<byte[]> payloads, boolean asKeys) throws Exception {
        BROKER.broker().createTopic(topic, 1);
        long[] offsets = new long[payloads.size()];
        // Small batches so that bad records sit at batch starts, middles and ends.
        try (KafkaProducer<byte[], byte[]> producer = BROKER.broker().producer(Map.of("batch.size", 200, "linger.ms", 5))) {
            List<Future<RecordMetadata>> sends = new ArrayList<>();
            for (byte[] payload : payloads) {
                byte[] filler = "x".getBytes(StandardCharsets.US_ASCII);
                ProducerRecord<byte[], byte[]> record = asKeys
                        ? new ProducerRecord<>(topic, 0, payload, filler)
                        : new ProducerRecord<>(topic, 0, filler, payload);
                sends.add(producer.send(record));
            }
            producer.flush();
            for (int i = 0; i < sends.size(); i++) {
                offsets[i] = sends.get(i).get(30, TimeUnit.SECONDS).offset();
            }
        }
        return offsets;
    }

    private static Map<String, Object> config() {
        Map<String, Object> config = consumerConfig(BROKER.broker().bootstrapServers(), null, "bad-input-" + IDS.incrementAndGet());
        // Several records per poll, so a bad record can come after good ones in the same fetch.
        config.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 5);
        // Once at the log end a fetch long-polls; a seek's fetch waits for it. Short waits keep 25 seeks quick.
        config.put(ConsumerConfig.FETCH_MAX_WAIT_MS_CONFIG, 50);
        return config;
    }

    private static Deserializer<?> deserializer(String simpleName) {
        return switch (simpleName) {
            case "IntegerDeserializer" -> new IntegerDeserializer();
            case "LongDeserializer" -> new LongDeserializer();
            case "ShortDeserializer" -> new ShortDeserializer();
            case "FloatDeserializer" -> new FloatDeserializer();
            case "DoubleDeserializer" -> new DoubleDeserializer();
            case "UUIDDeserializer" -> new UUIDDeserializer();
            case "BooleanDeserializer" -> new BooleanDeserializer();
            case "VoidDeserializer" -> new VoidDeserializer();
            case "StringDeserializer" -> new StringDeserializer();
            case "ByteArrayDeserializer" -> new ByteArrayDeserializer();
            case "ByteBufferDeserializer" -> new ByteBufferDeserializer();
            case "BytesDeserializer" -> new BytesDeserializer();
            default -> throw new IllegalArgumentException(simpleName);
        };
    }

    /** The oracle: what the deserializer itself says of a payload (null entry = it throws). */
    private static Object[] expectedOutcome(Deserializer<?> deserializer, String topic, byte[] payload) {
        try {
            return new Object[]{comparable(deserializer.deserialize(topic, payload == null ? null : payload.clone()))};
        } catch (RuntimeException e) {
            return null;
        }
    }

    private static Object comparable(Object value) {
        if (value instanceof byte[] bytes) {
            return Bytes.wrap(bytes);
        }
        if (value instanceof ByteBuffer buffer) {
            ByteBuffer copy = buffer.duplicate();
            byte[] bytes = new byte[copy.remaining()];
            copy.get(bytes);
            return Bytes.wrap(bytes);
        }
        return value;
    }

    private record Outcome(Map<Long, Integer> delivered, Map<Long, Integer> reported, List<String> messages,
                           int repeatedFailureChecks) {
    }

    /**
     * Consumes the topic from the beginning, seeking past every failure. Checks each failure names the
     * topic-partition and an offset, and (the first time only) that a poll without a seek fails again
     * at the same offset.
     */
    private static Outcome consumeAll(LanesConsumer<?, ?> consumer, TopicPartition tp, long end,
                                      DeserializationExceptionOrigin origin, Map<Long, Object> deliveredValues,
                                      boolean valuesAreKeys) {
        consumer.assign(List.of(tp));
        consumer.seekToBeginning(List.of(tp));
        Map<Long, Integer> delivered = new TreeMap<>();
        Map<Long, Integer> reported = new TreeMap<>();
        List<String> messages = new ArrayList<>();
        int repeatedChecks = 0;
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (consumer.position(tp) < end) {
            if (System.nanoTime() > deadline) {
                fail("Consumption stuck at position " + consumer.position(tp) + " of " + end
                        + "; delivered " + delivered.keySet() + ", reported " + reported.keySet());
            }
            try {
                ConsumerRecords<?, ?> records = consumer.poll(Duration.ofMillis(200));
                for (ConsumerRecord<?, ?> record : records) {
                    assertThat(record.topic()).isEqualTo(tp.topic());
                    assertThat(record.partition()).isEqualTo(tp.partition());
                    delivered.merge(record.offset(), 1, Integer::sum);
                    deliveredValues.put(record.offset(), comparable(valuesAreKeys ? record.key() : record.value()));
                }
            } catch (RecordDeserializationException e) {
                assertThat(e.topicPartition()).isEqualTo(tp);
                assertThat(e.origin()).isEqualTo(origin);
                assertThat(e.getMessage()).contains(tp.toString()).contains(String.valueOf(e.offset()));
                assertThat(e.getCause()).isNotNull();
                // Nothing past the bad record was consumed before it was reported.
                assertThat(consumer.position(tp)).isEqualTo(e.offset());
                if (repeatedChecks == 0) {
                    // Without a seek the same record fails again: no silent skip.
                    RecordDeserializationException again = null;
                    try {
                        consumer.poll(Duration.ofMillis(200));
                    } catch (RecordDeserializationException e2) {
                        again = e2;
                    }
                    assertThat(again).as("a second poll without seeking past offset %d", e.offset()).isNotNull();
                    assertThat(again.offset()).isEqualTo(e.offset());
                    repeatedChecks++;
                }
                reported.merge(e.offset(), 1, Integer::sum);
                messages.add(e.getMessage());
                consumer.seek(tp, e.offset() + 1);
            }
        }
        return new Outcome(delivered, reported, messages, repeatedChecks);
    }

    private static void assertEveryRecordAccountedFor(String name, Deserializer<?> oracle, String topic,
                                                          List<byte[]> payloads, long[] offsets, Outcome outcome,
                                                          Map<Long, Object> deliveredValues) {
        TreeSet<Long> expectedValid = new TreeSet<>();
        TreeSet<Long> expectedInvalid = new TreeSet<>();
        Map<Long, Object> expectedValues = new HashMap<>();
        for (int i = 0; i < payloads.size(); i++) {
            Object[] result = expectedOutcome(oracle, topic, payloads.get(i));
            if (result == null) {
                expectedInvalid.add(offsets[i]);
            } else {
                expectedValid.add(offsets[i]);
                expectedValues.put(offsets[i], result[0]);
            }
        }
        System.out.printf("[BadInputIT] %s: %d records, %d valid delivered, %d invalid reported%n", name,
                payloads.size(), outcome.delivered().size(), outcome.reported().size());
        assertThat(outcome.delivered().keySet()).as("%s: offsets delivered", name).containsExactlyElementsOf(expectedValid);
        assertThat(outcome.delivered().values()).as("%s: each valid record delivered once", name).allMatch(n -> n == 1);
        assertThat(outcome.reported().keySet()).as("%s: offsets reported", name).containsExactlyElementsOf(expectedInvalid);
        assertThat(outcome.reported().values()).as("%s: each invalid record reported once", name).allMatch(n -> n == 1);
        for (Long offset : expectedValid) {
            assertThat(deliveredValues.get(offset)).as("%s: value at offset %d", name, offset)
                    .isEqualTo(expectedValues.get(offset));
        }
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"IntegerDeserializer", "LongDeserializer", "ShortDeserializer", "FloatDeserializer",
            "DoubleDeserializer", "UUIDDeserializer", "BooleanDeserializer", "VoidDeserializer"})
    void everyValueAStrictDeserializerRejectsIsReportedOnceWithItsOffsetAndSeekingPastItDeliversTheRest(String name)
            throws Exception {
        String topic = "bad-values-" + name.toLowerCase();
        List<byte[]> payloads = payloads();
        long[] offsets = produce(topic, payloads, false);
        TopicPartition tp = new TopicPartition(topic, 0);
        Map<Long, Object> deliveredValues = new HashMap<>();
        Outcome outcome;
        try (LanesConsumer<byte[], ?> consumer = new LanesConsumer<>(config(), new ByteArrayDeserializer(), deserializer(name))) {
            outcome = consumeAll(consumer, tp, offsets[offsets.length - 1] + 1, DeserializationExceptionOrigin.VALUE,
                    deliveredValues, false);
        }
        assertEveryRecordAccountedFor(name, deserializer(name), topic, payloads, offsets, outcome, deliveredValues);
        // The data set is built so every strict deserializer sees both kinds.
        assertThat(outcome.reported()).as("%s rejects some of the random bytes", name).isNotEmpty();
        assertThat(outcome.delivered()).as("%s accepts some records (at least the null)", name).isNotEmpty();
        assertThat(outcome.messages()).allMatch(m -> m.contains("partition") && m.contains("offset"));
        assertThat(outcome.repeatedFailureChecks()).isEqualTo(1);
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"StringDeserializer", "ByteArrayDeserializer", "ByteBufferDeserializer", "BytesDeserializer"})
    void permissiveDeserializersConsumeEveryRandomValue(String name) throws Exception {
        String topic = "any-values-" + name.toLowerCase();
        List<byte[]> payloads = payloads();
        long[] offsets = produce(topic, payloads, false);
        TopicPartition tp = new TopicPartition(topic, 0);
        Map<Long, Object> deliveredValues = new HashMap<>();
        Outcome outcome;
        try (LanesConsumer<byte[], ?> consumer = new LanesConsumer<>(config(), new ByteArrayDeserializer(), deserializer(name))) {
            outcome = consumeAll(consumer, tp, offsets[offsets.length - 1] + 1, DeserializationExceptionOrigin.VALUE,
                    deliveredValues, false);
        }
        assertThat(outcome.reported()).as("%s never fails", name).isEmpty();
        assertThat(outcome.delivered()).hasSize(payloads.size());
        assertEveryRecordAccountedFor(name, deserializer(name), topic, payloads, offsets, outcome, deliveredValues);
    }

    @Test
    void keysAKeyDeserializerRejectsAreReportedWithOriginKey() throws Exception {
        String topic = "bad-keys";
        List<byte[]> payloads = payloads();
        long[] offsets = produce(topic, payloads, true);
        TopicPartition tp = new TopicPartition(topic, 0);
        Map<Long, Object> deliveredKeys = new HashMap<>();
        Outcome outcome;
        try (LanesConsumer<Long, byte[]> consumer = new LanesConsumer<>(config(), new LongDeserializer(), new ByteArrayDeserializer())) {
            outcome = consumeAll(consumer, tp, offsets[offsets.length - 1] + 1, DeserializationExceptionOrigin.KEY,
                    deliveredKeys, true);
        }
        assertEveryRecordAccountedFor("LongDeserializer (keys)", new LongDeserializer(), topic, payloads, offsets,
                outcome, deliveredKeys);
        assertThat(outcome.reported()).isNotEmpty();
        assertThat(outcome.messages()).allMatch(m -> m.contains("KEY"));
    }

    @Test
    void aRecordDeserializationExceptionCarriesTheRawBytesOfTheBadRecord() throws Exception {
        String topic = "bad-raw-bytes";
        byte[] bad = {1, 2, 3};
        long[] offsets = produce(topic, List.of(new byte[]{0, 0, 0, 7}, bad, new byte[]{0, 0, 0, 9}), false);
        TopicPartition tp = new TopicPartition(topic, 0);
        try (LanesConsumer<byte[], Integer> consumer = new LanesConsumer<>(config(), new ByteArrayDeserializer(), new IntegerDeserializer())) {
            consumer.assign(List.of(tp));
            consumer.seek(tp, offsets[1]);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
            RecordDeserializationException failure = null;
            while (failure == null && System.nanoTime() < deadline) {
                try {
                    assertThat(consumer.poll(Duration.ofMillis(200)).count()).isZero();
                } catch (RecordDeserializationException e) {
                    failure = e;
                }
            }
            assertThat(failure).isNotNull();
            assertThat(failure.offset()).isEqualTo(offsets[1]);
            ByteBuffer value = failure.valueBuffer().duplicate();
            byte[] raw = new byte[value.remaining()];
            value.get(raw);
            assertThat(raw).isEqualTo(bad);
            consumer.seek(tp, failure.offset() + 1);
            List<Integer> rest = new ArrayList<>();
            while (rest.isEmpty() && System.nanoTime() < deadline) {
                consumer.poll(Duration.ofMillis(200)).forEach(r -> rest.add(r.value()));
            }
            assertThat(rest).containsExactly(9);
        }
    }
}
