package dev.lanes.consumer.internals.adapter;

import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.IsolationLevel;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.compress.Compression;
import org.apache.kafka.common.errors.CorruptRecordException;
import org.apache.kafka.common.errors.RecordDeserializationException;
import org.apache.kafka.common.errors.RecordDeserializationException.DeserializationExceptionOrigin;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.common.header.internals.RecordHeader;
import org.apache.kafka.common.message.FetchResponseData.AbortedTransaction;
import org.apache.kafka.common.record.CompressionType;
import org.apache.kafka.common.record.ControlRecordType;
import org.apache.kafka.common.record.DefaultRecordBatch;
import org.apache.kafka.common.record.EndTransactionMarker;
import org.apache.kafka.common.record.MemoryRecords;
import org.apache.kafka.common.record.MemoryRecordsBuilder;
import org.apache.kafka.common.record.Record;
import org.apache.kafka.common.record.RecordBatch;
import org.apache.kafka.common.record.SimpleRecord;
import org.apache.kafka.common.record.TimestampType;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.utils.BufferSupplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

class PartitionRecordsDecoderTest {

    private static final TopicPartition PARTITION = new TopicPartition("orders", 3);
    private static final StringDeserializer STRINGS = new StringDeserializer();
    private static final long PRODUCER_A = 1000L;
    private static final long PRODUCER_B = 2000L;

    @Test
    void returnsPlainRecordsWithTheirMetadata() {
        MemoryRecords records = new Log().batch(0, 7, "a", "bb", "ccc").records();
        PartitionRecordsDecoder decoder = decoder(0, records);

        List<ConsumerRecord<String, String>> taken = take(decoder, 10);

        assertThat(taken).extracting(ConsumerRecord::offset).containsExactly(0L, 1L, 2L);
        assertThat(taken).extracting(ConsumerRecord::value).containsExactly("a", "bb", "ccc");
        ConsumerRecord<String, String> last = taken.get(2);
        assertThat(last.topic()).isEqualTo("orders");
        assertThat(last.partition()).isEqualTo(3);
        assertThat(last.key()).isEqualTo("k2");
        assertThat(last.timestamp()).isEqualTo(timestampOf(2));
        assertThat(last.timestampType()).isEqualTo(TimestampType.CREATE_TIME);
        assertThat(last.serializedKeySize()).isEqualTo(2);
        assertThat(last.serializedValueSize()).isEqualTo(3);
        assertThat(last.headers().toArray()).isEmpty();
        assertThat(last.leaderEpoch()).contains(7);
        assertThat(last.deliveryCount()).isEmpty();
        assertThat(decoder.nextOffset()).isEqualTo(3);
        assertThat(decoder.lastEpoch()).contains(7);
        assertThat(decoder.isDrained()).isTrue();
        assertThat(decoder.partition()).isEqualTo(PARTITION);
        assertThat(decoder.sizeInBytes()).isEqualTo(records.sizeInBytes());
    }

    @Test
    void leaderEpochIsEmptyWhenTheBatchHasNone() {
        PartitionRecordsDecoder decoder = decoder(0,
                new Log().batch(0, RecordBatch.NO_PARTITION_LEADER_EPOCH, "a").records());

        assertThat(take(decoder, 10).get(0).leaderEpoch()).isEmpty();
        assertThat(decoder.lastEpoch()).isEmpty();
    }

    @Test
    void nullKeyAndValueHaveNullSizeAndAreNotDeserialized() {
        Log log = new Log();
        log.append(0, Compression.NONE, TimestampType.CREATE_TIME, 0, new SimpleRecord(timestampOf(0), (byte[]) null, null));
        PartitionRecordsDecoder decoder = decoder(0, log.records());

        List<ConsumerRecord<String, String>> taken = take(decoder, 10, failingOn("anything"), failingOn("anything"));

        assertThat(taken).hasSize(1);
        assertThat(taken.get(0).key()).isNull();
        assertThat(taken.get(0).value()).isNull();
        assertThat(taken.get(0).serializedKeySize()).isEqualTo(ConsumerRecord.NULL_SIZE);
        assertThat(taken.get(0).serializedValueSize()).isEqualTo(ConsumerRecord.NULL_SIZE);
    }

