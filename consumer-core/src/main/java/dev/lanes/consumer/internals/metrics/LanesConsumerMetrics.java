package dev.lanes.consumer.internals.metrics;

import dev.lanes.consumer.LanesMetricNames;
import dev.lanes.consumer.QueueTimeObserver;
import dev.lanes.consumer.internals.shared.LaneName;
import org.apache.kafka.common.MetricName;
import org.apache.kafka.common.metrics.Gauge;
import org.apache.kafka.common.metrics.MetricConfig;
import org.apache.kafka.common.metrics.Metrics;
import org.apache.kafka.common.metrics.Sensor;
import org.apache.kafka.common.metrics.stats.Avg;
import org.apache.kafka.common.metrics.stats.CumulativeCount;
import org.apache.kafka.common.metrics.stats.CumulativeSum;
import org.apache.kafka.common.metrics.stats.Max;
import org.apache.kafka.common.metrics.stats.Percentile;
import org.apache.kafka.common.metrics.stats.Percentiles;
import org.apache.kafka.common.metrics.stats.Rate;
import org.apache.kafka.common.metrics.stats.WindowedCount;

import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.LongSupplier;

/**
 * Lanes' own metrics (R17), in kafka-clients' {@link Metrics} registry under the group
 * {@code lanes-consumer-metrics} with the tag {@code client-id} (and {@code lane} for per-lane metrics),
 * so that {@code metrics()}, JMX and Micrometer's KafkaClientMetrics see them like any client metric.
 *
 * <p>Sensors are thread-safe: the background thread and the application thread both record here.
 * Ratios are rates of seconds per second: recording the seconds spent busy (or idle) as they pass gives,
 * over the sample window, the fraction of time spent that way.
 */
public final class LanesConsumerMetrics implements AutoCloseable {

    private static final String GROUP = LanesMetricNames.GROUP;

    /** Queue times above this are folded into the top bucket of the percentile histogram. */
    private static final double MAX_QUEUE_TIME_MS = 30_000;
    private static final int HISTOGRAM_BYTES = 4096;

    private final Metrics metrics;
    private final Map<String, String> tags;
    private final Map<LaneName, Sensor> laneQueueTime = new EnumMap<>(LaneName.class);
    private final Sensor eventsExpired;
    private final Sensor requestsExpiredUnsent;
    private final Sensor requestsCoalesced;
    private final Sensor backPressureRejections;
    private final Sensor fetchPausedTime;
    private final Sensor backgroundCpuTime;
    private final Sensor backgroundIdleTime;
    private final Sensor applicationPollIdleTime;
    private final Sensor applicationPollTime;
    private final Sensor recordsConsumed;
    private final Map<String, Sensor> requestsSent = new ConcurrentHashMap<>();
    private final List<QueueTimeObserver> queueTimeObservers = new CopyOnWriteArrayList<>();
    private final Sensor heartbeatResponseTime;
    private final Sensor heartbeatGap;
    private final Sensor fetchBufferBytes;
    private final Sensor rebalances;
    private final ConsumerThreadMetrics consumerThread;
    private final FetchManagerMetrics fetchManager;
    private volatile CoordinatorMetrics coordinator;

