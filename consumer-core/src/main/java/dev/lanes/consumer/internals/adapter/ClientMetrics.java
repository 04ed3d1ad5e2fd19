package dev.lanes.consumer.internals.adapter;

import org.apache.kafka.clients.CommonClientConfigs;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.common.metrics.KafkaMetricsContext;
import org.apache.kafka.common.metrics.MetricConfig;
import org.apache.kafka.common.metrics.Metrics;
import org.apache.kafka.common.metrics.MetricsReporter;
import org.apache.kafka.common.metrics.Sensor;
import org.apache.kafka.common.utils.Time;

import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/** Creates a consumer's metrics registry the way KafkaConsumer does (JMX prefix, reporters, sampling). */
public final class ClientMetrics {

    private static final String JMX_PREFIX = "kafka.consumer";

    private ClientMetrics() {
    }

    public static Metrics create(ConsumerConfig config, String clientId) {
        MetricConfig metricConfig = new MetricConfig()
                .samples(config.getInt(ConsumerConfig.METRICS_NUM_SAMPLES_CONFIG))
                .timeWindow(config.getLong(ConsumerConfig.METRICS_SAMPLE_WINDOW_MS_CONFIG), TimeUnit.MILLISECONDS)
                .recordLevel(Sensor.RecordingLevel.forName(config.getString(ConsumerConfig.METRICS_RECORDING_LEVEL_CONFIG)
                        .toUpperCase(Locale.ROOT)))
                .tags(Map.of("client-id", clientId));
        List<MetricsReporter> reporters = CommonClientConfigs.metricsReporters(clientId, config);
        return new Metrics(metricConfig, reporters, Time.SYSTEM,
                new KafkaMetricsContext(JMX_PREFIX, config.originalsWithPrefix(CommonClientConfigs.METRICS_CONTEXT_PREFIX)));
    }
}
