package dev.lanes.consumer.internals.metrics;

import dev.lanes.consumer.internals.events.RebalanceCallback;
import org.apache.kafka.common.MetricName;
import org.apache.kafka.common.metrics.Gauge;
import org.apache.kafka.common.metrics.Metrics;
import org.apache.kafka.common.metrics.Sensor;
import org.apache.kafka.common.metrics.stats.Avg;
import org.apache.kafka.common.metrics.stats.CumulativeCount;
import org.apache.kafka.common.metrics.stats.CumulativeSum;
import org.apache.kafka.common.metrics.stats.Max;
import org.apache.kafka.common.metrics.stats.Rate;
import org.apache.kafka.common.metrics.stats.WindowedCount;

import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;

/**
 * KafkaConsumer's group metrics, in its group {@code consumer-coordinator-metrics} with its names and meaning:
 * commits, heartbeats, rebalances (reconciliations of a new assignment) and the time spent in the application's
 * rebalance callbacks. Registered only for a consumer with a {@code group.id}, as KafkaConsumer does. Thread-safe.
 */
public final class CoordinatorMetrics {

    public static final String GROUP = "consumer-coordinator-metrics";

    private final Metrics metrics;
    private final Map<String, String> tags;
    private final Sensor commitLatency;
    private final Sensor heartbeatLatency;
    private final Sensor rebalances;
    private final Sensor failedRebalances;
    private final Sensor revokedLatency;
    private final Sensor assignedLatency;
    private final Sensor lostLatency;
    private volatile long lastRebalanceEndMs = -1;

    CoordinatorMetrics(Metrics metrics, Map<String, String> tags, LongSupplier lastHeartbeatSentMs) {
        this.metrics = metrics;
        this.tags = tags;
        commitLatency = metrics.sensor("commit-latency");
        commitLatency.add(name("commit-latency-avg", "Average time from sending an offset commit to its answer, in ms"), new Avg());
        commitLatency.add(name("commit-latency-max", "Longest time from sending an offset commit to its answer, in ms"), new Max());
        commitLatency.add(name("commit-rate", "Offset commits answered per second"), new Rate(new WindowedCount()));
        commitLatency.add(name("commit-total", "Offset commits answered"), new CumulativeCount());
        heartbeatLatency = metrics.sensor("heartbeat-latency");
        heartbeatLatency.add(name("heartbeat-response-time-max", "Longest time from sending a group heartbeat to its "
                + "answer, in ms"), new Max());
        heartbeatLatency.add(name("heartbeat-rate", "Group heartbeats answered per second"), new Rate(new WindowedCount()));
        heartbeatLatency.add(name("heartbeat-total", "Group heartbeats answered"), new CumulativeCount());
        metrics.addMetric(name("last-heartbeat-seconds-ago", "Seconds since the last group heartbeat was sent"),
                (Gauge<Double>) (config, now) -> {
                    long sentMs = lastHeartbeatSentMs.getAsLong();
                    return sentMs < 0 ? -1.0 : (now - sentMs) / 1000.0;
                });
        rebalances = metrics.sensor("rebalance-latency");
        rebalances.add(name("rebalance-latency-avg", "Average time a reconciliation of a new assignment took, in ms"), new Avg());
        rebalances.add(name("rebalance-latency-max", "Longest time a reconciliation of a new assignment took, in ms"), new Max());
        rebalances.add(name("rebalance-latency-total", "Time spent reconciling new assignments, in ms"), new CumulativeSum());
        rebalances.add(name("rebalance-total", "Reconciliations of a new assignment completed"), new CumulativeCount());
        rebalances.add(name("rebalance-rate-per-hour", "Reconciliations of a new assignment completed per hour"),
                new Rate(TimeUnit.HOURS, new WindowedCount()));
        failedRebalances = metrics.sensor("failed-rebalance");
        failedRebalances.add(name("failed-rebalance-total", "Reconciliations that did not complete"), new CumulativeCount());
        failedRebalances.add(name("failed-rebalance-rate-per-hour", "Reconciliations that did not complete, per hour"),
                new Rate(TimeUnit.HOURS, new WindowedCount()));
        metrics.addMetric(name("last-rebalance-seconds-ago", "Seconds since the last reconciliation completed, or -1"),
                (Gauge<Double>) (config, now) -> lastRebalanceEndMs < 0 ? -1.0 : (now - lastRebalanceEndMs) / 1000.0);
        revokedLatency = callbackSensor("partition-revoked", "onPartitionsRevoked");
        assignedLatency = callbackSensor("partition-assigned", "onPartitionsAssigned");
        lostLatency = callbackSensor("partition-lost", "onPartitionsLost");
    }

    private MetricName name(String name, String description) {
        return metrics.metricName(name, GROUP, description, tags);
    }

    private Sensor callbackSensor(String prefix, String callback) {
        Sensor sensor = metrics.sensor(prefix + "-latency");
        sensor.add(name(prefix + "-latency-avg", "Average time the application's " + callback + " took, in ms"), new Avg());
        sensor.add(name(prefix + "-latency-max", "Longest time the application's " + callback + " took, in ms"), new Max());
        return sensor;
    }

    /** An offset commit was answered {@code latencyMs} after it was sent. */
    public void commitAnswered(long latencyMs) {
        commitLatency.record(latencyMs);
    }

    public void heartbeatAnswered(long latencyMs) {
        heartbeatLatency.record(latencyMs);
    }

    public void rebalanceCompleted(long nanos, long nowMs) {
        rebalances.record(nanos / 1_000_000.0);
        lastRebalanceEndMs = nowMs;
    }

    public void rebalanceFailed() {
        failedRebalances.record();
    }

    /** Application thread: how long one rebalance callback of the application ran. */
    public void callbackRan(RebalanceCallback.Kind callback, long nanos) {
        double ms = nanos / 1_000_000.0;
        switch (callback) {
            case REVOKED -> revokedLatency.record(ms);
            case ASSIGNED -> assignedLatency.record(ms);
            case LOST -> lostLatency.record(ms);
        }
    }
}