    public LanesConsumerMetrics(Metrics metrics, String clientId) {
        this.metrics = metrics;
        this.tags = Map.of(LanesMetricNames.CLIENT_ID_TAG, clientId);
        this.consumerThread = new ConsumerThreadMetrics(metrics, tags);
        this.fetchManager = new FetchManagerMetrics(metrics, tags);
        for (LaneName lane : LaneName.values()) {
            Map<String, String> laneTags = laneTags(lane);
            Sensor sensor = metrics.sensor("lanes.lane." + lane.tag() + ".queue-time");
            sensor.add(metrics.metricName(LanesMetricNames.QUEUE_TIME_AVG, GROUP,
                    "Average time an event waited in the lane before the background thread took it, in ms", laneTags), new Avg());
            sensor.add(metrics.metricName(LanesMetricNames.QUEUE_TIME_MAX, GROUP,
                    "Longest time an event waited in the lane, in ms", laneTags), new Max());
            sensor.add(new Percentiles(HISTOGRAM_BYTES, MAX_QUEUE_TIME_MS, Percentiles.BucketSizing.LINEAR,
                    new Percentile(metrics.metricName(LanesMetricNames.QUEUE_TIME_P50, GROUP, "Median time events waited in the lane, in ms", laneTags), 50),
                    new Percentile(metrics.metricName(LanesMetricNames.QUEUE_TIME_P99, GROUP, "99th percentile of the time events waited in the lane, in ms", laneTags), 99),
                    new Percentile(metrics.metricName(LanesMetricNames.QUEUE_TIME_P999, GROUP, "99.9th percentile of the time events waited in the lane, in ms", laneTags), 99.9)));
            sensor.add(metrics.metricName(LanesMetricNames.EVENTS_TOTAL, GROUP, "Events taken from the lane", laneTags), new CumulativeCount());
            laneQueueTime.put(lane, sensor);
        }
        eventsExpired = cumulative(LanesMetricNames.EVENTS_EXPIRED_TOTAL, "Events whose deadline passed before their work was done");
        requestsExpiredUnsent = cumulative(LanesMetricNames.REQUESTS_EXPIRED_UNSENT_TOTAL,
                "Requests dropped unsent because their caller's deadline had passed");
        requestsCoalesced = cumulative(LanesMetricNames.REQUESTS_COALESCED_TOTAL,
                "Callers served by a request already pending or in flight instead of a request of their own");
        backPressureRejections = cumulative(LanesMetricNames.BACK_PRESSURE_REJECTIONS_TOTAL,
                "Non-blocking calls refused because the user lane was full");
        fetchPausedTime = ratio(LanesMetricNames.FETCH_PAUSED_RATIO, "Fraction of time fetching was paused because the fetch buffer was full");
        backgroundCpuTime = ratio(LanesMetricNames.BACKGROUND_THREAD_CPU_RATIO, "CPU time of the background thread per second of wall time");
        backgroundIdleTime = ratio(LanesMetricNames.BACKGROUND_THREAD_IDLE_RATIO, "Fraction of time the background thread was blocked waiting for work");
        applicationPollIdleTime = ratio(LanesMetricNames.APPLICATION_POLL_IDLE_RATIO,
                "Fraction of time the application thread spent waiting for records inside poll");
        applicationPollTime = metrics.sensor("lanes.application.poll-time");
        heartbeatResponseTime = metrics.sensor("lanes.heartbeat-response-time");
        heartbeatResponseTime.add(metrics.metricName(LanesMetricNames.HEARTBEAT_RESPONSE_TIME_AVG, GROUP,
                "Average time from sending a group heartbeat to its response, in ms", tags), new Avg());
        heartbeatResponseTime.add(metrics.metricName(LanesMetricNames.HEARTBEAT_RESPONSE_TIME_MAX, GROUP,
                "Longest time from sending a group heartbeat to its response, in ms", tags), new Max());
        heartbeatResponseTime.add(metrics.metricName(LanesMetricNames.HEARTBEAT_RATE, GROUP, "Group heartbeats answered per second", tags),
                new Rate(new WindowedCount()));
        heartbeatResponseTime.add(metrics.metricName(LanesMetricNames.HEARTBEAT_TOTAL, GROUP, "Group heartbeats answered", tags),
                new CumulativeCount());
        heartbeatGap = metrics.sensor("lanes.heartbeat-gap");
        heartbeatGap.add(metrics.metricName(LanesMetricNames.HEARTBEAT_GAP_AVG, GROUP,
                "Average time between consecutive answered group heartbeats, in ms", tags), new Avg());
        heartbeatGap.add(metrics.metricName(LanesMetricNames.HEARTBEAT_GAP_MAX, GROUP,
                "Longest time between consecutive answered group heartbeats, in ms; compare with heartbeat-interval-ms", tags),
                new Max());
        fetchBufferBytes = metrics.sensor("lanes.fetch-buffer-bytes");
        fetchBufferBytes.add(metrics.metricName(LanesMetricNames.FETCH_BUFFER_BYTES_PEAK, GROUP,
                "Most bytes of fetched data waiting for the application at once (a gauge read now and then misses peaks)",
                tags), new Max());
        rebalances = metrics.sensor("lanes.rebalances");
        rebalances.add(metrics.metricName(LanesMetricNames.REBALANCE_TOTAL, GROUP, "Reconciliations of a new assignment completed", tags),
                new CumulativeCount());
        rebalances.add(metrics.metricName(LanesMetricNames.REBALANCE_LATENCY_AVG, GROUP,
                "Average time spent reconciling an assignment (revoke, commit, callbacks, assign), in ms", tags), new Avg());
        rebalances.add(metrics.metricName(LanesMetricNames.REBALANCE_LATENCY_MAX, GROUP,
                "Longest time spent reconciling an assignment, in ms", tags), new Max());
        recordsConsumed = metrics.sensor("lanes.records-consumed");
        recordsConsumed.add(metrics.metricName(LanesMetricNames.RECORDS_CONSUMED_RATE, GROUP, "Records returned by poll per second", tags), new Rate());
        recordsConsumed.add(metrics.metricName(LanesMetricNames.RECORDS_CONSUMED_TOTAL, GROUP, "Records returned by poll", tags), new CumulativeSum());
    }

