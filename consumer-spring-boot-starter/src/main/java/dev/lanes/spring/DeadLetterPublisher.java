package dev.lanes.spring;

import org.apache.kafka.common.header.Headers;

/**
 * Publishes a record that could not be processed (or deserialized) to its dead-letter topic, with the
 * original key and value bytes, the original headers and headers describing the failure:
 * {@value #EXCEPTION_CLASS}, {@value #EXCEPTION_MESSAGE}, {@value #ORIGINAL_TOPIC},
 * {@value #ORIGINAL_PARTITION} and {@value #ORIGINAL_OFFSET}.
 */
public interface DeadLetterPublisher {

    String EXCEPTION_CLASS = "lanes.exception.class";
    String EXCEPTION_MESSAGE = "lanes.exception.message";
    String ORIGINAL_TOPIC = "lanes.original.topic";
    String ORIGINAL_PARTITION = "lanes.original.partition";
    String ORIGINAL_OFFSET = "lanes.original.offset";

    /** Publishes and waits until the broker acknowledged the record; throws when that fails. */
    void publish(String originalTopic, int originalPartition, long originalOffset, byte[] key, byte[] value,
                 Headers headers, Throwable failure);

    /** The dead-letter topic of {@code topic}. */
    String deadLetterTopic(String topic);
}
