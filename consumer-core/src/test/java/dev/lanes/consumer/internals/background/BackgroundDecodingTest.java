package dev.lanes.consumer.internals.background;

import dev.lanes.consumer.internals.adapter.FetchedPartition;
import dev.lanes.consumer.internals.adapter.FetchedPartitions;
import dev.lanes.consumer.internals.adapter.PartitionRecordsDecoder;
import dev.lanes.consumer.internals.common.ManualClock;
import dev.lanes.consumer.internals.shared.FetchBuffer;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.IsolationLevel;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.compress.Compression;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;

/** The background thread's decoding slices against the fetch buffer and its bound. */
class BackgroundDecodingTest {

    private static final TopicPartition PARTITION = new TopicPartition("orders", 0);
    private static final ByteArrayDeserializer BYTES = new ByteArrayDeserializer();

    private final ManualClock clock = new ManualClock(0);
    private final AtomicInteger wakeups = new AtomicInteger();

    @Test
    void decompressedBytesCountAgainstTheBoundUntilTheFetchIsReleased() {
        FetchBuffer buffer = new FetchBuffer(64L << 20, wakeups::incrementAndGet);
        FetchedPartition fetched = FetchedPartitions.compressed(PARTITION, 0, 4, 100, Compression.lz4().build());
        buffer.add(fetched);

        assertThat(decoding(buffer).decodeSlice()).isEqualTo(Long.MAX_VALUE); // all of it, nothing left
        long held = buffer.bytes();
        assertThat(held).isGreaterThan(2L * fetched.sizeInBytes()); // the fetch, and its records decompressed

        FetchedPartition next = buffer.next();
        List<ConsumerRecord<byte[], byte[]>> records = new ArrayList<>();
        new PartitionRecordsDecoder(next, IsolationLevel.READ_UNCOMMITTED, true).takeInto(records, 150, BYTES, BYTES);
        assertThat(buffer.bytes()).isLessThan(held).isGreaterThan(fetched.sizeInBytes());

        buffer.release(next);
        assertThat(buffer.bytes()).isZero();
    }

    @Test
    void decodingAheadStopsAtTheBoundAndResumesWhenTheApplicationMakesRoom() {
        FetchedPartition fetched = FetchedPartitions.compressed(PARTITION, 0, 6, 100, Compression.lz4().build());
        FetchedPartition next = FetchedPartitions.compressed(new TopicPartition("orders", 1), 0, 6, 100,
                Compression.lz4().build());
        // Room for both fetches and about one decompressed batch.
        FetchBuffer buffer = new FetchBuffer(fetched.sizeInBytes() + next.sizeInBytes() + 8_000, wakeups::incrementAndGet);
        buffer.add(fetched);
        buffer.add(next);
        BackgroundDecoding decoding = decoding(buffer);

        assertThat(decoding.decodeSlice()).as("full: nothing to do until woken").isEqualTo(Long.MAX_VALUE);
        assertThat(fetched.hasUndecoded()).isTrue();
        assertThat(next.hasUndecoded()).isTrue();
        assertThat(buffer.room()).isLessThanOrEqualTo(0);
        assertThat(buffer.nextToDecode(partition -> true)).isNull();

        PartitionRecordsDecoder decoder = new PartitionRecordsDecoder(buffer.next(), IsolationLevel.READ_UNCOMMITTED, true);
        decoder.takeInto(new ArrayList<>(), 300, BYTES, BYTES);

        assertThat(wakeups.get()).as("the background thread is told of the room").isPositive();
        assertThat(buffer.room()).isPositive();
        // The application caught up with the first fetch and decodes the rest of it; decoding ahead goes on with the next.
        assertThat(buffer.nextToDecode(partition -> true)).isSameAs(next);
    }

    @Test
    void aSliceIsBoundedAndTellsTheLoopNotToBlockWhileWorkRemains() {
        FetchBuffer buffer = new FetchBuffer(256L << 20, wakeups::incrementAndGet);
        // About 28 KB of input per batch: a slice takes at most SLICE_INPUT_BYTES of it, and one batch more.
        FetchedPartition fetched = FetchedPartitions.compressed(PARTITION, 0, 200, 400, Compression.NONE);
        buffer.add(fetched);
        BackgroundDecoding decoding = decoding(buffer);

        int slices = 0;
        long waitMs;
        do {
            waitMs = decoding.decodeSlice();
            slices++;
        } while (waitMs == 0 && slices < 10_000);

        assertThat(waitMs).isEqualTo(Long.MAX_VALUE);
        assertThat(fetched.hasUndecoded()).isFalse();
        assertThat(slices).isGreaterThanOrEqualTo(fetched.sizeInBytes() / (BackgroundDecoding.SLICE_INPUT_BYTES + 64 * 1024));
        assertThat(slices).isGreaterThan(1);
    }

