package dev.lanes.spring.listener;

import dev.lanes.spring.BatchListenerFailedException;
import dev.lanes.spring.DeadLetterPublisher;
import dev.lanes.spring.LanesErrorHandler;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.errors.RecordDeserializationException;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.util.ClassUtils;
import org.springframework.util.backoff.BackOff;
import org.springframework.util.backoff.BackOffExecution;
import org.springframework.util.backoff.FixedBackOff;

import java.nio.ByteBuffer;
import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.function.BooleanSupplier;

/**
 * Retries a failing invocation as a Spring {@link BackOff} says (a {@link FixedBackOff}, an
 * {@link org.springframework.util.backoff.ExponentialBackOff} with a maximum elapsed time, ...), then publishes
 * each record to its dead-letter topic (when a {@link DeadLetterPublisher} is given) or logs and skips it.
 * <p>
 * Exceptions that another attempt cannot fix are never retried: the {@linkplain #DEFAULT_NOT_RETRYABLE defaults}
 * (deserialization and conversion failures, {@code ClassCastException}, ...) and those given, each matched
 * anywhere in the cause chain. A batch listener that throws a {@link BatchListenerFailedException} has the
 * records before the failed one counted as processed and only the failed one recovered. Undeserializable
 * records are dead-lettered with their raw bytes, or logged and skipped, without retries.
 */
public class DefaultLanesErrorHandler implements LanesErrorHandler {

    /** Exception types that are never retried, by name so that optional ones need not be on the classpath. */
    public static final List<String> DEFAULT_NOT_RETRYABLE = List.of(
            SerializationException.class.getName(),
            ClassCastException.class.getName(),
            NoSuchMethodException.class.getName(),
            "org.springframework.messaging.converter.MessageConversionException",
            "org.springframework.core.convert.ConversionException",
            "org.springframework.messaging.handler.invocation.MethodArgumentResolutionException");

    private static final Logger log = LoggerFactory.getLogger(DefaultLanesErrorHandler.class);
    private static final long SLICE_MS = 50;

    private final BackOff backOff;
    private final DeadLetterPublisher deadLetterPublisher;
    private final Set<Class<? extends Throwable>> notRetryable = new LinkedHashSet<>();

    /**
     * A fixed back-off between {@code attempts} retries, with the default non-retryable exceptions.
     *
     * @param deadLetterPublisher null to log and skip
     */
    public DefaultLanesErrorHandler(int attempts, java.time.Duration backOff, DeadLetterPublisher deadLetterPublisher) {
        this(new FixedBackOff(backOff == null ? 0 : backOff.toMillis(), Math.max(0, attempts)), deadLetterPublisher, List.of());
    }

    /**
     * @param deadLetterPublisher null to log and skip
     * @param notRetryable exception types never retried, besides the defaults
     */
    public DefaultLanesErrorHandler(BackOff backOff, DeadLetterPublisher deadLetterPublisher,
                                    Collection<Class<? extends Throwable>> notRetryable) {
        this.backOff = backOff;
        this.deadLetterPublisher = deadLetterPublisher;
        for (String name : DEFAULT_NOT_RETRYABLE) {
            if (ClassUtils.isPresent(name, getClass().getClassLoader())) {
                this.notRetryable.add(throwableType(name));
            }
        }
        this.notRetryable.addAll(notRetryable);
    }

    @SuppressWarnings("unchecked")
    private Class<? extends Throwable> throwableType(String name) {
        return (Class<? extends Throwable>) ClassUtils.resolveClassName(name, getClass().getClassLoader());
    }

    public BackOff backOff() {
        return backOff;
    }

    public DeadLetterPublisher deadLetterPublisher() {
        return deadLetterPublisher;
    }

    public Set<Class<? extends Throwable>> notRetryable() {
        return Set.copyOf(notRetryable);
    }

    /** Whether {@code failure}, or anything in its cause chain, is of a type that is never retried. */
    public boolean isRetryable(Throwable failure) {
        for (Throwable t = failure; t != null; t = t.getCause() == t ? null : t.getCause()) {
            for (Class<? extends Throwable> type : notRetryable) {
                if (type.isInstance(t)) {
                    return false;
                }
            }
        }
        return true;
    }

