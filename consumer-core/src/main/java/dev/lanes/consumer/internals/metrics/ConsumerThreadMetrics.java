package dev.lanes.consumer.internals.metrics;

import org.apache.kafka.common.MetricName;
import org.apache.kafka.common.metrics.Gauge;
import org.apache.kafka.common.metrics.Metrics;
import org.apache.kafka.common.metrics.Sensor;
import org.apache.kafka.common.metrics.stats.Avg;
import org.apache.kafka.common.metrics.stats.CumulativeCount;
import org.apache.kafka.common.metrics.stats.CumulativeSum;
import org.apache.kafka.common.metrics.stats.Max;

import java.util.Map;
import java.util.function.LongSupplier;

/**
 * KafkaConsumer's metrics of the application's calls and of the two threads, in its group {@code consumer-metrics}
 * with its names and meaning. The poll metrics are those of every KafkaConsumer; the queue metrics are those of
 * KafkaConsumer with {@code group.protocol=consumer}, whose two threads Lanes shares, mapped onto Lanes' parts:
 * the application event queue is the two lanes, the background event queue holds the rebalance callbacks the
 * application thread is asked to run, and the unsent requests wait for a connection in the background thread.
 * Thread-safe.
 */
public final class ConsumerThreadMetrics {

    public static final String GROUP = "consumer-metrics";

    private final Metrics metrics;
    private final Map<String, String> tags;
    private final Sensor timeBetweenPolls;
    private final Sensor pollIdleRatio;
    private final Sensor commitSyncTime;
    private final Sensor committedTime;
    private final Sensor applicationEventQueueTime;
    private final Sensor applicationEventProcessingTime;
    private final Sensor applicationEventsExpired;
    private final Sensor backgroundEventQueueTime;
    private final Sensor backgroundEventProcessingTime;
    private final Sensor timeBetweenNetworkThreadPolls;
    private final Sensor unsentRequestQueueTime;
    /** Application thread. */
    private long lastPollMs = -1;
    private long pollStartMs;
    /** Background thread. */
    private long lastNetworkThreadPollMs = -1;
    private volatile long lastPollStartMs = -1;

    ConsumerThreadMetrics(Metrics metrics, Map<String, String> tags) {
        this.metrics = metrics;
        this.tags = tags;
        timeBetweenPolls = metrics.sensor("time-between-poll");
        timeBetweenPolls.add(name("time-between-poll-avg", "Average time between two poll() calls, in ms"), new Avg());
        timeBetweenPolls.add(name("time-between-poll-max", "Longest time between two poll() calls, in ms"), new Max());
        pollIdleRatio = metrics.sensor("poll-idle-ratio");
        pollIdleRatio.add(name("poll-idle-ratio-avg", "Average fraction of the time between two poll() calls that "
                + "the application spent inside poll()"), new Avg());
        metrics.addMetric(name("last-poll-seconds-ago", "Seconds since the application last called poll()"),
                (Gauge<Double>) (config, now) -> lastPollStartMs < 0 ? -1.0 : (now - lastPollStartMs) / 1000.0);
        commitSyncTime = metrics.sensor("commit-sync-time-ns-total");
        commitSyncTime.add(name("commit-sync-time-ns-total", "Time the application spent in commitSync(), in ns"),
                new CumulativeSum());
        committedTime = metrics.sensor("committed-time-ns-total");
        committedTime.add(name("committed-time-ns-total", "Time the application spent in committed(), in ns"),
                new CumulativeSum());
        applicationEventQueueTime = metrics.sensor("application-event-queue-time");
        applicationEventQueueTime.add(name("application-event-queue-time-avg",
                "Average time an event waited in a lane before the background thread took it, in ms"), new Avg());
        applicationEventQueueTime.add(name("application-event-queue-time-max",
                "Longest time an event waited in a lane before the background thread took it, in ms"), new Max());
        applicationEventProcessingTime = metrics.sensor("application-event-queue-processing-time");
        applicationEventProcessingTime.add(name("application-event-queue-processing-time-avg",
                "Average time the background thread spent taking events from the lanes and starting their work, in ms"),
                new Avg());
        applicationEventProcessingTime.add(name("application-event-queue-processing-time-max",
                "Longest time the background thread spent taking events from the lanes and starting their work, in ms"),
                new Max());
        applicationEventsExpired = metrics.sensor("application-events-expired");
        applicationEventsExpired.add(name("application-events-expired-count",
                "Events whose deadline passed before their work was done"), new CumulativeCount());
        backgroundEventQueueTime = metrics.sensor("background-event-queue-time");
        backgroundEventQueueTime.add(name("background-event-queue-time-avg",
                "Average time a rebalance callback waited for the application thread to run it, in ms"), new Avg());
        backgroundEventQueueTime.add(name("background-event-queue-time-max",
                "Longest time a rebalance callback waited for the application thread to run it, in ms"), new Max());
        backgroundEventProcessingTime = metrics.sensor("background-event-queue-processing-time");
        backgroundEventProcessingTime.add(name("background-event-queue-processing-time-avg",
                "Average time the application thread spent running the rebalance callbacks waiting for it, in ms"),
                new Avg());
        backgroundEventProcessingTime.add(name("background-event-queue-processing-time-max",
                "Longest time the application thread spent running the rebalance callbacks waiting for it, in ms"),
                new Max());
        timeBetweenNetworkThreadPolls = metrics.sensor("time-between-network-thread-poll");
        timeBetweenNetworkThreadPolls.add(name("time-between-network-thread-poll-avg",
                "Average time between two iterations of the background thread's loop, in ms"), new Avg());
        timeBetweenNetworkThreadPolls.add(name("time-between-network-thread-poll-max",
                "Longest time between two iterations of the background thread's loop, in ms"), new Max());
        unsentRequestQueueTime = metrics.sensor("unsent-requests-queue-time");
        unsentRequestQueueTime.add(name("unsent-requests-queue-time-avg",
                "Average time a request waited for its broker's connection before it was sent, in ms"), new Avg());
        unsentRequestQueueTime.add(name("unsent-requests-queue-time-max",
                "Longest time a request waited for its broker's connection before it was sent, in ms"), new Max());
    }