    @Test
    void logAppendTimeBatchesGiveTheBrokerTimestamp() {
        Log log = new Log();
        log.append(0, Compression.NONE, TimestampType.LOG_APPEND_TIME, 0, new SimpleRecord(timestampOf(0), "k0".getBytes(), "a".getBytes()));
        PartitionRecordsDecoder decoder = decoder(0, log.records());

        ConsumerRecord<String, String> record = take(decoder, 10).get(0);

        assertThat(record.timestampType()).isEqualTo(TimestampType.LOG_APPEND_TIME);
        assertThat(record.timestamp()).isEqualTo(Log.LOG_APPEND_TIME);
    }

    @Test
    void skipsRecordsBeforeTheFetchOffsetInTheMiddleOfABatch() {
        PartitionRecordsDecoder decoder = decoder(2, new Log().batch(0, 1, "a", "b", "c", "d", "e").records());

        assertThat(take(decoder, 10)).extracting(ConsumerRecord::offset).containsExactly(2L, 3L, 4L);
        assertThat(decoder.nextOffset()).isEqualTo(5);
    }

    @Test
    void skipsWholeBatchesBeforeTheFetchOffset() {
        PartitionRecordsDecoder decoder = decoder(4,
                new Log().batch(0, 1, "a", "b", "c").batch(3, 1, "d", "e", "f").records());

        assertThat(take(decoder, 10)).extracting(ConsumerRecord::value).containsExactly("e", "f");
        assertThat(decoder.nextOffset()).isEqualTo(6);
    }

    @Test
    void startsAtTheFetchOffsetBeforeAnythingIsTaken() {
        PartitionRecordsDecoder decoder = decoder(2, new Log().batch(0, 1, "a", "b", "c").records());

        assertThat(decoder.nextOffset()).isEqualTo(2);
        assertThat(decoder.lastEpoch()).isEmpty();
        assertThat(decoder.isDrained()).isFalse();
    }

    @Test
    void takesABatchInStepsWhenMaxRecordsIsSmaller() {
        PartitionRecordsDecoder decoder = decoder(0, new Log().batch(0, 1, "a", "b", "c", "d", "e").records());

        assertThat(take(decoder, 2)).extracting(ConsumerRecord::offset).containsExactly(0L, 1L);
        assertThat(decoder.nextOffset()).isEqualTo(2);
        assertThat(decoder.isDrained()).isFalse();
        assertThat(take(decoder, 2)).extracting(ConsumerRecord::offset).containsExactly(2L, 3L);
        assertThat(decoder.nextOffset()).isEqualTo(4);
        assertThat(take(decoder, 2)).extracting(ConsumerRecord::offset).containsExactly(4L);
        assertThat(decoder.nextOffset()).isEqualTo(5);
        assertThat(decoder.isDrained()).isTrue();
        assertThat(take(decoder, 2)).isEmpty();
        assertThat(decoder.nextOffset()).isEqualTo(5);
    }

    @Test
    void isDrainedAsSoonAsTheLastRecordIsTaken() {
        PartitionRecordsDecoder decoder = decoder(0, new Log().batch(0, 1, "a", "b").batch(2, 1, "c", "d").records());

        take(decoder, 2);
        assertThat(decoder.isDrained()).isFalse();
        take(decoder, 2);

        assertThat(decoder.isDrained()).isTrue();
        assertThat(decoder.nextOffset()).isEqualTo(4);
    }

    @Test
    void takingZeroRecordsChangesNothing() {
        PartitionRecordsDecoder decoder = decoder(0, new Log().batch(0, 1, "a").records());

        assertThat(take(decoder, 0)).isEmpty();
        assertThat(decoder.nextOffset()).isZero();
        assertThat(decoder.isDrained()).isFalse();
        assertThatThrownBy(() -> take(decoder, -1)).isInstanceOf(IllegalArgumentException.class);
    }