    private Map<String, String> laneTags(LaneName lane) {
        Map<String, String> laneTags = new LinkedHashMap<>(tags);
        laneTags.put(LanesMetricNames.LANE_TAG, lane.tag());
        return laneTags;
    }

    private Sensor cumulative(String name, String description) {
        Sensor sensor = metrics.sensor("lanes." + name);
        sensor.add(metrics.metricName(name, GROUP, description, tags), new CumulativeSum());
        return sensor;
    }

    private Sensor ratio(String name, String description) {
        Sensor sensor = metrics.sensor("lanes." + name);
        sensor.add(metrics.metricName(name, GROUP, description, tags), new TimeRatio());
        return sensor;
    }

    /** Registers the gauges of a lane: its depth and its capacity. */
    public void registerLane(LaneName lane, LongSupplier size, int capacity) {
        Map<String, String> laneTags = laneTags(lane);
        metrics.addMetric(metrics.metricName(LanesMetricNames.LANE_SIZE, GROUP, "Events waiting in the lane", laneTags),
                (Gauge<Long>) (config, now) -> size.getAsLong());
        metrics.addMetric(metrics.metricName(LanesMetricNames.LANE_CAPACITY, GROUP, "Capacity of the lane", laneTags),
                (Gauge<Integer>) (config, now) -> capacity);
    }

    /** Registers the lag gauge: records between the consumed positions and the ends of the log. */
    public void registerLag(LongSupplier lag) {
        metrics.addMetric(metrics.metricName(LanesMetricNames.RECORDS_LAG, GROUP,
                "Records between the consumer's positions and the high watermarks of its partitions", tags),
                (Gauge<Long>) (config, now) -> lag.getAsLong());
    }

    /** Registers the gauges of the fetch buffer: bytes held and the bound. */
    public void registerFetchBuffer(LongSupplier bytes, long bound) {
        metrics.addMetric(metrics.metricName(LanesMetricNames.FETCH_BUFFER_BYTES, GROUP,
                "Bytes of fetched data waiting for the application", tags), (Gauge<Long>) (config, now) -> bytes.getAsLong());
        metrics.addMetric(metrics.metricName(LanesMetricNames.FETCH_BUFFER_MAX_BYTES, GROUP,
                "Bound on fetched data waiting for the application (lanes.fetch.buffer.max.bytes)", tags),
                (Gauge<Long>) (config, now) -> bound);
    }

    /** KafkaConsumer's metrics of its calls and threads ({@code consumer-metrics}). */
    public ConsumerThreadMetrics consumerThread() {
        return consumerThread;
    }

    /** KafkaConsumer's fetch metrics ({@code consumer-fetch-manager-metrics}). */
    public FetchManagerMetrics fetchManager() {
        return fetchManager;
    }

    /**
     * KafkaConsumer's group metrics ({@code consumer-coordinator-metrics}); registered by {@link #registerGroup},
     * that is only with a group.id.
     */
    public CoordinatorMetrics coordinator() {
        CoordinatorMetrics registered = coordinator;
        if (registered == null) {
            throw new IllegalStateException("The group metrics are registered only for a consumer with a group.id");
        }
        return registered;
    }

    /**
     * Registers the gauges of group membership: the heartbeat interval the coordinator gave, the time since
     * the last heartbeat answer, the member state (as the ordinal of MemberState, with its name in the
     * description) and the number of partitions assigned; and KafkaConsumer's group metrics, whose
     * {@code last-heartbeat-seconds-ago} counts from {@code lastHeartbeatSentMs}.
     */
    public void registerGroup(LongSupplier heartbeatIntervalMs, LongSupplier lastHeartbeatMsAgo, LongSupplier lastHeartbeatSentMs,
                              LongSupplier memberStateOrdinal, String memberStates, LongSupplier assignedPartitions) {
        coordinator = new CoordinatorMetrics(metrics, tags, lastHeartbeatSentMs);
        metrics.addMetric(metrics.metricName(LanesMetricNames.HEARTBEAT_INTERVAL_MS, GROUP,
                "Heartbeat interval the group coordinator asked for", tags), (Gauge<Long>) (c, now) -> heartbeatIntervalMs.getAsLong());
        metrics.addMetric(metrics.metricName(LanesMetricNames.LAST_HEARTBEAT_MS_AGO, GROUP,
                "Time since the last heartbeat was answered, in ms (-1 before the first of the current membership)", tags),
                (Gauge<Long>) (c, now) -> lastHeartbeatMsAgo.getAsLong());
        metrics.addMetric(metrics.metricName(LanesMetricNames.MEMBER_STATE, GROUP,
                "State of the group member, as an ordinal of " + memberStates, tags), (Gauge<Long>) (c, now) -> memberStateOrdinal.getAsLong());
        metrics.addMetric(metrics.metricName(LanesMetricNames.ASSIGNED_PARTITIONS, GROUP,
                "Partitions currently assigned to this consumer", tags), (Gauge<Long>) (c, now) -> assignedPartitions.getAsLong());
    }