    @Test
    void decodingAheadStaysWithinItsWindowAndResumesAsTheApplicationTakes() {
        FetchBuffer buffer = new FetchBuffer(256L << 20, wakeups::incrementAndGet);
        FetchedPartition fetched = FetchedPartitions.compressed(PARTITION, 0, 300, 400, Compression.lz4().build());
        buffer.add(fetched);
        BackgroundDecoding decoding = decoding(buffer);

        while (decoding.decodeSlice() == 0) {
            // slice after slice, as the loop does
        }

        long decodedAhead = buffer.bytes() - fetched.sizeInBytes();
        assertThat(fetched.hasUndecoded()).isTrue();
        assertThat(decodedAhead).isGreaterThanOrEqualTo(FetchBuffer.DECODE_AHEAD_WINDOW_BYTES)
                .isLessThan(FetchBuffer.DECODE_AHEAD_WINDOW_BYTES + (1 << 20));
        assertThat(buffer.nextToDecode(partition -> true)).isNull();

        PartitionRecordsDecoder decoder = new PartitionRecordsDecoder(buffer.next(), IsolationLevel.READ_UNCOMMITTED, true);
        decoder.takeInto(new ArrayList<>(), 400, BYTES, BYTES);

        assertThat(buffer.nextToDecode(partition -> true)).as("room in the window again").isSameAs(fetched);
        assertThat(wakeups.get()).as("not woken for a batch or two taken").isZero();

        long halfWindow = FetchBuffer.DECODE_AHEAD_WINDOW_BYTES / 2;
        while (buffer.bytes() - fetched.sizeInBytes() >= halfWindow) {
            decoder.takeInto(new ArrayList<>(), 400, BYTES, BYTES);
        }
        assertThat(wakeups.get()).as("woken once half the window is left").isEqualTo(1);
    }

    @Test
    void droppingAFetchDecodedAheadReleasesItsDecompressedBytes() {
        FetchBuffer buffer = new FetchBuffer(64L << 20, wakeups::incrementAndGet);
        buffer.add(FetchedPartitions.compressed(PARTITION, 0, 3, 100, Compression.snappy().build()));
        TopicPartition other = new TopicPartition("orders", 1);
        FetchedPartition kept = FetchedPartitions.compressed(other, 0, 1, 100, Compression.gzip().build());
        buffer.add(kept);
        decoding(buffer).decodeSlice();
        long keptHeld = buffer.bytes();

        buffer.drop(Set.of(PARTITION));

        assertThat(buffer.bytes()).isPositive().isLessThan(keptHeld);
        buffer.release(buffer.next());
        assertThat(buffer.bytes()).isZero();
    }

    @Test
    void clearingDropsDecodedBytesAndStopsDecoding() {
        FetchBuffer buffer = new FetchBuffer(64L << 20, wakeups::incrementAndGet);
        FetchedPartition fetched = FetchedPartitions.compressed(PARTITION, 0, 3, 100, Compression.lz4().build());
        buffer.add(fetched);
        buffer.nextToDecode(partition -> true).decoding(IsolationLevel.READ_UNCOMMITTED, true).decodeNext();

        buffer.clear();

        assertThat(buffer.bytes()).isZero();
        assertThat(fetched.hasUndecoded()).isFalse();
        assertThat(decoding(buffer).decodeSlice()).isEqualTo(Long.MAX_VALUE);
    }