    @ParameterizedTest
    @EnumSource(value = CompressionType.class, names = {"GZIP", "SNAPPY", "LZ4", "ZSTD"})
    void decodesCompressedBatchesInSteps(CompressionType type) {
        Log log = new Log();
        List<SimpleRecord> values = new ArrayList<>();
        for (int i = 0; i < 50; i++) {
            values.add(new SimpleRecord(timestampOf(i), ("k" + i).getBytes(), ("value-" + i).getBytes()));
        }
        log.append(10, Compression.of(type).build(), TimestampType.CREATE_TIME, 4, values.toArray(new SimpleRecord[0]));
        log.batch(60, 4, "after");
        PartitionRecordsDecoder decoder = new PartitionRecordsDecoder(fetched(15, log.records(), List.of()),
                IsolationLevel.READ_UNCOMMITTED, true);

        List<ConsumerRecord<String, String>> all = new ArrayList<>();
        while (!decoder.isDrained()) {
            all.addAll(take(decoder, 7));
        }

        assertThat(all).hasSize(46);
        assertThat(all.get(0).offset()).isEqualTo(15);
        assertThat(all.get(0).value()).isEqualTo("value-5");
        assertThat(all.get(44).value()).isEqualTo("value-49");
        assertThat(all.get(45).offset()).isEqualTo(60);
        assertThat(all.get(45).value()).isEqualTo("after");
        assertThat(decoder.nextOffset()).isEqualTo(61);
    }

    @Test
    void returnsHeadersAndPassesThemToTheDeserializers() {
        Header[] headers = {new RecordHeader("trace", "t-1".getBytes()), new RecordHeader("empty", null)};
        Log log = new Log();
        log.append(0, Compression.NONE, TimestampType.CREATE_TIME, 0,
                new SimpleRecord(timestampOf(0), "k0".getBytes(), "a".getBytes(), headers));
        List<Headers> seen = new ArrayList<>();
        Deserializer<String> recordingHeaders = new Deserializer<>() {
            @Override
            public String deserialize(String topic, byte[] data) {
                throw new AssertionError("the ByteBuffer variant must be used");
            }

            @Override
            public String deserialize(String topic, Headers headers, ByteBuffer data) {
                assertThat(topic).isEqualTo("orders");
                seen.add(headers);
                return StandardCharsets.UTF_8.decode(data).toString();
            }
        };

        ConsumerRecord<String, String> record = take(decoder(0, log.records()), 1, recordingHeaders, recordingHeaders).get(0);

        assertThat(record.key()).isEqualTo("k0");
        assertThat(record.value()).isEqualTo("a");
        assertThat(record.serializedKeySize()).isEqualTo(2);
        assertThat(record.serializedValueSize()).isEqualTo(1);
        assertThat(record.headers().lastHeader("trace").value()).isEqualTo("t-1".getBytes());
        assertThat(record.headers().lastHeader("empty").value()).isNull();
        assertThat(seen).hasSize(2).allSatisfy(h -> assertThat(h).isSameAs(record.headers()));
    }

    @Test
    void readCommittedSkipsAbortedTransactionsInterleavedWithCommittedOnes() {
        MemoryRecords records = new Log()
                .batch(0, 1, "plain-0")
                .transactional(PRODUCER_A, 1, "aborted-1", "aborted-2")
                .transactional(PRODUCER_B, 3, "committed-3")
                .transactional(PRODUCER_A, 4, "aborted-4")
                .transactional(PRODUCER_B, 5, "committed-5")
                .marker(ControlRecordType.ABORT, PRODUCER_A, 6)
                .batch(7, 1, "plain-7")
                .marker(ControlRecordType.COMMIT, PRODUCER_B, 8)
                .records();
        PartitionRecordsDecoder decoder = new PartitionRecordsDecoder(
                fetched(0, records, List.of(aborted(PRODUCER_A, 1))), IsolationLevel.READ_COMMITTED, true);

        List<ConsumerRecord<String, String>> taken = take(decoder, 100);

        assertThat(taken).extracting(ConsumerRecord::value)
                .containsExactly("plain-0", "committed-3", "committed-5", "plain-7");
        assertThat(decoder.nextOffset()).isEqualTo(9);
        assertThat(decoder.isDrained()).isTrue();
    }

