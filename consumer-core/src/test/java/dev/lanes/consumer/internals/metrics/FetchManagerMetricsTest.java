package dev.lanes.consumer.internals.metrics;

import dev.lanes.consumer.internals.adapter.FetchedPartition;
import dev.lanes.consumer.internals.adapter.FetchedPartitions;
import org.apache.kafka.common.MetricName;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.metrics.Metrics;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

class FetchManagerMetricsTest {

    private static final TopicPartition P0 = new TopicPartition("orders", 0);
    private static final TopicPartition P1 = new TopicPartition("orders", 1);

    private final Metrics registry = new Metrics();
    private final FetchManagerMetrics metrics = new LanesConsumerMetrics(registry, "test-client").fetchManager();

    @AfterEach
    void close() {
        registry.close();
    }

    @Test
    void aResponseCountsOnceTheApplicationIsDoneWithEveryPartitionOfIt() {
        metrics.assignment(Set.of(P0, P1), partition -> -1);
        FetchedPartition first = FetchedPartitions.records(P0, 0, 5);
        FetchedPartition second = FetchedPartitions.records(P1, 0, 3);
        metrics.responseBuffered(List.of(first, second));

        first.countTaken(5);
        first.markDrained();
        first.released();
        assertThat(value("records-consumed-total", Map.of())).as("one partition of two is not a response").isZero();

        second.countTaken(2); // the rest dropped by a seek
        second.released();
        assertThat(value("records-consumed-total", Map.of())).isEqualTo(7);
        assertThat(value("records-consumed-total", Map.of("topic", "orders"))).isEqualTo(7);
        assertThat(value("records-per-request-avg", Map.of())).isEqualTo(7);
        assertThat(value("bytes-consumed-total", Map.of())).as("the bytes of what was read through")
                .isEqualTo(first.sizeInBytes());
        assertThat(value("fetch-size-max", Map.of())).isEqualTo(first.sizeInBytes());
    }

    @Test
    void lagAndLeadArePerPartitionAndGoWithTheAssignment() {
        metrics.assignment(Set.of(P0), partition -> partition.equals(P0) ? 2 : -1);
        metrics.partitionOffsets(P0, 40, 60);
        metrics.partitionOffsets(P0, 0, 100);
        metrics.partitionOffsets(P1, 7, 7); // not assigned: ignored
        Map<String, String> p0 = Map.of("topic", "orders", "partition", "0");
        assertThat(value("records-lag", p0)).isZero();
        assertThat(value("records-lag-max", p0)).isEqualTo(40);
        assertThat(value("records-lead", p0)).isEqualTo(100);
        assertThat(value("records-lead-min", p0)).isEqualTo(60);
        assertThat(value("records-lag-max", Map.of())).isEqualTo(40);
        assertThat(value("preferred-read-replica", p0)).isEqualTo(2);
        assertThat(metric("records-lag", Map.of("topic", "orders", "partition", "1"))).isNull();

        metrics.assignment(Set.of(P1), partition -> -1);
        assertThat(metric("records-lag", p0)).as("removed with the partition").isNull();
        assertThat(metric("preferred-read-replica", p0)).isNull();
        assertThat(value("preferred-read-replica", Map.of("topic", "orders", "partition", "1"))).isEqualTo(-1);
    }

    private double value(String name, Map<String, String> extraTags) {
        return ((Number) metric(name, extraTags).metricValue()).doubleValue();
    }

    private org.apache.kafka.common.metrics.KafkaMetric metric(String name, Map<String, String> extraTags) {
        Map<String, String> tags = new LinkedHashMap<>(Map.of("client-id", "test-client"));
        tags.putAll(extraTags);
        return registry.metric(new MetricName(name, FetchManagerMetrics.GROUP, "", tags));
    }
}
