package dev.lanes.consumer.internals.adapter;

import dev.lanes.consumer.internals.adapter.PartitionRecordsDecoderTest.Log;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.InvalidRecordException;
import org.apache.kafka.common.IsolationLevel;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.compress.Compression;
import org.apache.kafka.common.errors.CorruptRecordException;
import org.apache.kafka.common.record.CompressionType;
import org.apache.kafka.common.record.ControlRecordType;
import org.apache.kafka.common.record.DefaultRecordBatch;
import org.apache.kafka.common.record.MemoryRecords;
import org.apache.kafka.common.record.Record;
import org.apache.kafka.common.record.Records;
import org.apache.kafka.common.record.SimpleRecord;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.utils.BufferSupplier;
import org.apache.kafka.common.utils.CloseableIterator;
import org.junit.jupiter.api.RepeatedTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongFunction;

import static dev.lanes.consumer.internals.adapter.PartitionRecordsDecoderTest.aborted;
import static dev.lanes.consumer.internals.adapter.PartitionRecordsDecoderTest.flipByte;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The batch stage decoded ahead by another thread (the background thread's part) gives the application thread
 * exactly what decoding on take gives, and its decompressed bytes are counted until they are taken.
 */
class DecodedBatchesTest {

    private static final TopicPartition PARTITION = new TopicPartition("orders", 3);
    private static final StringDeserializer STRINGS = new StringDeserializer();

    @ParameterizedTest
    @EnumSource(value = CompressionType.class, names = {"NONE", "GZIP", "SNAPPY", "LZ4", "ZSTD"})
    void batchesDecodedAheadGiveTheSameRecordsAsDecodingOnTake(CompressionType type) {
        FetchedPartition fetched = FetchedPartitions.compressed(PARTITION, 100, 8, 25, Compression.of(type).build());
        AtomicLong held = new AtomicLong();
        fetched.onHeldBytes(held::addAndGet);
        DecodedBatches batches = fetched.decoding(IsolationLevel.READ_UNCOMMITTED, true);
        while (batches.decodeNext() > 0) {
            // what the background thread does, slice after slice
        }
        assertThat(batches.hasUndecoded()).isFalse();
        if (type == CompressionType.NONE) {
            assertThat(held).hasValue(0); // read in place: nothing decompressed to hold
        } else {
            assertThat(held.get()).isGreaterThan(0);
        }

        List<ConsumerRecord<String, String>> all = takeAll(new PartitionRecordsDecoder(fetched,
                IsolationLevel.READ_UNCOMMITTED, true), 7);

        assertThat(all).extracting(ConsumerRecord::offset).containsExactlyElementsOf(offsets(100, 300));
        assertThat(all.get(0).value()).startsWith("{\"id\":100,");
        assertThat(held).hasValue(0);
    }

    @Test
    void decompressedBytesAreHeldFromDecodingUntilTaken() {
        FetchedPartition fetched = FetchedPartitions.compressed(PARTITION, 0, 2, 50, Compression.lz4().build());
        AtomicLong held = new AtomicLong();
        fetched.onHeldBytes(held::addAndGet);
        DecodedBatches batches = fetched.decoding(IsolationLevel.READ_UNCOMMITTED, true);

        int firstBatchInput = batches.decodeNext();
        long firstBatchDecoded = held.get();
        PartitionRecordsDecoder decoder = new PartitionRecordsDecoder(fetched, IsolationLevel.READ_UNCOMMITTED, true);
        List<ConsumerRecord<String, String>> some = new ArrayList<>();
        decoder.takeInto(some, 10, STRINGS, STRINGS);

        assertThat(firstBatchDecoded).isGreaterThan(firstBatchInput); // counted after decompression
        assertThat(held).as("the first batch is the application's now").hasValue(0);
        assertThat(batches.decodeNext()).isPositive();
        assertThat(held.get()).isPositive();
        assertThat(fetched.stopDecoding()).isEqualTo(held.get());
    }

    @Test
    void readCommittedDecodedAheadSkipsAbortedTransactionsAndControlBatches() {
        long producerA = 1000L;
        long producerB = 2000L;
        MemoryRecords records = new Log()
                .batch(0, 1, "plain-0")
                .transactional(producerA, 1, "aborted-1", "aborted-2")
                .transactional(producerB, 3, "committed-3")
                .transactional(producerA, 4, "aborted-4")
                .transactional(producerB, 5, "committed-5")
                .marker(ControlRecordType.ABORT, producerA, 6)
                .batch(7, 1, "plain-7")
                .marker(ControlRecordType.COMMIT, producerB, 8)
                .records();
        FetchedPartition fetched = new FetchedPartition(PARTITION, 0, 1_000, 1_000, 0, records,
                List.of(aborted(producerA, 1)));
        decodeAhead(fetched, IsolationLevel.READ_COMMITTED, true);
        PartitionRecordsDecoder decoder = new PartitionRecordsDecoder(fetched, IsolationLevel.READ_COMMITTED, true);

        List<ConsumerRecord<String, String>> taken = new ArrayList<>();
        decoder.takeInto(taken, 100, STRINGS, STRINGS);

        assertThat(taken).extracting(ConsumerRecord::value)
                .containsExactly("plain-0", "committed-3", "committed-5", "plain-7");
        assertThat(decoder.nextOffset()).isEqualTo(9);
        assertThat(decoder.isDrained()).isTrue();
    }

    @Test
    void aCorruptBatchDecodedAheadFailsOnlyOnceTheRecordsBeforeItAreReturned() {
        Log log = new Log().batch(0, 1, "a", "b", "c");
        int secondBatchStart = log.bytes().limit();
        log.batch(3, 1, "d", "e");
        ByteBuffer bytes = log.bytes();
        flipByte(bytes, secondBatchStart + DefaultRecordBatch.RECORD_BATCH_OVERHEAD + 3);
        FetchedPartition fetched = new FetchedPartition(PARTITION, 0, 1_000, 1_000, 0,
                MemoryRecords.readableRecords(bytes), List.of());
        decodeAhead(fetched, IsolationLevel.READ_UNCOMMITTED, true);
        PartitionRecordsDecoder decoder = new PartitionRecordsDecoder(fetched, IsolationLevel.READ_UNCOMMITTED, true);

        List<ConsumerRecord<String, String>> taken = new ArrayList<>();
        decoder.takeInto(taken, 10, STRINGS, STRINGS);

        assertThat(taken).extracting(ConsumerRecord::offset).containsExactly(0L, 1L, 2L);
        assertThatThrownBy(() -> decoder.takeInto(new ArrayList<>(), 10, STRINGS, STRINGS))
                .isInstanceOf(CorruptRecordException.class)
                .hasMessageContaining("orders-3")
                .hasMessageContaining("offset 3");
        assertThat(decoder.nextOffset()).isEqualTo(3);
        assertThat(decoder.isDrained()).isFalse();
    }

    @Test
    void aCompressedBatchDeclaringMoreRecordsThanItHoldsReturnsThoseItHoldsFirst() {
        FetchedPartition whole = FetchedPartitions.compressed(PARTITION, 0, 1, 4, Compression.lz4().build());
        ByteBuffer bytes = ((MemoryRecords) whole.records()).buffer().duplicate();
        // Declares five records where four were written; CRCs are not checked, so only reading on finds out.
        bytes.putInt(DefaultRecordBatch.RECORDS_COUNT_OFFSET, 5);
        FetchedPartition fetched = new FetchedPartition(PARTITION, 0, 1_000, 1_000, 0,
                MemoryRecords.readableRecords(bytes), List.of());
        decodeAhead(fetched, IsolationLevel.READ_UNCOMMITTED, false);
        PartitionRecordsDecoder decoder = new PartitionRecordsDecoder(fetched, IsolationLevel.READ_UNCOMMITTED, false);

        List<ConsumerRecord<String, String>> taken = new ArrayList<>();
        decoder.takeInto(taken, 10, STRINGS, STRINGS);

        assertThat(taken).extracting(ConsumerRecord::offset).containsExactly(0L, 1L, 2L, 3L);
        assertThatThrownBy(() -> decoder.takeInto(new ArrayList<>(), 10, STRINGS, STRINGS))
                .isInstanceOf(CorruptRecordException.class)
                .hasMessageContaining("orders-3");
        assertThat(decoder.nextOffset()).isEqualTo(4);
    }

    @ParameterizedTest
    @EnumSource(value = CompressionType.class, names = {"GZIP", "SNAPPY", "LZ4", "ZSTD"})
    void aCompressedBatchDeclaringFewerRecordsThanItHoldsFailsWhereKafkasOwnIteratorDoes(CompressionType type) {
        FetchedPartition whole = FetchedPartitions.compressed(PARTITION, 0, 1, 4, Compression.of(type).build());
        ByteBuffer bytes = ((MemoryRecords) whole.records()).buffer().duplicate();
        bytes.putInt(DefaultRecordBatch.RECORDS_COUNT_OFFSET, 3); // four were written
        MemoryRecords underDeclared = MemoryRecords.readableRecords(bytes);
        List<Long> kafkaReturns = new ArrayList<>();
        try (CloseableIterator<Record> records = underDeclared.batches().iterator().next()
                .streamingIterator(BufferSupplier.NO_CACHING)) {
            assertThatThrownBy(() -> records.forEachRemaining(record -> kafkaReturns.add(record.offset())))
                    .isInstanceOf(InvalidRecordException.class);
        }
        FetchedPartition fetched = new FetchedPartition(PARTITION, 0, 1_000, 1_000, 0,
                MemoryRecords.readableRecords(bytes.duplicate()), List.of());
        decodeAhead(fetched, IsolationLevel.READ_UNCOMMITTED, false);
        PartitionRecordsDecoder decoder = new PartitionRecordsDecoder(fetched, IsolationLevel.READ_UNCOMMITTED, false);

        List<ConsumerRecord<String, String>> taken = new ArrayList<>();
        decoder.takeInto(taken, 10, STRINGS, STRINGS);

        assertThat(taken).extracting(ConsumerRecord::offset).containsExactlyElementsOf(kafkaReturns);
        assertThatThrownBy(() -> decoder.takeInto(new ArrayList<>(), 10, STRINGS, STRINGS))
                .isInstanceOf(CorruptRecordException.class)
                .hasMessageContaining("orders-3")
                .hasMessageContaining("Incorrect declared batch size");
    }

    @Test
    void zstdBatchesAreFoundWhereTheyLieAndDecompressedWholeHoweverLarge() {
        // A first batch whose records decompress to several times the first scratch buffer, then small ones, in a
        // fetch whose bytes start part-way into their buffer.
        ByteBuffer first = ((MemoryRecords) FetchedPartitions.compressed(PARTITION, 0, 1, 3_000,
                Compression.zstd().build()).records()).buffer();
        ByteBuffer rest = ((MemoryRecords) FetchedPartitions.compressed(PARTITION, 3_000, 5, 40,
                Compression.zstd().build()).records()).buffer();
        ByteBuffer bytes = ByteBuffer.allocate(17 + first.remaining() + rest.remaining());
        bytes.position(17);
        bytes.put(first).put(rest).flip().position(17);
        FetchedPartition fetched = new FetchedPartition(PARTITION, 1_500, 3_200, 3_200, 0,
                MemoryRecords.readableRecords(bytes), List.of());
        AtomicLong held = new AtomicLong();
        fetched.onHeldBytes(held::addAndGet);

        decodeAhead(fetched, IsolationLevel.READ_UNCOMMITTED, true);
        List<ConsumerRecord<String, String>> all = takeAll(new PartitionRecordsDecoder(fetched,
                IsolationLevel.READ_UNCOMMITTED, true), 100);

        assertThat(all).extracting(ConsumerRecord::offset).containsExactlyElementsOf(offsets(1_500, 3_200));
        assertThat(all.get(0).value()).startsWith("{\"id\":1500,");
        assertThat(all.get(all.size() - 1).value()).startsWith("{\"id\":3199,");
        assertThat(held).hasValue(0);
    }

    @Test
    void aZstdBatchThatIsNotZstdFailsAtItsOffsetOnceTheRecordsBeforeItAreReturned() {
        ByteBuffer bytes = ((MemoryRecords) FetchedPartitions.compressed(PARTITION, 0, 2, 5,
                Compression.zstd().build()).records()).buffer().duplicate();
        int secondBatch = bytes.getInt(Records.SIZE_OFFSET) + Records.LOG_OVERHEAD;
        // The second batch's zstd frame loses its magic number; CRCs are not checked, so only the codec finds out.
        bytes.putInt(secondBatch + DefaultRecordBatch.RECORD_BATCH_OVERHEAD, 0);
        FetchedPartition fetched = new FetchedPartition(PARTITION, 0, 1_000, 1_000, 0,
                MemoryRecords.readableRecords(bytes), List.of());
        decodeAhead(fetched, IsolationLevel.READ_UNCOMMITTED, false);
        PartitionRecordsDecoder decoder = new PartitionRecordsDecoder(fetched, IsolationLevel.READ_UNCOMMITTED, false);

        List<ConsumerRecord<String, String>> taken = new ArrayList<>();
        decoder.takeInto(taken, 20, STRINGS, STRINGS);

        assertThat(taken).extracting(ConsumerRecord::offset).containsExactly(0L, 1L, 2L, 3L, 4L);
        assertThatThrownBy(() -> decoder.takeInto(new ArrayList<>(), 10, STRINGS, STRINGS))
                .isInstanceOf(CorruptRecordException.class)
                .hasMessageContaining("orders-3")
                .hasMessageContaining("offset 5");
        assertThat(decoder.nextOffset()).isEqualTo(5);
    }

    @Test
    void aCodecFailureAfterTheRecordsStillReturnsTheRecordsDecompressedBeforeIt() {
        FetchedPartition whole = FetchedPartitions.compressed(PARTITION, 0, 1, 6, Compression.gzip().build());
        ByteBuffer bytes = ((MemoryRecords) whole.records()).buffer().duplicate();
        flipByte(bytes, bytes.limit() - 1); // the gzip trailer's length: the data inflates, its check fails
        FetchedPartition fetched = new FetchedPartition(PARTITION, 0, 1_000, 1_000, 0,
                MemoryRecords.readableRecords(bytes), List.of());
        AtomicLong held = new AtomicLong();
        fetched.onHeldBytes(held::addAndGet);
        decodeAhead(fetched, IsolationLevel.READ_UNCOMMITTED, false);
        PartitionRecordsDecoder decoder = new PartitionRecordsDecoder(fetched, IsolationLevel.READ_UNCOMMITTED, false);

        List<ConsumerRecord<String, String>> taken = new ArrayList<>();
        decoder.takeInto(taken, 10, STRINGS, STRINGS);

        assertThat(taken).extracting(ConsumerRecord::offset).containsExactly(0L, 1L, 2L, 3L, 4L, 5L);
        assertThatThrownBy(() -> decoder.takeInto(new ArrayList<>(), 10, STRINGS, STRINGS))
                .isInstanceOf(CorruptRecordException.class)
                .hasMessageContaining("orders-3")
                .hasMessageContaining("offset 6");
        assertThat(decoder.nextOffset()).isEqualTo(6);
        assertThat(held).hasValue(0);
    }

    @RepeatedTest(20)
    void bothThreadsDecodingAtOnceHandOutEveryRecordOnceAndInOrder() throws Exception {
        FetchedPartition fetched = FetchedPartitions.compressed(PARTITION, 0, 40, 30, Compression.lz4().build());
        AtomicLong held = new AtomicLong();
        fetched.onHeldBytes(held::addAndGet);
        Thread background = new Thread(() -> {
            DecodedBatches batches = fetched.decoding(IsolationLevel.READ_UNCOMMITTED, true);
            while (batches.decodeNext() > 0) {
                Thread.onSpinWait();
            }
        });
        background.start();
        List<ConsumerRecord<String, String>> all = takeAll(
                new PartitionRecordsDecoder(fetched, IsolationLevel.READ_UNCOMMITTED, true), 13);
        background.join(10_000);

        assertThat(all).extracting(ConsumerRecord::offset).containsExactlyElementsOf(offsets(0, 1_200));
        assertThat(held).hasValue(0);
    }

    @RepeatedTest(20)
    void lettingGoWhileTheOtherThreadDecodesLeavesNoBytesCounted() throws Exception {
        FetchedPartition fetched = FetchedPartitions.compressed(PARTITION, 0, 40, 30, Compression.zstd().build());
        AtomicLong held = new AtomicLong();
        fetched.onHeldBytes(held::addAndGet);
        AtomicBoolean started = new AtomicBoolean();
        Thread background = new Thread(() -> {
            DecodedBatches batches = fetched.decoding(IsolationLevel.READ_UNCOMMITTED, true);
            while (batches.decodeNext() > 0) {
                started.set(true);
            }
        });
        background.start();
        while (!started.get()) {
            Thread.onSpinWait();
        }
        // The application reads on while the background thread decodes ahead (until the application catches up).
        PartitionRecordsDecoder decoder = new PartitionRecordsDecoder(fetched, IsolationLevel.READ_UNCOMMITTED, true);
        decoder.takeInto(new ArrayList<>(), 45, STRINGS, STRINGS);

        long released = fetched.stopDecoding(); // a seek or an unassignment drops the fetch
        background.join(10_000);

        assertThat(released).as("what was held is handed back, for the buffer to stop counting").isEqualTo(held.get());
        assertThat(fetched.hasUndecoded()).isFalse();
        assertThat(fetched.decoding(IsolationLevel.READ_UNCOMMITTED, true).decodeNext()).isZero();
    }

    @Test
    void aFetchLetGoBeforeAnyDecodingHasNothingLeftToDecode() {
        FetchedPartition fetched = FetchedPartitions.compressed(PARTITION, 0, 2, 10, Compression.lz4().build());

        assertThat(fetched.hasUndecoded()).isTrue();
        assertThat(fetched.stopDecoding()).isZero();

        assertThat(fetched.hasUndecoded()).isFalse();
        assertThat(fetched.decoding(IsolationLevel.READ_UNCOMMITTED, true).decodeNext()).isZero();
    }

    @ParameterizedTest
    @EnumSource(value = CompressionType.class, names = {"GZIP", "SNAPPY", "LZ4", "ZSTD"})
    void fetchesSharingWhatTheConsumerLearntOfDecompressedSizesDecodeWhateverTheirBatchesHold(CompressionType type) {
        // Values that hardly compress teach a ratio near 1; then values that compress a hundredfold need a buffer
        // far beyond that estimate, grown while decompressing; then the first kind again, in a buffer too large.
        DecompressedSizes sizes = new DecompressedSizes();
        Compression compression = Compression.of(type).build();
        List<String> noisy = values(600, 0, i -> Long.toHexString(i * 0x9E3779B97F4A7C15L) + Long.toHexString(~i * 31));
        List<String> repetitive = values(600, 0, i -> i + "a".repeat(2_000));

        for (List<String> values : List.of(noisy, repetitive, noisy)) {
            FetchedPartition fetched = new FetchedPartition(PARTITION, 0, values.size(), values.size(), 0,
                    batchesOf(values, 150, compression), List.of(), sizes);
            AtomicLong held = new AtomicLong();
            fetched.onHeldBytes(held::addAndGet);
            decodeAhead(fetched, IsolationLevel.READ_UNCOMMITTED, true);

            List<ConsumerRecord<String, String>> all = takeAll(new PartitionRecordsDecoder(fetched,
                    IsolationLevel.READ_UNCOMMITTED, true), 64);

            assertThat(all).extracting(ConsumerRecord::value).containsExactlyElementsOf(values);
            assertThat(held).hasValue(0);
        }
    }

    private static List<String> values(int count, long from, LongFunction<String> value) {
        List<String> values = new ArrayList<>();
        for (long i = from; i < from + count; i++) {
            values.add(value.apply(i));
        }
        return values;
    }

    /** The values as batches of {@code perBatch} records from offset 0, back to back in one heap buffer. */
    private static Records batchesOf(List<String> values, int perBatch, Compression compression) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (int start = 0; start < values.size(); start += perBatch) {
            SimpleRecord[] records = values.subList(start, Math.min(values.size(), start + perBatch)).stream()
                    .map(value -> new SimpleRecord(value.getBytes(StandardCharsets.UTF_8)))
                    .toArray(SimpleRecord[]::new);
            ByteBuffer batch = MemoryRecords.withRecords(start, compression, records).buffer();
            byte[] bytes = new byte[batch.remaining()];
            batch.get(bytes);
            out.writeBytes(bytes);
        }
        return MemoryRecords.readableRecords(ByteBuffer.wrap(out.toByteArray()));
    }

    private static void decodeAhead(FetchedPartition fetched, IsolationLevel isolationLevel, boolean checkCrcs) {
        DecodedBatches batches = fetched.decoding(isolationLevel, checkCrcs);
        while (batches.decodeNext() > 0) {
            // batch after batch, as the background thread's slices do
        }
    }

    private static List<ConsumerRecord<String, String>> takeAll(PartitionRecordsDecoder decoder, int step) {
        List<ConsumerRecord<String, String>> all = new ArrayList<>();
        while (!decoder.isDrained()) {
            decoder.takeInto(all, step, STRINGS, STRINGS);
        }
        return all;
    }

    private static List<Long> offsets(long from, long to) {
        List<Long> offsets = new ArrayList<>();
        for (long offset = from; offset < to; offset++) {
            offsets.add(offset);
        }
        return offsets;
    }
}
