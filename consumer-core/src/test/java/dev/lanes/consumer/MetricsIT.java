package dev.lanes.consumer;

import dev.lanes.consumer.testing.KafkaBrokerExtension;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.Metric;
import org.apache.kafka.common.MetricName;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import javax.management.MBeanServer;
import javax.management.ObjectName;
import java.lang.management.ManagementFactory;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

import static dev.lanes.consumer.testing.TestConsumers.createOffsetsTopic;
import static dev.lanes.consumer.testing.TestConsumers.manualCommitConfig;
import static dev.lanes.consumer.testing.TestConsumers.pollRecords;
import static dev.lanes.consumer.testing.TestConsumers.produceToEveryPartition;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Section 6: after real work (polls, commits, lookups) {@code metrics()} shows Lanes' own metrics, per lane
 * and per client, with sensible values, next to the NetworkClient's own metrics as KafkaConsumer shows them,
 * and all of them reach JMX under {@code kafka.consumer}.
 */
class MetricsIT {

    @RegisterExtension
    static final KafkaBrokerExtension BROKER = new KafkaBrokerExtension();

    private static final String LANES = "lanes-consumer-metrics";
    private static final String TOPIC = "metered";
    private static final int RECORDS = 50;
    private static final int USER_LANE_CAPACITY = 77;
    private static final long FETCH_BUFFER_MAX_BYTES = 3 * 1024 * 1024;
    private static final String CLIENT_ID = "metrics-client";

    @BeforeAll
    static void produce() throws Exception {
        BROKER.broker().createTopic(TOPIC, 2);
        produceToEveryPartition(BROKER.broker(), TOPIC, 2, RECORDS / 2, 100);
        createOffsetsTopic(BROKER.broker());
    }