    @Test
    void aPausedPartitionIsNotDecodedAheadSoItCannotFillTheWindow() {
        FetchBuffer buffer = new FetchBuffer(64L << 20, wakeups::incrementAndGet);
        FetchedPartition paused = FetchedPartitions.compressed(PARTITION, 0, 3, 100, Compression.lz4().build());
        TopicPartition other = new TopicPartition("orders", 1);
        FetchedPartition consumable = FetchedPartitions.compressed(other, 0, 3, 100, Compression.lz4().build());
        buffer.add(paused);
        buffer.add(consumable);
        BackgroundDecoding decoding = new BackgroundDecoding(buffer, partition -> !partition.equals(PARTITION),
                IsolationLevel.READ_UNCOMMITTED, true, clock);

        while (decoding.decodeSlice() == 0) {
            // slice after slice, as the loop does
        }

        assertThat(paused.hasUndecoded()).as("paused: left for later").isTrue();
        assertThat(consumable.hasUndecoded()).isFalse();
        assertThat(decoding.hasWork()).isFalse();
    }

    @Test
    void anApplicationThatCaughtUpDecodesTheRestOfItsFetchWhileTheBackgroundThreadDecodesTheNext() {
        FetchBuffer buffer = new FetchBuffer(256L << 20, wakeups::incrementAndGet);
        FetchedPartition first = FetchedPartitions.compressed(PARTITION, 0, 20, 100, Compression.lz4().build());
        TopicPartition other = new TopicPartition("orders", 1);
        FetchedPartition second = FetchedPartitions.compressed(other, 0, 20, 100, Compression.zstd().build());
        buffer.add(first);
        buffer.add(second);
        BackgroundDecoding decoding = decoding(buffer);

        // The application gets to the first fetch before the background thread: it decodes a batch itself.
        PartitionRecordsDecoder decoder = new PartitionRecordsDecoder(buffer.next(), IsolationLevel.READ_UNCOMMITTED, true);
        List<ConsumerRecord<byte[], byte[]>> records = new ArrayList<>();
        decoder.takeInto(records, 150, BYTES, BYTES);

        assertThat(first.hasUndecoded()).isTrue();
        assertThat(first.decodableAhead()).as("left to the application thread").isFalse();
        assertThat(buffer.nextToDecode(partition -> true)).as("the background thread moves on").isSameAs(second);
        while (decoding.decodeSlice() == 0) {
            // slice after slice, as the loop does
        }
        assertThat(second.hasUndecoded()).isFalse();
        assertThat(first.hasUndecoded()).as("not touched by the background thread").isTrue();

        while (!decoder.isDrained()) {
            decoder.takeInto(records, 150, BYTES, BYTES);
        }
        assertThat(records).extracting(ConsumerRecord::offset)
                .containsExactlyElementsOf(java.util.stream.LongStream.range(0, 2_000).boxed().toList());
        buffer.release(first);
        assertThat(buffer.bytes()).as("only the second fetch and what was decoded of it")
                .isGreaterThan(second.sizeInBytes());
        buffer.release(buffer.next());
        assertThat(buffer.bytes()).isZero();
    }

    @Test
    void aFetchLeavesTheUndecodedPartOfTheDecodeAheadWindowToDecoding() {
        long bound = 16L << 20;
        FetchBuffer buffer = new FetchBuffer(bound, wakeups::incrementAndGet);
        long window = FetchBuffer.DECODE_AHEAD_WINDOW_BYTES;
        assertThat(buffer.fetchRoom()).isEqualTo(bound - window);

        FetchedPartition fetched = FetchedPartitions.compressed(PARTITION, 0, 300, 400, Compression.lz4().build());
        buffer.add(fetched);
        assertThat(buffer.fetchRoom()).isEqualTo(bound - window - fetched.sizeInBytes());

        buffer.nextToDecode(partition -> true).decoding(IsolationLevel.READ_UNCOMMITTED, true).decodeNext();
        long decoded = buffer.bytes() - fetched.sizeInBytes();
        assertThat(decoded).isPositive().isLessThan(window);
        assertThat(buffer.room()).isEqualTo(bound - fetched.sizeInBytes() - decoded);
        assertThat(buffer.fetchRoom()).as("decoding within the window takes nothing more from fetching")
                .isEqualTo(bound - window - fetched.sizeInBytes());

        FetchBuffer withoutDecodingAhead = new FetchBuffer(bound, false, wakeups::incrementAndGet);
        assertThat(withoutDecodingAhead.fetchRoom()).isEqualTo(withoutDecodingAhead.room()).isEqualTo(bound);
    }

    private BackgroundDecoding decoding(FetchBuffer buffer) {
        return new BackgroundDecoding(buffer, partition -> true, IsolationLevel.READ_UNCOMMITTED, true, clock);
    }
}
