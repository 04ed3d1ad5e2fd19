package dev.lanes.consumer.internals.shared;

import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;

import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.function.Consumer;

/**
 * Commits the consumer made on its own (auto-commit, the commit before a reconciliation), handed from the
 * background thread that made them to the application thread, which tells the interceptors' {@code onCommit}
 * about them as KafkaConsumer does; interceptors run only on the application thread (R3). The background
 * thread adds, the application thread drains.
 */
public final class OwnCommits {

    private final ConcurrentLinkedQueue<Map<TopicPartition, OffsetAndMetadata>> committed = new ConcurrentLinkedQueue<>();

    /** Background thread: these offsets were committed. */
    public void add(Map<TopicPartition, OffsetAndMetadata> offsets) {
        committed.add(offsets);
    }

    /** Application thread: hands every commit added so far to {@code sink}, in order. */
    public void drainTo(Consumer<Map<TopicPartition, OffsetAndMetadata>> sink) {
        Map<TopicPartition, OffsetAndMetadata> offsets;
        while ((offsets = committed.poll()) != null) {
            sink.accept(offsets);
        }
    }
}