    @Test
    void readCommittedReturnsAProducersNextTransactionAfterItsAbortMarker() {
        MemoryRecords records = new Log()
                .transactional(PRODUCER_A, 0, "aborted-0")
                .marker(ControlRecordType.ABORT, PRODUCER_A, 1)
                .transactional(PRODUCER_A, 2, "committed-2")
                .marker(ControlRecordType.COMMIT, PRODUCER_A, 3)
                .transactional(PRODUCER_A, 4, "aborted-4")
                .marker(ControlRecordType.ABORT, PRODUCER_A, 5)
                .records();
        List<AbortedTransaction> abortedTransactions = List.of(aborted(PRODUCER_A, 4), aborted(PRODUCER_A, 0));
        PartitionRecordsDecoder decoder = new PartitionRecordsDecoder(
                fetched(0, records, abortedTransactions), IsolationLevel.READ_COMMITTED, true);

        assertThat(take(decoder, 100)).extracting(ConsumerRecord::value).containsExactly("committed-2");
        assertThat(decoder.nextOffset()).isEqualTo(6);
    }

    @Test
    void readCommittedKeepsAProducersDataFromBeforeItsAbortedTransactionBegan() {
        MemoryRecords records = new Log()
                .transactional(PRODUCER_A, 0, "committed-0")
                .marker(ControlRecordType.COMMIT, PRODUCER_A, 1)
                .transactional(PRODUCER_A, 2, "aborted-2")
                .marker(ControlRecordType.ABORT, PRODUCER_A, 3)
                .records();
        PartitionRecordsDecoder decoder = new PartitionRecordsDecoder(
                fetched(0, records, List.of(aborted(PRODUCER_A, 2))), IsolationLevel.READ_COMMITTED, true);

        assertThat(take(decoder, 100)).extracting(ConsumerRecord::value).containsExactly("committed-0");
        assertThat(decoder.nextOffset()).isEqualTo(4);
    }

    @Test
    void readUncommittedReturnsAbortedData() {
        MemoryRecords records = new Log()
                .transactional(PRODUCER_A, 0, "aborted-0", "aborted-1")
                .transactional(PRODUCER_B, 2, "committed-2")
                .marker(ControlRecordType.ABORT, PRODUCER_A, 3)
                .marker(ControlRecordType.COMMIT, PRODUCER_B, 4)
                .records();
        PartitionRecordsDecoder decoder = new PartitionRecordsDecoder(
                fetched(0, records, List.of(aborted(PRODUCER_A, 0))), IsolationLevel.READ_UNCOMMITTED, true);

        assertThat(take(decoder, 100)).extracting(ConsumerRecord::value)
                .containsExactly("aborted-0", "aborted-1", "committed-2");
        assertThat(decoder.nextOffset()).isEqualTo(5);
    }

    @Test
    void movesPastTrailingControlBatchesWithTheirEpoch() {
        MemoryRecords records = new Log()
                .transactional(PRODUCER_A, 0, "committed-0", "committed-1")
                .marker(ControlRecordType.COMMIT, PRODUCER_A, 2, 9)
                .records();
        PartitionRecordsDecoder decoder = new PartitionRecordsDecoder(
                fetched(0, records, List.of()), IsolationLevel.READ_COMMITTED, true);

        assertThat(take(decoder, 2)).hasSize(2);

        assertThat(decoder.isDrained()).isTrue();
        assertThat(decoder.nextOffset()).isEqualTo(3);
        assertThat(decoder.lastEpoch()).contains(9);
    }

    @Test
    void aFetchOfOnlyAbortedDataIsDrainedPastIt() {
        MemoryRecords records = new Log()
                .transactional(PRODUCER_A, 5, "aborted-5", "aborted-6")
                .marker(ControlRecordType.ABORT, PRODUCER_A, 7)
                .records();
        PartitionRecordsDecoder decoder = new PartitionRecordsDecoder(
                fetched(5, records, List.of(aborted(PRODUCER_A, 5))), IsolationLevel.READ_COMMITTED, true);

        assertThat(take(decoder, 100)).isEmpty();
        assertThat(decoder.isDrained()).isTrue();
        assertThat(decoder.nextOffset()).isEqualTo(8);
    }

