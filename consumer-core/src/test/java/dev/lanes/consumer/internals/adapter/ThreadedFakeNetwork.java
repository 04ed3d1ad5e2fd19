package dev.lanes.consumer.internals.adapter;

import org.apache.kafka.common.Node;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.Uuid;

import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.BiConsumer;
import java.util.function.Consumer;

/**
 * A {@link FakeNetwork} for a real background thread: every call is synchronized, and {@link #poll} blocks
 * until a wakeup or its timeout (at most {@link #MAX_BLOCK_MS} of real time, since the loop's timeouts come
 * from a manual clock) instead of returning at once, so the thread never spins. {@link #stall()} makes poll
 * ignore wakeups until {@link #resume()}: a background thread that does not answer.
 */
public final class ThreadedFakeNetwork implements Network {

    static final long MAX_BLOCK_MS = 100;

    private final FakeNetwork fake = new FakeNetwork();
    private boolean wakeupPending;
    private boolean stalled;
    private boolean stuckInPoll;

    /** Makes the background thread stop in its next network poll, and waits until it has. Test thread. */
    public synchronized void stall() throws InterruptedException {
        stalled = true;
        notifyAll();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!stuckInPoll) {
            long remainingMs = TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime());
            if (remainingMs <= 0) {
                throw new IllegalStateException("The background thread did not reach its network poll");
            }
            wait(remainingMs);
        }
    }

    /** Lets a stalled background thread go on. Test thread. */
    public synchronized void resume() {
        stalled = false;
        notifyAll();
    }

    /** The next network poll throws {@code error}, which kills the background thread. Test thread. */
    public synchronized void failPollWith(RuntimeException error) {
        fake.failPollWith(error);
        wakeupPending = true;
        notifyAll();
    }

    public synchronized List<String> sentNames() {
        return List.copyOf(fake.sentNames());
    }

    public synchronized boolean isClosed() {
        return fake.isClosed();
    }

    @Override
    public synchronized void poll(long timeoutMs, long nowMs) {
        fake.poll(timeoutMs, nowMs);
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(Math.min(timeoutMs, MAX_BLOCK_MS));
        try {
            while (stalled) {
                stuckInPoll = true;
                notifyAll();
                wait();
            }
            stuckInPoll = false;
            long remainingMs;
            while (!wakeupPending && (remainingMs = TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime())) > 0) {
                wait(remainingMs);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            stuckInPoll = false;
            wakeupPending = false;
        }
    }

    @Override
    public synchronized void wakeup() {
        wakeupPending = true;
        notifyAll();
    }

    @Override
    public synchronized boolean ready(Node node, long nowMs) {
        return fake.ready(node, nowMs);
    }

    @Override
    public synchronized Optional<RuntimeException> connectionFailure(Node node) {
        return fake.connectionFailure(node);
    }

    @Override
    public synchronized long connectionDelay(Node node, long nowMs) {
        return fake.connectionDelay(node, nowMs);
    }

    @Override
    public synchronized <R> void send(Node node, OutboundRequest<R> request, long nowMs, int timeoutMs,
                                      BiConsumer<R, Throwable> callback) {
        fake.send(node, request, nowMs, timeoutMs, callback);
    }

    @Override
    public synchronized Optional<Node> leastLoadedNode(long nowMs) {
        return fake.leastLoadedNode(nowMs);
    }

    @Override
    public synchronized Optional<Node> leader(TopicPartition partition) {
        return fake.leader(partition);
    }

    @Override
    public synchronized Optional<Integer> leaderEpoch(TopicPartition partition) {
        return fake.leaderEpoch(partition);
    }

    @Override
    public synchronized Optional<Node> replicaIfOnline(TopicPartition partition, int nodeId) {
        return fake.replicaIfOnline(partition, nodeId);
    }

    @Override
    public synchronized long metadataMaxAgeMs() {
        return fake.metadataMaxAgeMs();
    }

    @Override
    public synchronized void metadataTopics(Set<String> topics) {
        fake.metadataTopics(topics);
    }

    @Override
    public synchronized void metadataAllTopics(boolean all) {
        fake.metadataAllTopics(all);
    }

    @Override
    public synchronized Map<String, Uuid> topicIds() {
        return fake.topicIds();
    }

    @Override
    public synchronized Map<Uuid, String> topicNames() {
        return fake.topicNames();
    }

    @Override
    public synchronized Set<String> knownTopics() {
        return fake.knownTopics();
    }

    @Override
    public synchronized void requestMetadataUpdate() {
        fake.requestMetadataUpdate();
    }

    @Override
    public synchronized void maybeThrowMetadataErrorInto(Consumer<RuntimeException> sink) {
        fake.maybeThrowMetadataErrorInto(sink);
    }

    @Override
    public synchronized OutboundRequest<FetchSessions.FetchResult> fetchRequest(int nodeId,
            Map<TopicPartition, FetchSessions.PartitionFetch> partitions, FetchSessions.FetchLimits limits) {
        return fake.fetchRequest(nodeId, partitions, limits);
    }

    @Override
    public synchronized void fetchFailed(int nodeId, Throwable error) {
        fake.fetchFailed(nodeId, error);
    }

    @Override
    public synchronized int inFlightRequestCount() {
        return fake.inFlightRequestCount();
    }

    @Override
    public synchronized void close() {
        fake.close();
    }
}
