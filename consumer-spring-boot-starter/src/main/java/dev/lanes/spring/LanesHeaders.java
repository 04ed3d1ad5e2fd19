package dev.lanes.spring;

/**
 * Names of the record facts a listener method can take with {@code @Header}, besides the record's own headers.
 * They are spring-kafka's names ({@code KafkaHeaders.RECEIVED_TOPIC} and so on), so listener methods written
 * for spring-kafka keep working.
 */
public final class LanesHeaders {

    /** The topic, a String. */
    public static final String RECEIVED_TOPIC = "kafka_receivedTopic";
    /** The partition, an int. */
    public static final String RECEIVED_PARTITION = "kafka_receivedPartitionId";
    /** The offset, a long. */
    public static final String OFFSET = "kafka_offset";
    /** The deserialized key. */
    public static final String RECEIVED_KEY = "kafka_receivedMessageKey";
    /** The timestamp, a long. */
    public static final String RECEIVED_TIMESTAMP = "kafka_receivedTimestamp";
    /** The timestamp type, a String ({@code CreateTime} or {@code LogAppendTime}). */
    public static final String TIMESTAMP_TYPE = "kafka_timestampType";
    /** The consumer group, a String. */
    public static final String GROUP_ID = "kafka_groupId";

    private LanesHeaders() {
    }
}