    @Test
    void resumesAfterTheLastBatchWhenCompactionRemovedItsLastRecords() {
        MemoryRecords.RecordFilter dropOffsetsFromThree = new MemoryRecords.RecordFilter(0, 0) {
            @Override
            protected BatchRetentionResult checkBatchRetention(RecordBatch batch) {
                return new BatchRetentionResult(BatchRetention.DELETE_EMPTY, false);
            }

            @Override
            protected boolean shouldRetainRecord(RecordBatch batch, Record record) {
                return record.offset() < 3;
            }
        };
        ByteBuffer compacted = ByteBuffer.allocate(1024);
        new Log().batch(0, 1, "a", "b", "c", "d", "e").records()
                .filterTo(dropOffsetsFromThree, compacted, BufferSupplier.NO_CACHING);
        PartitionRecordsDecoder decoder = decoder(0, MemoryRecords.readableRecords(compacted.flip()));

        assertThat(take(decoder, 3)).extracting(ConsumerRecord::offset).containsExactly(0L, 1L, 2L);
        assertThat(decoder.isDrained()).isTrue();
        assertThat(decoder.nextOffset()).isEqualTo(5);
    }

    @Test
    void corruptBatchWithCrcChecksFailsNamingPartitionAndOffset() {
        Log log = new Log().batch(5, 1, "a", "b", "c");
        ByteBuffer bytes = log.bytes();
        flipByte(bytes, bytes.limit() - 2);
        PartitionRecordsDecoder decoder = new PartitionRecordsDecoder(
                fetched(5, MemoryRecords.readableRecords(bytes), List.of()), IsolationLevel.READ_UNCOMMITTED, true);

        assertThatThrownBy(() -> take(decoder, 10))
                .isInstanceOf(CorruptRecordException.class)
                .hasMessageContaining("orders-3")
                .hasMessageContaining("offset 5");
        assertThat(decoder.nextOffset()).isEqualTo(5);
        assertThat(decoder.isDrained()).isFalse();
        assertThatThrownBy(() -> take(decoder, 10)).isInstanceOf(CorruptRecordException.class);
    }

    @Test
    void recordsBeforeACorruptBatchAreReturnedAndTheNextTakeFails() {
        Log log = new Log().batch(0, 1, "a", "b", "c");
        int secondBatchStart = log.bytes().limit();
        log.batch(3, 1, "d", "e");
        ByteBuffer bytes = log.bytes();
        flipByte(bytes, secondBatchStart + DefaultRecordBatch.RECORD_BATCH_OVERHEAD + 3);
        PartitionRecordsDecoder decoder = new PartitionRecordsDecoder(
                fetched(0, MemoryRecords.readableRecords(bytes), List.of()), IsolationLevel.READ_UNCOMMITTED, true);

        assertThat(take(decoder, 10)).extracting(ConsumerRecord::offset).containsExactly(0L, 1L, 2L);
        assertThat(decoder.nextOffset()).isEqualTo(3);
        assertThatThrownBy(() -> take(decoder, 10))
                .isInstanceOf(CorruptRecordException.class)
                .hasMessageContaining("orders-3")
                .hasMessageContaining("offset 3");
        assertThat(decoder.nextOffset()).isEqualTo(3);
    }

    @Test
    void structurallyInvalidBatchIsCorruptEvenWithoutCrcChecks() {
        ByteBuffer bytes = new Log().batch(8, 1, "a", "b", "c").bytes();
        bytes.putInt(DefaultRecordBatch.RECORDS_COUNT_OFFSET, 1); // declares fewer records than it holds
        PartitionRecordsDecoder decoder = new PartitionRecordsDecoder(
                fetched(8, MemoryRecords.readableRecords(bytes), List.of()), IsolationLevel.READ_UNCOMMITTED, false);

        assertThatThrownBy(() -> take(decoder, 10))
                .isInstanceOf(CorruptRecordException.class)
                .hasMessageContaining("orders-3")
                .hasMessageContaining("offset 8");
        assertThat(decoder.nextOffset()).isEqualTo(8);
    }

