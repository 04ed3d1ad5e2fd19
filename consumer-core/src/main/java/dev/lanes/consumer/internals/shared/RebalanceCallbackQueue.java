package dev.lanes.consumer.internals.shared;

import dev.lanes.consumer.internals.common.Clock;
import dev.lanes.consumer.internals.events.RebalanceCallback;
import org.apache.kafka.common.TopicPartition;

import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Rebalance callbacks the background thread wants run, waiting for the application thread's next
 * {@code poll()}. Adding one wakes a poll that is waiting for records. Bounded by its nature: the member
 * has at most one reconciliation step waiting at a time. The background thread adds; the application thread
 * takes and runs.
 */
public final class RebalanceCallbackQueue {

    private final ConcurrentLinkedQueue<RebalanceCallback> pending = new ConcurrentLinkedQueue<>();
    private final AtomicLong ids = new AtomicLong();
    private final FetchBuffer wakeTarget;
    private final Clock clock;

    public RebalanceCallbackQueue(FetchBuffer wakeTarget) {
        this(wakeTarget, Clock.SYSTEM);
    }

    /** @param clock times how long callbacks wait for the application thread */
    public RebalanceCallbackQueue(FetchBuffer wakeTarget, Clock clock) {
        this.wakeTarget = wakeTarget;
        this.clock = clock;
    }

    /** Background thread: asks for a callback; returns its id, which the acknowledgement carries. */
    public long request(RebalanceCallback.Kind kind, Set<TopicPartition> partitions) {
        long id = ids.incrementAndGet();
        pending.add(new RebalanceCallback(id, kind, Set.copyOf(partitions), clock.nanoseconds()));
        wakeTarget.notifyStateChanged();
        return id;
    }

    /** Application thread: the next callback to run, or null. */
    public RebalanceCallback next() {
        return pending.poll();
    }

    /** Callbacks waiting for the application thread; any thread. */
    public int size() {
        return pending.size();
    }

    public boolean isEmpty() {
        return pending.isEmpty();
    }

    public void clear() {
        pending.clear();
    }
}
