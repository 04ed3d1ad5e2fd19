package dev.lanes.consumer;

/**
 * The names of Lanes' own metrics: the kafka-clients metric group, its tags and every metric in it (R17),
 * as {@link LanesConsumer#metrics()} reports them. The consumer registers them under these names, and
 * the Spring starter, the dashboard and the tests read them by these names; the standard KafkaConsumer
 * metrics keep their own groups ({@code consumer-metrics}, {@code consumer-fetch-manager-metrics},
 * {@code consumer-coordinator-metrics}).
 */
public final class LanesMetricNames {

    /** The metric group of every Lanes metric. */
    public static final String GROUP = "lanes-consumer-metrics";
    /** The tag every Lanes metric carries: the consumer's client.id. */
    public static final String CLIENT_ID_TAG = "client-id";
    /** The tag of per-lane metrics: {@code system} or {@code user}. */
    public static final String LANE_TAG = "lane";

    public static final String APPLICATION_POLL_IDLE_RATIO = "application-poll-idle-ratio";
    public static final String ASSIGNED_PARTITIONS = "assigned-partitions";
    public static final String BACK_PRESSURE_REJECTIONS_TOTAL = "back-pressure-rejections-total";
    public static final String BACKGROUND_THREAD_CPU_RATIO = "background-thread-cpu-ratio";
    public static final String BACKGROUND_THREAD_IDLE_RATIO = "background-thread-idle-ratio";
    public static final String EVENTS_EXPIRED_TOTAL = "events-expired-total";
    public static final String EVENTS_TOTAL = "events-total";
    public static final String FETCH_BUFFER_BYTES = "fetch-buffer-bytes";
    public static final String FETCH_BUFFER_BYTES_PEAK = "fetch-buffer-bytes-peak";
    public static final String FETCH_BUFFER_MAX_BYTES = "fetch-buffer-max-bytes";
    public static final String FETCH_PAUSED_RATIO = "fetch-paused-ratio";
    public static final String HEARTBEAT_GAP_AVG = "heartbeat-gap-avg";
    public static final String HEARTBEAT_GAP_MAX = "heartbeat-gap-max";
    public static final String HEARTBEAT_INTERVAL_MS = "heartbeat-interval-ms";
    public static final String HEARTBEAT_RATE = "heartbeat-rate";
    public static final String HEARTBEAT_RESPONSE_TIME_AVG = "heartbeat-response-time-avg";
    public static final String HEARTBEAT_RESPONSE_TIME_MAX = "heartbeat-response-time-max";
    public static final String HEARTBEAT_TOTAL = "heartbeat-total";
    public static final String LANE_CAPACITY = "lane-capacity";
    public static final String LANE_SIZE = "lane-size";
    public static final String LAST_HEARTBEAT_MS_AGO = "last-heartbeat-ms-ago";
    public static final String MEMBER_STATE = "member-state";
    public static final String QUEUE_TIME_AVG = "queue-time-avg";
    public static final String QUEUE_TIME_MAX = "queue-time-max";
    public static final String QUEUE_TIME_P50 = "queue-time-p50";
    public static final String QUEUE_TIME_P99 = "queue-time-p99";
    public static final String QUEUE_TIME_P999 = "queue-time-p999";
    public static final String REBALANCE_LATENCY_AVG = "rebalance-latency-avg";
    public static final String REBALANCE_LATENCY_MAX = "rebalance-latency-max";
    public static final String REBALANCE_TOTAL = "rebalance-total";
    public static final String RECORDS_CONSUMED_RATE = "records-consumed-rate";
    public static final String RECORDS_CONSUMED_TOTAL = "records-consumed-total";
    public static final String RECORDS_LAG = "records-lag";
    public static final String REQUESTS_COALESCED_TOTAL = "requests-coalesced-total";
    public static final String REQUESTS_EXPIRED_UNSENT_TOTAL = "requests-expired-unsent-total";
    public static final String REQUESTS_SENT_TOTAL = "requests-sent-total";

    private LanesMetricNames() {
    }
}