    @Test
    void valueDeserializerFailureStopsAtThatRecordAfterReturningTheOnesBefore() {
        PartitionRecordsDecoder decoder = decoder(0, new Log().batch(0, 2, "a", "b", "boom", "d").records());

        List<ConsumerRecord<String, String>> before = take(decoder, 10, STRINGS, failingOn("boom"));

        assertThat(before).extracting(ConsumerRecord::value).containsExactly("a", "b");
        assertThat(decoder.nextOffset()).isEqualTo(2);
        RecordDeserializationException failure = catchThrowableOfType(RecordDeserializationException.class,
                () -> take(decoder, 10, STRINGS, failingOn("boom")));
        assertThat(failure.origin()).isEqualTo(DeserializationExceptionOrigin.VALUE);
        assertThat(failure.topicPartition()).isEqualTo(PARTITION);
        assertThat(failure.offset()).isEqualTo(2);
        assertThat(failure.timestamp()).isEqualTo(timestampOf(2));
        assertThat(failure.timestampType()).isEqualTo(TimestampType.CREATE_TIME);
        assertThat(StandardCharsets.UTF_8.decode(failure.keyBuffer()).toString()).isEqualTo("k2");
        assertThat(StandardCharsets.UTF_8.decode(failure.valueBuffer()).toString()).isEqualTo("boom");
        assertThat(failure.headers()).isNotNull();
        assertThat(failure).hasMessageContaining("orders-3").hasMessageContaining("offset 2");
        assertThat(decoder.nextOffset()).isEqualTo(2);
        assertThat(decoder.isDrained()).isFalse();
        assertThatThrownBy(() -> take(decoder, 10, STRINGS, failingOn("boom")))
                .isInstanceOf(RecordDeserializationException.class);
        assertThat(decoder.nextOffset()).isEqualTo(2);
    }

    @Test
    void keyDeserializerFailureReportsTheKeyOrigin() {
        PartitionRecordsDecoder decoder = decoder(0, new Log().batch(0, 2, "a").records());

        RecordDeserializationException failure = catchThrowableOfType(RecordDeserializationException.class,
                () -> take(decoder, 10, failingOn("k0"), STRINGS));

        assertThat(failure.origin()).isEqualTo(DeserializationExceptionOrigin.KEY);
        assertThat(failure.offset()).isZero();
        assertThat(decoder.nextOffset()).isZero();
    }

    @Test
    void aDeserializerThatRecoversContinuesFromTheFailedRecord() {
        PartitionRecordsDecoder decoder = decoder(0, new Log().batch(0, 2, "a", "b").records());
        AtomicInteger failures = new AtomicInteger();
        Deserializer<String> failsOnce = (topic, data) -> {
            if (failures.getAndIncrement() == 0) {
                throw new IllegalStateException("transient");
            }
            return new String(data, StandardCharsets.UTF_8);
        };

        assertThatThrownBy(() -> take(decoder, 10, STRINGS, failsOnce)).isInstanceOf(RecordDeserializationException.class);

        assertThat(take(decoder, 10, STRINGS, failsOnce)).extracting(ConsumerRecord::value).containsExactly("a", "b");
        assertThat(decoder.nextOffset()).isEqualTo(2);
    }

    @Test
    void emptyRecordsAreDrainedAtTheFetchOffset() {
        PartitionRecordsDecoder decoder = decoder(42, MemoryRecords.EMPTY);

        assertThat(take(decoder, 10)).isEmpty();
        assertThat(decoder.isDrained()).isTrue();
        assertThat(decoder.nextOffset()).isEqualTo(42);
        assertThat(decoder.lastEpoch()).isEmpty();
        assertThat(decoder.sizeInBytes()).isZero();
    }

    @Test
    void aPartialBatchAtTheEndOfTheFetchIsLeftForTheNextFetch() {
        Log log = new Log().batch(0, 1, "a", "b");
        int firstBatchEnd = log.bytes().limit();
        ByteBuffer bytes = log.batch(2, 1, "c", "d").bytes();
        bytes.limit(firstBatchEnd + 20); // the broker cut the fetch inside the second batch
        PartitionRecordsDecoder decoder = decoder(0, MemoryRecords.readableRecords(bytes.slice()));

        assertThat(take(decoder, 10)).extracting(ConsumerRecord::value).containsExactly("a", "b");
        assertThat(decoder.isDrained()).isTrue();
        assertThat(decoder.nextOffset()).isEqualTo(2);
    }

    private static PartitionRecordsDecoder decoder(long fetchOffset, MemoryRecords records) {
        return new PartitionRecordsDecoder(fetched(fetchOffset, records, List.of()), IsolationLevel.READ_UNCOMMITTED, true);
    }

    private static FetchedPartition fetched(long fetchOffset, MemoryRecords records, List<AbortedTransaction> aborted) {
        return new FetchedPartition(PARTITION, fetchOffset, 1_000, 1_000, 0, records, aborted);
    }

