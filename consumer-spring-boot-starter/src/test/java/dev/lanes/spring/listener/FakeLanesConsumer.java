package dev.lanes.spring.listener;

import dev.lanes.consumer.ConsumerDiagnostics;
import dev.lanes.consumer.MemberState;
import dev.lanes.consumer.QueueTimeObserver;
import org.apache.kafka.clients.consumer.MockConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.consumer.OffsetCommitCallback;
import org.apache.kafka.common.TopicPartition;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;

/** kafka-clients' MockConsumer with the diagnostics of a Lanes consumer, recording every commit. */
class FakeLanesConsumer extends MockConsumer<Object, Object> implements ConsumerDiagnostics {

    final List<Map<TopicPartition, OffsetAndMetadata>> asyncCommits = new CopyOnWriteArrayList<>();
    final List<Map<TopicPartition, OffsetAndMetadata>> syncCommits = new CopyOnWriteArrayList<>();
    private final String clientId;
    private volatile Throwable backgroundFailure;

    FakeLanesConsumer(String clientId) {
        super("earliest");
        this.clientId = clientId;
    }

    /** What a Lanes consumer reports once its background thread died. */
    void failBackgroundThread(Throwable cause) {
        backgroundFailure = cause;
    }

    @Override
    public synchronized void commitAsync(Map<TopicPartition, OffsetAndMetadata> offsets, OffsetCommitCallback callback) {
        asyncCommits.add(Map.copyOf(offsets));
        super.commitAsync(offsets, callback);
    }

    @Override
    public synchronized void commitSync(Map<TopicPartition, OffsetAndMetadata> offsets, Duration timeout) {
        syncCommits.add(Map.copyOf(offsets));
        super.commitSync(offsets, timeout);
    }

    @Override
    public String clientId() {
        return clientId;
    }

    @Override
    public Optional<String> groupId() {
        return Optional.of("group");
    }

    @Override
    public String networkThreadName() {
        return "lanes-consumer-network-thread | " + clientId;
    }

    @Override
    public boolean isBackgroundThreadAlive() {
        return backgroundFailure == null && !closed();
    }

    @Override
    public Optional<Throwable> backgroundFailure() {
        return Optional.ofNullable(backgroundFailure);
    }

    @Override
    public MemberState memberState() {
        return MemberState.STABLE;
    }

    @Override
    public Set<TopicPartition> assignmentSnapshot() {
        return Set.copyOf(assignment());
    }

    @Override
    public Set<TopicPartition> pausedSnapshot() {
        return Set.copyOf(paused());
    }

    @Override
    public boolean isClosed() {
        return closed();
    }

    @Override
    public void addQueueTimeObserver(QueueTimeObserver observer) {
    }

    @Override
    public void removeQueueTimeObserver(QueueTimeObserver observer) {
    }
}
