package dev.lanes.spring.metrics;

import dev.lanes.consumer.ConsumerDiagnostics;
import dev.lanes.consumer.LanesMetricNames;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.common.Metric;
import org.apache.kafka.common.MetricName;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/**
 * Reads one consumer's Lanes metrics (group {@code lanes-consumer-metrics}) by name, so that meters,
 * health and the endpoint see the same figures without touching the consumer's application-thread API.
 * Any thread.
 */
public final class LanesConsumerMetricsView {

    private static final String GROUP = LanesMetricNames.GROUP;

    private static final List<String> DEFAULT_LANES = List.of("system", "user");

    private final Consumer<?, ?> consumer;
    private final ConsumerDiagnostics diagnostics;

    /** Reads {@code consumer}'s {@code metrics()} (any thread may) under the client id of {@code diagnostics}. */
    public LanesConsumerMetricsView(Consumer<?, ?> consumer, ConsumerDiagnostics diagnostics) {
        this.consumer = consumer;
        this.diagnostics = diagnostics;
    }

    /** A consumer that is its own diagnostics, as a Lanes consumer is. */
    public <C extends Consumer<?, ?> & ConsumerDiagnostics> LanesConsumerMetricsView(C consumer) {
        this(consumer, consumer);
    }

    public Consumer<?, ?> consumer() {
        return consumer;
    }

    public ConsumerDiagnostics diagnostics() {
        return diagnostics;
    }

    /** A client-level Lanes metric, or NaN when the consumer does not have it (or is closed). */
    public double value(String name) {
        return value(name, Map.of());
    }

    /** A per-lane Lanes metric, or NaN when the consumer does not have it. */
    public double laneValue(String name, String lane) {
        return value(name, Map.of(LanesMetricNames.LANE_TAG, lane));
    }

    private double value(String name, Map<String, String> extraTags) {
        Map<String, String> tags = new LinkedHashMap<>();
        tags.put(LanesMetricNames.CLIENT_ID_TAG, diagnostics.clientId());
        tags.putAll(extraTags);
        Metric metric = consumer.metrics().get(new MetricName(name, GROUP, "", tags));
        if (metric == null) {
            return Double.NaN;
        }
        Object value = metric.metricValue();
        return value instanceof Number number ? number.doubleValue() : Double.NaN;
    }

    /** The lanes the consumer reports (its {@code lane-capacity} metrics), in name order. */
    public List<String> lanes() {
        TreeSet<String> lanes = new TreeSet<>();
        for (MetricName name : consumer.metrics().keySet()) {
            if (GROUP.equals(name.group()) && LanesMetricNames.LANE_CAPACITY.equals(name.name())
                    && diagnostics.clientId().equals(name.tags().get(LanesMetricNames.CLIENT_ID_TAG)) && name.tags().containsKey(LanesMetricNames.LANE_TAG)) {
                lanes.add(name.tags().get(LanesMetricNames.LANE_TAG));
            }
        }
        return lanes.isEmpty() ? DEFAULT_LANES : List.copyOf(lanes);
    }

    /** The value as a long, with NaN (metric absent) as -1. */
    public long longValue(String name) {
        double value = value(name);
        return Double.isNaN(value) ? -1 : (long) value;
    }

    public long laneLongValue(String name, String lane) {
        double value = laneValue(name, lane);
        return Double.isNaN(value) ? -1 : (long) value;
    }
}