    private static List<ConsumerRecord<String, String>> take(PartitionRecordsDecoder decoder, int maxRecords) {
        return take(decoder, maxRecords, STRINGS, STRINGS);
    }

    private static <K, V> List<ConsumerRecord<K, V>> take(PartitionRecordsDecoder decoder, int maxRecords,
                                                          Deserializer<K> keyDeserializer,
                                                          Deserializer<V> valueDeserializer) {
        List<ConsumerRecord<K, V>> taken = new ArrayList<>();
        decoder.takeInto(taken, maxRecords, keyDeserializer, valueDeserializer);
        return taken;
    }

    static AbortedTransaction aborted(long producerId, long firstOffset) {
        return new AbortedTransaction().setProducerId(producerId).setFirstOffset(firstOffset);
    }

    private static Deserializer<String> failingOn(String poison) {
        return (topic, data) -> {
            String text = new String(data, StandardCharsets.UTF_8);
            if (text.equals(poison)) {
                throw new IllegalArgumentException("cannot deserialize " + text);
            }
            return text;
        };
    }

    static void flipByte(ByteBuffer buffer, int index) {
        buffer.put(index, (byte) ~buffer.get(index));
    }

    static long timestampOf(long offset) {
        return 1_700_000_000_000L + offset;
    }

    /** A partition log written batch by batch, as a broker would return it. Keys are "k" + offset. */
    static final class Log {
        static final long LOG_APPEND_TIME = 1_800_000_000_000L;

        private final ByteBuffer buffer = ByteBuffer.allocate(64 * 1024);

        Log batch(long baseOffset, int leaderEpoch, String... values) {
            return append(baseOffset, Compression.NONE, TimestampType.CREATE_TIME, leaderEpoch, simpleRecords(baseOffset, values));
        }

        Log append(long baseOffset, Compression compression, TimestampType timestampType, int leaderEpoch,
                   SimpleRecord... records) {
            return write(baseOffset, compression, timestampType, RecordBatch.NO_PRODUCER_ID, false, leaderEpoch, records);
        }

        Log transactional(long producerId, long baseOffset, String... values) {
            return write(baseOffset, Compression.NONE, TimestampType.CREATE_TIME, producerId, true, 1,
                    simpleRecords(baseOffset, values));
        }

        Log marker(ControlRecordType type, long producerId, long offset) {
            return marker(type, producerId, offset, 1);
        }

        Log marker(ControlRecordType type, long producerId, long offset, int leaderEpoch) {
            MemoryRecords.writeEndTransactionalMarker(buffer, offset, timestampOf(offset), leaderEpoch, producerId,
                    (short) 0, new EndTransactionMarker(type, 0));
            return this;
        }

        /** A copy of what was written so far, ready to read. */
        ByteBuffer bytes() {
            ByteBuffer written = buffer.duplicate().flip();
            ByteBuffer copy = ByteBuffer.allocate(written.remaining());
            copy.put(written).flip();
            return copy;
        }

        MemoryRecords records() {
            return MemoryRecords.readableRecords(bytes());
        }

        private Log write(long baseOffset, Compression compression, TimestampType timestampType, long producerId,
                          boolean transactional, int leaderEpoch, SimpleRecord... records) {
            MemoryRecordsBuilder builder = MemoryRecords.builder(buffer, RecordBatch.CURRENT_MAGIC_VALUE, compression,
                    timestampType, baseOffset, LOG_APPEND_TIME, producerId, (short) 0,
                    producerId == RecordBatch.NO_PRODUCER_ID ? RecordBatch.NO_SEQUENCE : (int) baseOffset,
                    transactional, leaderEpoch);
            for (SimpleRecord record : records) {
                builder.append(record);
            }
            builder.close();
            return this;
        }

        private static SimpleRecord[] simpleRecords(long baseOffset, String... values) {
            SimpleRecord[] records = new SimpleRecord[values.length];
            for (int i = 0; i < values.length; i++) {
                long offset = baseOffset + i;
                records[i] = new SimpleRecord(timestampOf(offset), ("k" + offset).getBytes(StandardCharsets.UTF_8),
                        values[i].getBytes(StandardCharsets.UTF_8));
            }
            return records;
        }
    }
}