    private MetricName name(String name, String description) {
        return metrics.metricName(name, GROUP, description, tags);
    }

    /** Registers the sizes of the queues between the threads and of the requests not sent yet. */
    public void registerQueues(LongSupplier applicationEvents, LongSupplier backgroundEvents, LongSupplier unsentRequests) {
        metrics.addMetric(name("application-event-queue-size", "Events waiting in the lanes"),
                (Gauge<Long>) (config, now) -> applicationEvents.getAsLong());
        metrics.addMetric(name("background-event-queue-size", "Rebalance callbacks waiting for the application thread"),
                (Gauge<Long>) (config, now) -> backgroundEvents.getAsLong());
        metrics.addMetric(name("unsent-requests-queue-size", "Requests waiting for their broker's connection"),
                (Gauge<Long>) (config, now) -> unsentRequests.getAsLong());
    }

    /** Application thread: poll() was entered. */
    public void pollStarted(long nowMs) {
        if (lastPollMs >= 0) {
            timeBetweenPolls.record(nowMs - lastPollMs);
        }
        pollStartMs = nowMs;
        lastPollStartMs = nowMs;
    }

    /** Application thread: poll() returned; its share of the time since the previous poll() is the idle ratio. */
    public void pollEnded(long nowMs) {
        long pollMs = nowMs - pollStartMs;
        long sincePreviousMs = lastPollMs < 0 ? pollMs : nowMs - lastPollMs;
        pollIdleRatio.record(sincePreviousMs <= 0 ? 1.0 : Math.min(1.0, (double) pollMs / sincePreviousMs));
        lastPollMs = pollStartMs;
    }

    public void commitSyncTime(long nanos) {
        commitSyncTime.record(nanos);
    }

    public void committedTime(long nanos) {
        committedTime.record(nanos);
    }

    public void applicationEventQueued(long nanos) {
        applicationEventQueueTime.record(nanos / 1_000_000.0);
    }

    public void applicationEventsProcessed(long nanos) {
        applicationEventProcessingTime.record(nanos / 1_000_000.0);
    }

    public void applicationEventExpired() {
        applicationEventsExpired.record();
    }

    public void backgroundEventQueued(long nanos) {
        backgroundEventQueueTime.record(nanos / 1_000_000.0);
    }

    public void backgroundEventsProcessed(long nanos) {
        backgroundEventProcessingTime.record(nanos / 1_000_000.0);
    }

    /** Background thread: an iteration of its loop begins. */
    public void networkThreadPolled(long nowMs) {
        if (lastNetworkThreadPollMs >= 0) {
            timeBetweenNetworkThreadPolls.record(nowMs - lastNetworkThreadPollMs);
        }
        lastNetworkThreadPollMs = nowMs;
    }

    public void unsentRequestSent(long queuedMs) {
        unsentRequestQueueTime.record(queuedMs);
    }
}
