package dev.lanes.spring.listener;

import dev.lanes.spring.DeadLetterPublisher;
import dev.lanes.spring.LanesErrorHandler;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.errors.RecordDeserializationException;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.List;
import java.util.function.BooleanSupplier;

/**
 * Retries a failing invocation {@code attempts} times with a fixed back-off, then publishes each record
 * to its dead-letter topic (when a {@link DeadLetterPublisher} is given) or logs and skips it.
 * Undeserializable records are dead-lettered with their raw bytes, or logged and skipped, without retries.
 */
public class DefaultLanesErrorHandler implements LanesErrorHandler {

    private static final Logger log = LoggerFactory.getLogger(DefaultLanesErrorHandler.class);
    private static final long SLICE_MS = 50;

    private final int attempts;
    private final Duration backOff;
    private final DeadLetterPublisher deadLetterPublisher;

    /**
     * @param attempts retries after the first failure
     * @param deadLetterPublisher null to log and skip
     */
    public DefaultLanesErrorHandler(int attempts, Duration backOff, DeadLetterPublisher deadLetterPublisher) {
        this.attempts = Math.max(0, attempts);
        this.backOff = backOff == null ? Duration.ZERO : backOff;
        this.deadLetterPublisher = deadLetterPublisher;
    }

    public int attempts() {
        return attempts;
    }

    public Duration backOff() {
        return backOff;
    }

    public DeadLetterPublisher deadLetterPublisher() {
        return deadLetterPublisher;
    }

    @Override
    public boolean invoke(String listenerId, List<? extends ConsumerRecord<?, ?>> records, ListenerInvocation invocation,
                          BooleanSupplier stopping) {
        Exception failure = null;
        for (int attempt = 0; attempt <= attempts; attempt++) {
            if (attempt > 0) {
                log.debug("Listener {} retry {} of {} after {}", listenerId, attempt, attempts, failure.toString());
                if (!sleep(stopping)) {
                    return false;
                }
            }
            try {
                invocation.invoke();
                return true;
            } catch (Exception e) {
                failure = e;
            }
            if (stopping.getAsBoolean() && attempt < attempts) {
                return false;
            }
        }
        for (ConsumerRecord<?, ?> record : records) {
            recover(listenerId, record, failure);
        }
        return true;
    }

    private void recover(String listenerId, ConsumerRecord<?, ?> record, Exception failure) {
        if (deadLetterPublisher == null) {
            log.error("Listener {} failed on {}-{} offset {} after {} retries; skipping the record",
                    listenerId, record.topic(), record.partition(), record.offset(), attempts, failure);
            return;
        }
        try {
            deadLetterPublisher.publish(record.topic(), record.partition(), record.offset(),
                    RecordBytes.of(record.key()), RecordBytes.of(record.value()), record.headers(), failure);
            log.warn("Listener {} failed on {}-{} offset {} after {} retries; published it to {}: {}", listenerId,
                    record.topic(), record.partition(), record.offset(), attempts,
                    deadLetterPublisher.deadLetterTopic(record.topic()), failure.toString());
        } catch (RuntimeException e) {
            e.addSuppressed(failure);
            log.error("Listener {} failed on {}-{} offset {} and publishing it to the dead-letter topic failed too; skipping it",
                    listenerId, record.topic(), record.partition(), record.offset(), e);
        }
    }

    @Override
    public void handleDeserializationFailure(String listenerId, RecordDeserializationException exception) {
        Throwable failure = exception.getCause() != null ? exception.getCause() : exception;
        String topic = exception.topicPartition().topic();
        int partition = exception.topicPartition().partition();
        if (deadLetterPublisher == null) {
            log.error("Listener {} cannot deserialize {}-{} offset {}; skipping the record", listenerId, topic, partition,
                    exception.offset(), exception);
            return;
        }
        deadLetterPublisher.publish(topic, partition, exception.offset(), bytes(exception.keyBuffer()),
                bytes(exception.valueBuffer()), exception.headers() == null ? new RecordHeaders() : exception.headers(), failure);
        log.warn("Listener {} cannot deserialize {}-{} offset {}; published it to {}", listenerId, topic, partition,
                exception.offset(), deadLetterPublisher.deadLetterTopic(topic));
    }

    private static byte[] bytes(ByteBuffer buffer) {
        if (buffer == null) {
            return null;
        }
        ByteBuffer copy = buffer.duplicate();
        byte[] bytes = new byte[copy.remaining()];
        copy.get(bytes);
        return bytes;
    }

    private boolean sleep(BooleanSupplier stopping) {
        long deadline = System.nanoTime() + backOff.toNanos();
        while (true) {
            if (stopping.getAsBoolean()) {
                return false;
            }
            long left = (deadline - System.nanoTime()) / 1_000_000;
            if (left <= 0) {
                return true;
            }
            try {
                Thread.sleep(Math.min(left, SLICE_MS));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return false;
            }
        }
    }
}