    private static Map<String, Object> config() {
        Map<String, Object> config = manualCommitConfig(BROKER.broker().bootstrapServers(), "metrics-group", CLIENT_ID);
        config.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 7);
        // Short windows, so that rates and ratios are not diluted by time the consumer has not lived yet.
        config.put(ConsumerConfig.METRICS_SAMPLE_WINDOW_MS_CONFIG, 1_000);
        config.put(LanesConsumerConfig.USER_LANE_CAPACITY_CONFIG, USER_LANE_CAPACITY);
        config.put(LanesConsumerConfig.FETCH_BUFFER_MAX_BYTES_CONFIG, FETCH_BUFFER_MAX_BYTES);
        return config;
    }

    @Test
    void metricsDescribeTheWorkDoneAndReachJmx() throws Exception {
        TopicPartition p0 = new TopicPartition(TOPIC, 0);
        TopicPartition p1 = new TopicPartition(TOPIC, 1);
        try (LanesConsumer<String, String> consumer = new LanesConsumer<>(config())) {
            consumer.assign(List.of(p0, p1));
            assertThat(pollRecords(consumer, RECORDS, Duration.ofSeconds(20))).hasSize(RECORDS);
            // Read now: the rate covers the last two 1 s windows only.
            double rateWhileConsuming = value(consumer.metrics(), LANES, "records-consumed-rate", Map.of("client-id", CLIENT_ID));

            consumer.commitSync(Map.of(p0, new OffsetAndMetadata(RECORDS / 2)), Duration.ofSeconds(10));
            CountDownLatch asyncCommitted = new CountDownLatch(3);
            for (int i = 0; i < 3; i++) {
                consumer.commitAsync(Map.of(p1, new OffsetAndMetadata(RECORDS / 2 - 2 + i)), (offsets, error) -> asyncCommitted.countDown());
            }
            consumer.commitSync(Duration.ofSeconds(10));
            consumer.poll(Duration.ofMillis(50)); // runs the async commits' callbacks
            assertThat(asyncCommitted.await(10, TimeUnit.SECONDS)).isTrue();
            assertThat(consumer.committed(Set.of(p0, p1), Duration.ofSeconds(10)).get(p0).offset()).isEqualTo(RECORDS / 2);
            assertThat(consumer.endOffsets(List.of(p0, p1), Duration.ofSeconds(10))).containsEntry(p0, (long) RECORDS / 2);
            assertThat(consumer.beginningOffsets(List.of(p0, p1), Duration.ofSeconds(10))).containsEntry(p0, 0L);
            assertThat(consumer.position(p0, Duration.ofSeconds(10))).isEqualTo(RECORDS / 2);
            assertThat(consumer.partitionsFor(TOPIC, Duration.ofSeconds(10))).hasSize(2);

            Map<MetricName, ? extends Metric> metrics = consumer.metrics();
            printLanesMetrics(metrics);

            // Per lane.
            for (String lane : List.of("system", "user")) {
                Map<String, String> tags = Map.of("client-id", CLIENT_ID, "lane", lane);
                for (String name : List.of("lane-size", "lane-capacity", "queue-time-avg", "queue-time-max",
                        "queue-time-p50", "queue-time-p99", "queue-time-p999", "events-total")) {
                    assertThat(find(metrics, LANES, name, tags)).as("%s{lane=%s}", name, lane).isNotNull();
                }
                double avg = value(metrics, LANES, "queue-time-avg", tags);
                double max = value(metrics, LANES, "queue-time-max", tags);
                // Avg and Max report NaN (or -inf for Max) when no event was recorded in the window.
                // Avg, Max and the percentiles are NaN while no event was recorded in the sample windows.
                if (!Double.isNaN(avg)) {
                    assertThat(avg).as("queue-time-avg{lane=%s}", lane).isGreaterThanOrEqualTo(0.0);
                    assertThat(max).as("queue-time-max{lane=%s}", lane).isGreaterThanOrEqualTo(avg);
                    double p50 = value(metrics, LANES, "queue-time-p50", tags);
                    assertThat(p50).as("queue-time-p50{lane=%s}", lane).isGreaterThanOrEqualTo(0.0);
                    assertThat(value(metrics, LANES, "queue-time-p99", tags)).isGreaterThanOrEqualTo(p50);
                    assertThat(value(metrics, LANES, "queue-time-p999", tags))
                            .isGreaterThanOrEqualTo(value(metrics, LANES, "queue-time-p99", tags));
                }
                assertThat(value(metrics, LANES, "lane-size", tags)).isBetween(0.0, value(metrics, LANES, "lane-capacity", tags));
                assertThat(value(metrics, LANES, "lane-capacity", tags)).isPositive();
                assertThat(value(metrics, LANES, "events-total", tags)).isGreaterThanOrEqualTo(0.0);
            }
            Map<String, String> user = Map.of("client-id", CLIENT_ID, "lane", "user");
            assertThat(value(metrics, LANES, "lane-capacity", user)).isEqualTo(USER_LANE_CAPACITY);
            assertThat(value(metrics, LANES, "queue-time-avg", user)).as("user lane queue time in the last windows").isNotNaN();
            // 5 commits, a committed(), endOffsets, beginningOffsets and partitionsFor at least.
            assertThat(value(metrics, LANES, "events-total", user)).isGreaterThanOrEqualTo(5);

            // Per client.
            Map<String, String> client = Map.of("client-id", CLIENT_ID);
            for (String name : List.of("events-expired-total", "requests-expired-unsent-total", "requests-coalesced-total",
                    "back-pressure-rejections-total", "fetch-buffer-bytes", "fetch-buffer-max-bytes", "fetch-paused-ratio",
                    "background-thread-cpu-ratio", "background-thread-idle-ratio", "application-poll-idle-ratio",
                    "records-consumed-total", "records-consumed-rate", "fetch-buffer-bytes-peak")) {
                assertThat(find(metrics, LANES, name, client)).as(name).isNotNull();
                assertThat(value(metrics, LANES, name, client)).as(name).isGreaterThanOrEqualTo(0.0);
            }
            assertThat(value(metrics, LANES, "events-expired-total", client)).isZero();
            assertThat(value(metrics, LANES, "requests-expired-unsent-total", client)).isZero();
            assertThat(value(metrics, LANES, "back-pressure-rejections-total", client)).isZero();
            assertThat(value(metrics, LANES, "fetch-buffer-max-bytes", client)).isEqualTo(FETCH_BUFFER_MAX_BYTES);
            assertThat(value(metrics, LANES, "fetch-buffer-bytes", client)).isBetween(0.0, (double) FETCH_BUFFER_MAX_BYTES);
            // Loose bounds on the ratios: see ratiosStayWithinZeroAndOneAndFetchingIsNotPausedWhileTheBufferIsEmpty.
            assertThat(value(metrics, LANES, "fetch-paused-ratio", client)).isBetween(0.0, 2.0);
            assertThat(value(metrics, LANES, "background-thread-cpu-ratio", client)).isBetween(0.0, 1.0);
            assertThat(value(metrics, LANES, "background-thread-idle-ratio", client)).isBetween(0.0, 2.0);
            assertThat(value(metrics, LANES, "application-poll-idle-ratio", client)).isBetween(0.0, 2.0);
            assertThat(value(metrics, LANES, "records-consumed-total", client)).isEqualTo(RECORDS);
            assertThat(rateWhileConsuming).as("records-consumed-rate while consuming").isPositive();
            for (String api : List.of("Fetch", "OffsetCommit", "OffsetFetch", "ListOffsets", "FindCoordinator")) {
                assertThat(value(metrics, LANES, "requests-sent-total", Map.of("client-id", CLIENT_ID, "api", api)))
                        .as("requests-sent-total{api=%s}", api).isPositive();
            }

            // The NetworkClient's metrics, as KafkaConsumer shows them.
            assertThat(value(metrics, "consumer-metrics", "connection-count", client)).isGreaterThanOrEqualTo(1.0);
            assertThat(value(metrics, "consumer-metrics", "request-total", client)).isPositive();
            assertThat(value(metrics, "consumer-metrics", "incoming-byte-total", client)).isPositive();
            assertThat(value(metrics, "consumer-metrics", "connection-creation-total", client)).isPositive();
            List<MetricName> nodeMetrics = metrics.keySet().stream()
                    .filter(name -> name.group().equals("consumer-node-metrics") && name.name().equals("request-total"))
                    .toList();
            assertThat(nodeMetrics).isNotEmpty();
            assertThat(nodeMetrics).allSatisfy(name -> assertThat(name.tags()).containsKeys("client-id", "node-id"));

            // JMX.
            MBeanServer server = ManagementFactory.getPlatformMBeanServer();
            ObjectName clientBean = new ObjectName("kafka.consumer:type=" + LANES + ",client-id=" + CLIENT_ID);
            assertThat(server.queryNames(clientBean, null)).containsExactly(clientBean);
            assertThat(((Number) server.getAttribute(clientBean, "records-consumed-total")).doubleValue()).isEqualTo(RECORDS);
            assertThat(((Number) server.getAttribute(clientBean, "fetch-buffer-max-bytes")).doubleValue())
                    .isEqualTo(FETCH_BUFFER_MAX_BYTES);
            ObjectName userLaneBean = new ObjectName("kafka.consumer:type=" + LANES + ",client-id=" + CLIENT_ID + ",lane=user");
            assertThat(server.queryNames(userLaneBean, null)).containsExactly(userLaneBean);
            assertThat(((Number) server.getAttribute(userLaneBean, "lane-capacity")).doubleValue()).isEqualTo(USER_LANE_CAPACITY);
            Set<ObjectName> all = server.queryNames(new ObjectName("kafka.consumer:type=" + LANES + ",client-id=" + CLIENT_ID + ",*"), null);
            System.out.println("[MetricsIT] JMX beans: " + all);
            assertThat(server.queryNames(new ObjectName("kafka.consumer:type=consumer-metrics,client-id=" + CLIENT_ID), null)).hasSize(1);
        }
        // Closing unregisters everything.
        assertThat(ManagementFactory.getPlatformMBeanServer()
                .queryNames(new ObjectName("kafka.consumer:type=" + LANES + ",client-id=" + CLIENT_ID + ",*"), null)).isEmpty();
    }

    /**
     * A consumer that polls (1 s at a time) an assigned partition with nothing new: its fetch buffer stays
     * empty, so fetching is never paused by the bound, and no ratio (a fraction of time) exceeds 1.
     */
    @Test
    void ratiosStayWithinZeroAndOneAndFetchingIsNotPausedWhileTheBufferIsEmpty() {
        Map<String, Object> config = config();
        config.put(ConsumerConfig.CLIENT_ID_CONFIG, "ratios-client");
        try (LanesConsumer<String, String> consumer = new LanesConsumer<>(config)) {
            TopicPartition p0 = new TopicPartition(TOPIC, 0);
            consumer.assign(List.of(p0));
            consumer.seekToEnd(List.of(p0));
            for (int i = 0; i < 4; i++) {
                assertThat(consumer.poll(Duration.ofSeconds(1)).isEmpty()).isTrue();
            }
            Map<MetricName, ? extends Metric> metrics = consumer.metrics();
            printLanesMetrics(metrics);
            Map<String, String> client = Map.of("client-id", "ratios-client");
            assertThat(value(metrics, LANES, "fetch-buffer-bytes", client)).isZero();
            assertThat(value(metrics, LANES, "fetch-paused-ratio", client)).as("fetch-paused-ratio").isLessThan(0.1);
            for (String ratio : List.of("background-thread-cpu-ratio", "background-thread-idle-ratio",
                    "application-poll-idle-ratio", "fetch-paused-ratio")) {
                assertThat(value(metrics, LANES, ratio, client)).as(ratio).isBetween(0.0, 1.0);
            }
        }
    }

    private static Metric find(Map<MetricName, ? extends Metric> metrics, String group, String name, Map<String, String> tags) {
        List<Metric> found = new ArrayList<>();
        for (Map.Entry<MetricName, ? extends Metric> entry : metrics.entrySet()) {
            MetricName metricName = entry.getKey();
            if (metricName.name().equals(name) && metricName.group().equals(group) && metricName.tags().equals(tags)) {
                found.add(entry.getValue());
            }
        }
        assertThat(found).as("%s %s %s", group, name, tags).hasSizeLessThanOrEqualTo(1);
        return found.isEmpty() ? null : found.get(0);
    }

    private static double value(Map<MetricName, ? extends Metric> metrics, String group, String name, Map<String, String> tags) {
        Metric metric = find(metrics, group, name, tags);
        assertThat(metric).as("%s %s %s", group, name, tags).isNotNull();
        return ((Number) metric.metricValue()).doubleValue();
    }

    private static void printLanesMetrics(Map<MetricName, ? extends Metric> metrics) {
        Map<String, Object> lines = new TreeMap<>();
        metrics.forEach((name, metric) -> {
            if (name.group().equals(LANES)) {
                Map<String, String> tags = new LinkedHashMap<>(name.tags());
                tags.remove("client-id");
                lines.put(name.name() + (tags.isEmpty() ? "" : tags.toString()), metric.metricValue());
            }
        });
        System.out.println("[MetricsIT] " + lines.entrySet().stream().map(Object::toString).collect(Collectors.joining(", ")));
    }
}