    @Override
    public boolean invoke(String listenerId, String groupId, List<? extends ConsumerRecord<?, ?>> records,
                          ListenerInvocation invocation, BooleanSupplier stopping) {
        List<? extends ConsumerRecord<?, ?>> remaining = records;
        BackOffExecution execution = backOff.start();
        int retries = 0;
        while (true) {
            try {
                invocation.invoke(remaining);
                return true;
            } catch (Exception e) {
                Throwable failure = e;
                int failed = -1;
                if (e instanceof BatchListenerFailedException batchFailure) {
                    failed = batchFailure.indexIn(remaining);
                    if (failed < 0) {
                        log.warn("Listener {} named a failed record that is not in its batch; the whole batch failed", listenerId);
                    }
                    failure = batchFailure.getCause() != null ? batchFailure.getCause() : batchFailure;
                }
                if (failed > 0) {
                    // The records before the failed one are processed: from now on only the rest is retried.
                    remaining = remaining.subList(failed, remaining.size());
                    failed = 0;
                    execution = backOff.start();
                    retries = 0;
                }
                boolean retryable = isRetryable(failure);
                long wait = retryable ? execution.nextBackOff() : BackOffExecution.STOP;
                if (wait == BackOffExecution.STOP) {
                    if (failed == 0 && remaining.size() > 1) {
                        recover(listenerId, groupId, remaining.get(0), failure, retries, retryable);
                        remaining = remaining.subList(1, remaining.size());
                        execution = backOff.start();
                        retries = 0;
                        continue;
                    }
                    for (ConsumerRecord<?, ?> record : remaining) {
                        recover(listenerId, groupId, record, failure, retries, retryable);
                    }
                    return true;
                }
                retries++;
                log.debug("Listener {} retry {} in {} ms after {}", listenerId, retries, wait, failure.toString());
                if (stopping.getAsBoolean() || !sleep(wait, stopping)) {
                    return false;
                }
            }
        }
    }

    private void recover(String listenerId, String groupId, ConsumerRecord<?, ?> record, Throwable failure, int retries,
                         boolean retryable) {
        String why = retryable ? "after " + retries + " retries" : "with an exception that is not retried";
        if (deadLetterPublisher == null) {
            log.error("Listener {} failed on {}-{} offset {} {}; skipping the record",
                    listenerId, record.topic(), record.partition(), record.offset(), why, failure);
            return;
        }
        try {
            deadLetterPublisher.publish(record, groupId, failure);
            log.warn("Listener {} failed on {}-{} offset {} {}; published it to {}: {}", listenerId,
                    record.topic(), record.partition(), record.offset(), why,
                    deadLetterPublisher.deadLetterTopic(record.topic()), failure.toString());
        } catch (RuntimeException e) {
            e.addSuppressed(failure);
            log.error("Listener {} failed on {}-{} offset {} and publishing it to the dead-letter topic failed too; skipping it",
                    listenerId, record.topic(), record.partition(), record.offset(), e);
        }
    }

    @Override
    public void handleDeserializationFailure(String listenerId, String groupId, RecordDeserializationException exception) {
        Throwable failure = exception.getCause() != null ? exception.getCause() : exception;
        String topic = exception.topicPartition().topic();
        int partition = exception.topicPartition().partition();
        if (deadLetterPublisher == null) {
            log.error("Listener {} cannot deserialize {}-{} offset {}; skipping the record", listenerId, topic, partition,
                    exception.offset(), exception);
            return;
        }
        byte[] key = bytes(exception.keyBuffer());
        byte[] value = bytes(exception.valueBuffer());
        ConsumerRecord<byte[], byte[]> raw = new ConsumerRecord<>(topic, partition, exception.offset(), exception.timestamp(),
                exception.timestampType(), key == null ? -1 : key.length, value == null ? -1 : value.length, key, value,
                exception.headers() == null ? new RecordHeaders() : exception.headers(), Optional.empty());
        deadLetterPublisher.publish(raw, groupId, failure);
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

    private boolean sleep(long millis, BooleanSupplier stopping) {
        long deadline = System.nanoTime() + millis * 1_000_000;
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
