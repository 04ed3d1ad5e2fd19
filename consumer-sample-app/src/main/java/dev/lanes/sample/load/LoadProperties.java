package dev.lanes.sample.load;

import org.springframework.boot.context.properties.ConfigurationProperties;

/**
 * The synthetic load the sample produces.
 *
 * @param topic            Topic the load is produced to and the listener consumes.
 * @param partitions       Partitions of the topic, created at start-up if it does not exist.
 * @param recordsPerSecond Records produced per second.
 * @param payloadBytes     Size of each record's value in bytes.
 * @param enabled          Whether the load generator runs.
 */
@ConfigurationProperties("sample.load")
public record LoadProperties(String topic, int partitions, int recordsPerSecond, int payloadBytes, boolean enabled) {

    public LoadProperties {
        if (topic == null || topic.isBlank()) {
            topic = "lanes-sample";
        }
        if (partitions < 1) {
            throw new IllegalArgumentException("sample.load.partitions must be at least 1, was " + partitions);
        }
        if (recordsPerSecond < 0) {
            throw new IllegalArgumentException("sample.load.records-per-second must not be negative, was " + recordsPerSecond);
        }
        if (payloadBytes < 0) {
            throw new IllegalArgumentException("sample.load.payload-bytes must not be negative, was " + payloadBytes);
        }
    }
}
