package dev.lanes.consumer.internals.adapter;

import org.apache.kafka.clients.CommonClientConfigs;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.metrics.MetricsReporter;
import org.apache.kafka.common.telemetry.internals.ClientTelemetryReporter;
import org.apache.kafka.common.telemetry.internals.ClientTelemetrySender;
import org.apache.kafka.common.telemetry.internals.ClientTelemetryUtils;

import java.time.Duration;
import java.util.List;
import java.util.Optional;

/**
 * Client telemetry (KIP-714), as KafkaConsumer has it: with {@code enable.metrics.push} (true by default) the
 * consumer's metrics go to brokers that subscribe to them, on the consumer's own connections, and
 * {@code clientInstanceId()} returns the id a broker gave this client. kafka-clients' own reporter does the work:
 * it is a metrics reporter of the consumer's registry, and the network client sends its requests.
 */
public final class ClientTelemetry {

    private final Optional<ClientTelemetryReporter> reporter;

    private ClientTelemetry(Optional<ClientTelemetryReporter> reporter) {
        this.reporter = reporter;
    }

    public static ClientTelemetry create(ConsumerConfig config, String clientId) {
        return new ClientTelemetry(CommonClientConfigs.telemetryReporter(clientId, config));
    }

    /** The reporter to add to the consumer's metrics registry, if telemetry is on. */
    List<MetricsReporter> reporters() {
        return reporter.<List<MetricsReporter>>map(List::of).orElse(List.of());
    }

    /** What the network client sends telemetry requests for, or null when telemetry is off. */
    ClientTelemetrySender sender() {
        return reporter.map(ClientTelemetryReporter::telemetrySender).orElse(null);
    }

    /**
     * The client instance id a broker assigned, waiting up to {@code timeout} for it; null if none arrived in time.
     *
     * @throws IllegalStateException if {@code enable.metrics.push} is false
     */
    public Uuid clientInstanceId(Duration timeout) {
        if (reporter.isEmpty()) {
            throw new IllegalStateException("Telemetry is not enabled. Set config `"
                    + ConsumerConfig.ENABLE_METRICS_PUSH_CONFIG + "` to `true`.");
        }
        return ClientTelemetryUtils.fetchClientInstanceId(reporter.get(), timeout);
    }

    /** The consumer is closing: a last push of the metrics may go out while the network still runs. */
    public void initiateClose() {
        reporter.ifPresent(ClientTelemetryReporter::initiateClose);
    }
}
