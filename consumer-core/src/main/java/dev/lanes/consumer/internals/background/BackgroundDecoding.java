package dev.lanes.consumer.internals.background;

import dev.lanes.consumer.internals.adapter.FetchedPartition;
import dev.lanes.consumer.internals.common.Clock;
import dev.lanes.consumer.internals.shared.FetchBuffer;
import org.apache.kafka.common.IsolationLevel;
import org.apache.kafka.common.TopicPartition;

import java.util.function.Predicate;

/**
 * The background thread's share of decoding: batch CRCs, transaction filtering and decompression of buffered
 * fetches, oldest first, ahead of the application thread, which is left with deserialization, interceptors
 * and the user's work. Only while the fetch buffer has room, since decompressed bytes count against its bound.
 *
 * <p>The loop calls {@link #decodeSlice()} once per iteration, after its requests are on the wire, so system
 * work goes first; a slice stops after {@link #SLICE_INPUT_BYTES} of fetched data or {@link #SLICE_NANOS}, whichever
 * comes first (plus one batch at most), and while work remains the loop polls the network without blocking, so
 * heartbeats keep their timing (R1). Background thread only; no user code runs here (R3).
 */
public final class BackgroundDecoding {

    /** Fetched bytes one slice decodes at most (a batch more at worst). */
    static final int SLICE_INPUT_BYTES = 256 * 1024;
    /** Time one slice takes at most (a batch more at worst). */
    static final long SLICE_NANOS = 2_000_000;

    /** No decoding ahead ({@code lanes.decode.ahead=false}): the application thread decodes everything. */
    public static final BackgroundDecoding OFF = new BackgroundDecoding(null, partition -> false,
            IsolationLevel.READ_UNCOMMITTED, false, null);

    private final FetchBuffer buffer;
    private final Predicate<TopicPartition> decodable;
    private final IsolationLevel isolationLevel;
    private final boolean checkCrcs;
    private final Clock clock;

    /** @param decodable whether a partition's buffered data is worth decoding now (consumable: not paused or revoking) */
    public BackgroundDecoding(FetchBuffer buffer, Predicate<TopicPartition> decodable, IsolationLevel isolationLevel,
                              boolean checkCrcs, Clock clock) {
        this.buffer = buffer;
        this.decodable = decodable;
        this.isolationLevel = isolationLevel;
        this.checkCrcs = checkCrcs;
        this.clock = clock;
    }

    /** Whether a buffered fetch has batches to decode ahead now. */
    public boolean hasWork() {
        return buffer != null && buffer.nextToDecode(decodable) != null;
    }

    /**
     * Decodes one bounded slice; returns how long the loop may block in the network poll as far as decoding
     * is concerned: 0 while buffered batches are left to decode and the buffer has room, else no limit.
     */
    public long decodeSlice() {
        if (buffer == null) {
            return Long.MAX_VALUE;
        }
        long deadline = clock.nanoseconds() + SLICE_NANOS;
        int input = 0;
        FetchedPartition next;
        while ((next = buffer.nextToDecode(decodable)) != null) {
            if (input >= SLICE_INPUT_BYTES || clock.nanoseconds() - deadline >= 0) {
                return 0;
            }
            input += next.decoding(isolationLevel, checkCrcs).decodeNext();
        }
        return Long.MAX_VALUE;
    }
}
