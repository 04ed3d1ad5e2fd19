package dev.lanes.consumer.internals.shared;

import dev.lanes.consumer.internals.adapter.FetchedPartition;
import org.apache.kafka.common.TopicPartition;

import java.util.function.Predicate;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The background queue: fetched data (and errors for {@code poll} to raise) waiting for the application
 * thread, bounded in bytes (R9). The background thread adds; the application thread takes, and releases
 * the bytes of a fetch once it has handed out (or discarded) all of it. The background thread asks for
 * no more than {@link #fetchRoom()} bytes, so the bound holds up to one broker batch; when the application
 * frees room after the buffer was full, the background thread is woken to fetch again.
 *
 * <p>What counts against the bound is what is held: the bytes of every fetch not yet released, plus the
 * decompressed bytes of batches decoded ahead of the application ({@link #countDecoded}, from whichever thread
 * decodes). The background thread decodes only while there is room ({@link #nextToDecode}), and fetches leave
 * the window's room for it ({@link #fetchRoom()}), so decoding ahead stays within the bound as fetching does,
 * and no further ahead than {@link #DECODE_AHEAD_WINDOW_BYTES}:
 * records decoded just ahead of the application are still in the CPU's caches when it reads them, and the
 * rest of the bound keeps holding compressed data.
 *
 * <p>Taking decoded batches wakes the background thread only once a useful amount is free again: the decoded
 * data ahead down to half the window, or the room in a full buffer up to half the window. Waking it for each
 * batch taken would cost a wakeup and a loop iteration per batch of a few hundred records on both threads, to
 * decode one batch more; the half window left ready keeps the application from catching up meanwhile.
 *
 * <p>Locks: a fetch's batch stage reports decoded bytes while holding its queue lock, so this buffer never
 * calls into a fetch's decoding while holding {@code lock}.
 */
public final class FetchBuffer {

    /** Decompressed bytes the background thread keeps ready at most, ahead of the application thread. */
    public static final long DECODE_AHEAD_WINDOW_BYTES = 4L << 20;

    private final long maxBytes;
    private final long decodeAheadWindow;
    /** The part of the bound fetching leaves for decoding ahead to fill: the window, or nothing when it is off. */
    private final long fetchLeavesForDecoding;
    /** Taking decoded data wakes the background thread when held bytes fall below this (room in a nearly full buffer)... */
    private final long wakeBelowBytes;
    /** ...or when the decoded bytes ready fall below this (half the decode-ahead window). */
    private final long wakeBelowDecoded;
    private final Runnable onRoomFreed;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition changed = lock.newCondition();
    private final ArrayDeque<FetchedPartition> fetched = new ArrayDeque<>();
    /** Every fetch whose bytes are counted (queued, or being handed out), in the order it arrived. */
    private final ArrayDeque<FetchedPartition> held = new ArrayDeque<>();
    private final ArrayDeque<RuntimeException> errors = new ArrayDeque<>();
    /** Fetches per partition here or being handed out, so the background thread knows where to fetch next. */
    private final Map<TopicPartition, Integer> buffered = new ConcurrentHashMap<>();
    private volatile long bytes;
    /** The decompressed part of {@code bytes}. */
    private long decodedBytes;
    private boolean wokenUp;
    private long stateChanges;

    /** A buffer whose fetches the background thread decodes ahead (the default, {@code lanes.decode.ahead=true}). */
    public FetchBuffer(long maxBytes, Runnable onRoomFreed) {
        this(maxBytes, true, onRoomFreed);
    }

    /**
     * @param decodeAhead whether the background thread decodes ahead; if so, fetching leaves room for the
     *                    decode-ahead window ({@link #fetchRoom()})
     */
    public FetchBuffer(long maxBytes, boolean decodeAhead, Runnable onRoomFreed) {
        this.maxBytes = maxBytes;
        this.decodeAheadWindow = Math.min(DECODE_AHEAD_WINDOW_BYTES, Math.max(1, maxBytes / 2));
        this.fetchLeavesForDecoding = decodeAhead ? decodeAheadWindow : 0;
        long wakeSlack = Math.max(1, decodeAheadWindow / 2);
        this.wakeBelowBytes = Math.max(1, maxBytes - wakeSlack);
        this.wakeBelowDecoded = Math.max(1, decodeAheadWindow - wakeSlack);
        this.onRoomFreed = onRoomFreed;
    }

    // ---- background thread

    public void add(FetchedPartition partition) {
        partition.onHeldBytes(this::countDecoded);
        lock.lock();
        try {
            fetched.addLast(partition);
            held.addLast(partition);
            buffered.merge(partition.partition(), 1, Integer::sum);
            bytes += partition.sizeInBytes();
            changed.signalAll();
        } finally {
            lock.unlock();
        }
    }

    /** Queues an error for the application's next {@code poll} to throw. */
    public void addError(RuntimeException error) {
        lock.lock();
        try {
            errors.addLast(error);
            changed.signalAll();
        } finally {
            lock.unlock();
        }
    }

    /** Bytes that may still be held without passing the bound. */
    public long room() {
        return maxBytes - bytes;
    }

    /**
     * Bytes a fetch sent now may bring without passing the bound: the room left, less the part of the
     * decode-ahead window not decoded yet, which decoding may fill before the fetch's answer arrives. What a
     * fetch may ask for so changes only as fetched data comes and goes, not as batches are decoded or taken.
     */
    public long fetchRoom() {
        lock.lock();
        try {
            return maxBytes - bytes - Math.max(0, fetchLeavesForDecoding - decodedBytes);
        } finally {
            lock.unlock();
        }
    }

    public boolean isBuffered(TopicPartition partition) {
        return buffered.containsKey(partition);
    }

    /**
     * The oldest fetch with batches left to decode ahead (the application thread has not caught up with it) whose partition is {@code decodable} (not paused, not being
     * revoked: decoding it would fill the window with records nobody reads soon), while there is room for what decoding adds and less than
     * the decode-ahead window is decoded already; else null. The fetch may be released meanwhile, which stops
     * its decoding.
     */
    public FetchedPartition nextToDecode(Predicate<TopicPartition> decodable) {
        lock.lock();
        try {
            if (bytes >= maxBytes || decodedBytes >= decodeAheadWindow) {
                return null;
            }
            for (FetchedPartition partition : held) {
                if (partition.decodableAhead() && decodable.test(partition.partition())) {
                    return partition;
                }
            }
            return null;
        } finally {
            lock.unlock();
        }
    }

    // ---- either thread

    /**
     * Decompressed bytes held ({@code delta > 0}) or handed out; called by a fetch's batch stage, either thread.
     * When handing out leaves half the decode-ahead window ready, or frees that much room in a nearly full
     * buffer, the background thread is woken to decode or fetch again.
     */
    private void countDecoded(long delta) {
        boolean roomFreed;
        lock.lock();
        try {
            long before = bytes;
            long decodedBefore = decodedBytes;
            bytes = before + delta;
            decodedBytes = decodedBefore + delta;
            roomFreed = (before >= wakeBelowBytes && bytes < wakeBelowBytes)
                    || (decodedBefore >= wakeBelowDecoded && decodedBytes < wakeBelowDecoded);
        } finally {
            lock.unlock();
        }
        if (roomFreed) {
            onRoomFreed.run();
        }
    }

    // ---- application thread

    /** The next fetched partition, or null. Its bytes stay counted until {@link #release}. */
    public FetchedPartition next() {
        lock.lock();
        try {
            return fetched.pollFirst();
        } finally {
            lock.unlock();
        }
    }

    /** Puts fetches back at the head, in order: a paused partition's, or ones a poll leaves for the next. */
    public void pushBack(Collection<FetchedPartition> partitions) {
        if (partitions.isEmpty()) {
            return;
        }
        List<FetchedPartition> inOrder = new ArrayList<>(partitions);
        lock.lock();
        try {
            // Back at the front, in the order they were taken: two fetches of one partition stay in offset order.
            for (int i = inOrder.size() - 1; i >= 0; i--) {
                fetched.addFirst(inOrder.get(i));
            }
        } finally {
            lock.unlock();
        }
    }

    /**
     * The application is done with this fetch: its bytes no longer count against the bound, and its
     * partition may be fetched again, so the background thread is told (once per fetch, not per record).
     */
    public void release(FetchedPartition partition) {
        long decoded = partition.stopDecoding();
        lock.lock();
        try {
            bytes -= partition.sizeInBytes() + decoded;
            decodedBytes -= decoded;
            held.remove(partition);
            unbuffer(partition.partition());
        } finally {
            lock.unlock();
        }
        partition.released();
        onRoomFreed.run();
    }

    /** Drops buffered data of these partitions (unassigned or seeked); returns how many fetches it dropped. */
    public int drop(Collection<TopicPartition> partitions) {
        List<FetchedPartition> dropped = new ArrayList<>();
        lock.lock();
        try {
            for (Iterator<FetchedPartition> iterator = fetched.iterator(); iterator.hasNext(); ) {
                FetchedPartition partition = iterator.next();
                if (partitions.contains(partition.partition())) {
                    iterator.remove();
                    held.remove(partition);
                    bytes -= partition.sizeInBytes();
                    unbuffer(partition.partition());
                    dropped.add(partition);
                }
            }
        } finally {
            lock.unlock();
        }
        long decoded = 0;
        for (FetchedPartition partition : dropped) {
            decoded += partition.stopDecoding();
        }
        if (decoded > 0) {
            lock.lock();
            try {
                bytes -= decoded;
                decodedBytes -= decoded;
            } finally {
                lock.unlock();
            }
        }
        dropped.forEach(FetchedPartition::released);
        if (!dropped.isEmpty()) {
            onRoomFreed.run();
        }
        return dropped.size();
    }

    private void unbuffer(TopicPartition partition) {
        buffered.computeIfPresent(partition, (key, count) -> count > 1 ? count - 1 : null);
    }

    public RuntimeException takeError() {
        lock.lock();
        try {
            return errors.pollFirst();
        } finally {
            lock.unlock();
        }
    }

    /**
     * Blocks until data or an error arrives, {@link #wakeup()} is called, or {@code nanos} pass. Returns
     * whether it was woken by {@link #wakeup()} (and clears that).
     */
    public boolean await(long nanos) throws InterruptedException {
        return await(nanos, false);
    }

    /**
     * Like {@link #await(long)}, but data already buffered does not end the wait, only new state does: for a
     * poll that holds records back until the background thread says otherwise.
     */
    public boolean awaitStateChange(long nanos) throws InterruptedException {
        return await(nanos, true);
    }

    private boolean await(long nanos, boolean ignoreBuffered) throws InterruptedException {
        lock.lock();
        try {
            long remaining = nanos;
            long changesAtStart = stateChanges;
            while ((ignoreBuffered || fetched.isEmpty()) && errors.isEmpty() && !wokenUp && stateChanges == changesAtStart
                    && remaining > 0) {
                remaining = changed.awaitNanos(remaining);
            }
            boolean woken = wokenUp;
            wokenUp = false;
            return woken;
        } finally {
            lock.unlock();
        }
    }

    // ---- any thread

    /** Wakes a waiting {@link #await}: new data elsewhere, a wakeup() from the user, or a failure. */
    public void wakeup() {
        lock.lock();
        try {
            wokenUp = true;
            changed.signalAll();
        } finally {
            lock.unlock();
        }
    }

    /** Wakes a waiting {@link #await} because state it should look at changed (a position error). */
    public void notifyStateChanged() {
        lock.lock();
        try {
            stateChanges++;
            changed.signalAll();
        } finally {
            lock.unlock();
        }
    }

    public long bytes() {
        return bytes;
    }

    public long maxBytes() {
        return maxBytes;
    }

    /** Empties the buffer (close); returns how many fetches were discarded. */
    public int clear() {
        List<FetchedPartition> let;
        lock.lock();
        try {
            let = new ArrayList<>(held);
        } finally {
            lock.unlock();
        }
        let.forEach(FetchedPartition::stopDecoding);
        lock.lock();
        try {
            int discarded = fetched.size();
            fetched.forEach(FetchedPartition::released);
            fetched.clear();
            held.clear();
            errors.clear();
            buffered.clear();
            bytes = 0;
            decodedBytes = 0;
            return discarded;
        } finally {
            lock.unlock();
        }
    }
}
