package dev.lanes.consumer.internals.app;

import dev.lanes.consumer.internals.common.Closeables;
import org.apache.kafka.clients.consumer.ConsumerInterceptor;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.List;
import java.util.Map;

/**
 * The application's {@link ConsumerInterceptor}s, run on the application thread (R3) in their configured
 * order. As with KafkaConsumer, an interceptor that throws is logged and skipped, never the caller's problem.
 *
 * <p>Application thread only.
 */
public final class Interceptors<K, V> {

    private static final Logger log = LoggerFactory.getLogger(Interceptors.class);

    private final List<ConsumerInterceptor<K, V>> interceptors;

    public Interceptors(List<ConsumerInterceptor<K, V>> interceptors) {
        this.interceptors = List.copyOf(interceptors);
    }

    public List<ConsumerInterceptor<K, V>> all() {
        return interceptors;
    }

    public boolean isEmpty() {
        return interceptors.isEmpty();
    }

    /** Passes records through every interceptor's onConsume; one that throws leaves the records as they were. */
    public ConsumerRecords<K, V> onConsume(ConsumerRecords<K, V> records) {
        ConsumerRecords<K, V> result = records;
        for (ConsumerInterceptor<K, V> interceptor : interceptors) {
            try {
                result = interceptor.onConsume(result);
            } catch (Exception e) {
                log.warn("Interceptor {} threw in onConsume; its result is ignored", interceptor.getClass().getName(), e);
            }
        }
        return result;
    }

    /** Tells every interceptor of committed offsets. */
    public void onCommit(Map<TopicPartition, OffsetAndMetadata> committed) {
        for (ConsumerInterceptor<K, V> interceptor : interceptors) {
            try {
                interceptor.onCommit(committed);
            } catch (Exception e) {
                log.warn("Interceptor {} threw in onCommit", interceptor.getClass().getName(), e);
            }
        }
    }

    /** Closes every interceptor; a failure is logged. */
    public void closeQuietly() {
        interceptors.forEach(interceptor -> Closeables.closeQuietly(interceptor, "consumer interceptor"));
    }
}
