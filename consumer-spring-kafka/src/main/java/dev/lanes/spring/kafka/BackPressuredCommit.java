package dev.lanes.spring.kafka;

import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.consumer.OffsetCommitCallback;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.Map;

/**
 * What a {@code commitAsync} refused by back-pressure does instead: the same commit, synchronously within the
 * consumer's default API timeout, its outcome reported to the caller's callback as an asynchronous commit's
 * would be (a failure is logged when there is no callback). Called on the consumer's application thread.
 */
final class BackPressuredCommit {

    private static final Logger log = LoggerFactory.getLogger(BackPressuredCommit.class);

    private BackPressuredCommit() {
    }

    /**
     * @param offsets the offsets to commit, or null for the positions of the records consumed so far
     */
    static void commit(Consumer<?, ?> consumer, @Nullable Map<TopicPartition, OffsetAndMetadata> offsets,
                       @Nullable OffsetCommitCallback callback, Duration timeout) {
        Exception failure = null;
        try {
            if (offsets == null) {
                consumer.commitSync(timeout);
            } else {
                consumer.commitSync(offsets, timeout);
            }
        } catch (KafkaException e) {
            failure = e;
        }
        if (callback != null) {
            callback.onComplete(offsets == null ? Map.of() : offsets, failure);
        } else if (failure != null) {
            log.error("Offset commit of {} failed", offsets, failure);
        }
    }
}
