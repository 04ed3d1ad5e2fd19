package dev.lanes.spring.listener;

import dev.lanes.consumer.BackPressureException;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.Map;

/**
 * Commits the offsets of one consumer of a slot. Once the consumer {@linkplain #disable() failed} it commits
 * nothing more: the group's committed offsets are then the truth its replacement starts from. Called from the
 * slot's thread.
 */
final class OffsetCommitter {

    private static final Logger log = LoggerFactory.getLogger(OffsetCommitter.class);

    private final String listenerId;
    private final Consumer<?, ?> consumer;
    private volatile boolean disabled;

    OffsetCommitter(String listenerId, Consumer<?, ?> consumer) {
        this.listenerId = listenerId;
        this.consumer = consumer;
    }

    /** Commits without waiting; a failure is logged only, since the offsets go again with a later commit. */
    void commitAsync(Map<TopicPartition, OffsetAndMetadata> offsets) {
        if (disabled || offsets.isEmpty()) {
            return;
        }
        try {
            consumer.commitAsync(Map.copyOf(offsets), (committed, exception) -> {
                if (exception != null) {
                    log.debug("Commit of {} failed for listener {}: {}", committed, listenerId, exception.toString());
                }
            });
        } catch (BackPressureException e) {
            // The offsets stay processed and go with the next commit, on revocation or at shutdown.
            log.debug("Commit deferred for listener {}: {}", listenerId, e.getMessage());
        }
    }

    /** Commits and waits, within {@code timeout}; a failure is logged. */
    void commitSync(Map<TopicPartition, OffsetAndMetadata> offsets, Duration timeout) {
        if (disabled || offsets.isEmpty()) {
            return;
        }
        for (int attempt = 0; attempt < 2; attempt++) {
            try {
                consumer.commitSync(Map.copyOf(offsets), timeout);
                return;
            } catch (WakeupException e) {
                // A wakeup meant for poll; try once more.
            } catch (RuntimeException e) {
                log.warn("Could not commit {} for listener {}: {}", offsets, listenerId, e.toString());
                return;
            }
        }
    }

    /** Stops every further commit (the consumer failed). */
    void disable() {
        disabled = true;
    }
}
