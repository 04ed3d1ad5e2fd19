package dev.lanes.consumer.internals.adapter;

import org.apache.kafka.clients.CommonClientConfigs;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.common.metrics.KafkaMetricsContext;
import org.apache.kafka.common.metrics.MetricConfig;
import org.apache.kafka.common.metrics.Metrics;
import org.apache.kafka.common.metrics.MetricsReporter;
import org.apache.kafka.common.metrics.Sensor;
import org.apache.kafka.common.utils.AppInfoParser;
import org.apache.kafka.common.utils.Time;

import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/** Creates a consumer's metrics registry the way KafkaConsumer does (JMX prefix, reporters, telemetry, sampling). */
public final class ClientMetrics {

    private static final String JMX_PREFIX = "kafka.consumer";

    private ClientMetrics() {
    }

    /**
     * The {@code app-info} metrics and MBean KafkaConsumer registers (kafka-clients' version, commit id, start
     * time), which tools such as Micrometer's KafkaClientMetrics read to tag meters with the client version.
     */
    public static void registerAppInfo(String clientId, Metrics metrics, long nowMs) {
        AppInfoParser.registerAppInfo(JMX_PREFIX, clientId, metrics, nowMs);
    }

    public static void unregisterAppInfo(String clientId, Metrics metrics) {
        AppInfoParser.unregisterAppInfo(JMX_PREFIX, clientId, metrics);
    }

    public static Metrics create(ConsumerConfig config, String clientId, ClientTelemetry telemetry) {
        MetricConfig metricConfig = new MetricConfig()
                .samples(config.getInt(ConsumerConfig.METRICS_NUM_SAMPLES_CONFIG))
                .timeWindow(config.getLong(ConsumerConfig.METRICS_SAMPLE_WINDOW_MS_CONFIG), TimeUnit.MILLISECONDS)
                .recordLevel(Sensor.RecordingLevel.forName(config.getString(ConsumerConfig.METRICS_RECORDING_LEVEL_CONFIG)
                        .toUpperCase(Locale.ROOT)))
                .tags(Map.of("client-id", clientId));
        List<MetricsReporter> reporters = new java.util.ArrayList<>(CommonClientConfigs.metricsReporters(clientId, config));
        reporters.addAll(telemetry.reporters());
        return new Metrics(metricConfig, reporters, Time.SYSTEM,
                new KafkaMetricsContext(JMX_PREFIX, config.originalsWithPrefix(CommonClientConfigs.METRICS_CONTEXT_PREFIX)));
    }
}
