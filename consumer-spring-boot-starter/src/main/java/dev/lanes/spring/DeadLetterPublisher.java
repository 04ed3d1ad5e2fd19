package dev.lanes.spring;

import org.apache.kafka.clients.consumer.ConsumerRecord;

/**
 * Publishes a record that could not be processed (or deserialized) to its dead-letter topic, with the original
 * key, value and headers plus headers describing where it came from and why it failed. The header names (and
 * their encodings) are spring-kafka's, so tools written for spring-kafka's dead-letter topics read them:
 * <ul>
 *   <li>{@value #ORIGINAL_TOPIC}, {@value #ORIGINAL_TIMESTAMP_TYPE}, {@value #ORIGINAL_CONSUMER_GROUP}: UTF-8</li>
 *   <li>{@value #ORIGINAL_PARTITION}: a 4-byte big-endian int</li>
 *   <li>{@value #ORIGINAL_OFFSET}, {@value #ORIGINAL_TIMESTAMP}: 8-byte big-endian longs</li>
 *   <li>{@value #EXCEPTION_FQCN}, {@value #EXCEPTION_CAUSE_FQCN}, {@value #EXCEPTION_MESSAGE},
 *       {@value #EXCEPTION_STACKTRACE}: UTF-8</li>
 * </ul>
 */
public interface DeadLetterPublisher {

    String ORIGINAL_TOPIC = "kafka_dlt-original-topic";
    String ORIGINAL_PARTITION = "kafka_dlt-original-partition";
    String ORIGINAL_OFFSET = "kafka_dlt-original-offset";
    String ORIGINAL_TIMESTAMP = "kafka_dlt-original-timestamp";
    String ORIGINAL_TIMESTAMP_TYPE = "kafka_dlt-original-timestamp-type";
    String ORIGINAL_CONSUMER_GROUP = "kafka_dlt-original-consumer-group";
    String EXCEPTION_FQCN = "kafka_dlt-exception-fqcn";
    String EXCEPTION_CAUSE_FQCN = "kafka_dlt-exception-cause-fqcn";
    String EXCEPTION_MESSAGE = "kafka_dlt-exception-message";
    String EXCEPTION_STACKTRACE = "kafka_dlt-exception-stacktrace";

    /**
     * Publishes {@code record} (as the consumer returned it, or with its raw bytes when it could not be
     * deserialized) and waits until the broker acknowledged it; throws when that fails.
     *
     * @param groupId the consumer group of the listener that failed
     */
    void publish(ConsumerRecord<?, ?> record, String groupId, Throwable failure);

    /** The dead-letter topic of {@code topic}. */
    String deadLetterTopic(String topic);
}