    public void heartbeatAnswered(long responseTimeMs) {
        heartbeatResponseTime.record(responseTimeMs);
        CoordinatorMetrics group = coordinator;
        if (group != null) {
            group.heartbeatAnswered(responseTimeMs);
        }
    }

    /** The time since the previous answered heartbeat of the same membership, when a heartbeat is answered. */
    public void heartbeatGap(long gapMs) {
        heartbeatGap.record(gapMs);
    }

    /** The bytes the fetch buffer holds right after fetched data was added to it. */
    public void fetchBufferFilled(long bytes) {
        fetchBufferBytes.record(bytes);
    }

    public void rebalanceCompleted(long nanos, long nowMs) {
        rebalances.record(nanos / 1_000_000.0);
        CoordinatorMetrics group = coordinator;
        if (group != null) {
            group.rebalanceCompleted(nanos, nowMs);
        }
    }

    /** An offset commit was answered {@code latencyMs} after it was sent. */
    public void commitAnswered(long latencyMs) {
        CoordinatorMetrics group = coordinator;
        if (group != null) {
            group.commitAnswered(latencyMs);
        }
    }

    /** Application thread: how long one of the application's rebalance callbacks ran. */
    public void callbackRan(dev.lanes.consumer.internals.events.RebalanceCallback.Kind kind, long nanos) {
        CoordinatorMetrics group = coordinator;
        if (group != null) {
            group.callbackRan(kind, nanos);
        }
    }

    /** A reconciliation ended without completing (the member was fenced or left, or a step failed). */
    public void rebalanceFailed() {
        CoordinatorMetrics group = coordinator;
        if (group != null) {
            group.rebalanceFailed();
        }
    }

    public void laneQueueTime(LaneName lane, long nanos) {
        laneQueueTime.get(lane).record(nanos / 1_000_000.0);
        consumerThread.applicationEventQueued(nanos);
        for (QueueTimeObserver observer : queueTimeObservers) {
            observer.queued(lane.tag(), nanos);
        }
    }

    public void addQueueTimeObserver(QueueTimeObserver observer) {
        queueTimeObservers.add(observer);
    }

    public void removeQueueTimeObserver(QueueTimeObserver observer) {
        queueTimeObservers.remove(observer);
    }

    public void eventExpired() {
        eventsExpired.record();
        consumerThread.applicationEventExpired();
    }

    public void requestExpiredUnsent() {
        requestsExpiredUnsent.record();
    }

    public void requestCoalesced() {
        requestsCoalesced.record();
    }

    public void backPressureRejection() {
        backPressureRejections.record();
    }

    public void fetchPaused(long nanos) {
        fetchPausedTime.record(nanos / 1e9);
    }

    public void backgroundCpu(long nanos) {
        backgroundCpuTime.record(nanos / 1e9);
    }

    public void backgroundIdle(long nanos) {
        backgroundIdleTime.record(nanos / 1e9);
    }

    public void applicationPollIdle(long nanos) {
        applicationPollIdleTime.record(nanos / 1e9);
    }

    public void recordsConsumed(int count) {
        recordsConsumed.record(count);
    }

    /** Counts requests sent, per API, so that what went on the wire can be observed (and tested). */
    public void requestSent(String api) {
        requestsSent.computeIfAbsent(api, name -> {
            Map<String, String> apiTags = new LinkedHashMap<>(tags);
            apiTags.put("api", name);
            Sensor sensor = metrics.sensor("lanes.requests-sent." + name);
            sensor.add(metrics.metricName(LanesMetricNames.REQUESTS_SENT_TOTAL, GROUP, "Requests sent, per API", apiTags), new CumulativeSum());
            return sensor;
        }).record();
    }

    /** The value of one of this client's Lanes metrics, for tests and diagnostics. */
    public double value(String name, Map<String, String> extraTags) {
        Map<String, String> all = new LinkedHashMap<>(tags);
        all.putAll(extraTags);
        MetricName metricName = metrics.metricName(name, GROUP, "", all);
        var metric = metrics.metric(metricName);
        return metric == null ? 0.0 : ((Number) metric.metricValue()).doubleValue();
    }

    @Override
    public void close() {
        metrics.close();
    }

    /**
     * Seconds spent per second of wall time. A wait is recorded when it ends, so one that began in an
     * earlier sample window would push the current window above 1; a fraction of time cannot be.
     */
    private static final class TimeRatio extends Rate {
        @Override
        public double measure(MetricConfig config, long now) {
            return Math.min(1.0, super.measure(config, now));
        }
    }
}
