package dev.lanes.consumer.internals.metrics;

import dev.lanes.consumer.internals.adapter.FetchedPartition;
import org.apache.kafka.common.MetricName;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.metrics.Gauge;
import org.apache.kafka.common.metrics.Metrics;
import org.apache.kafka.common.metrics.Sensor;
import org.apache.kafka.common.metrics.stats.Avg;
import org.apache.kafka.common.metrics.stats.CumulativeCount;
import org.apache.kafka.common.metrics.stats.CumulativeSum;
import org.apache.kafka.common.metrics.stats.Max;
import org.apache.kafka.common.metrics.stats.Min;
import org.apache.kafka.common.metrics.stats.Rate;
import org.apache.kafka.common.metrics.stats.Value;
import org.apache.kafka.common.metrics.stats.WindowedCount;

import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.ToIntFunction;

/**
 * KafkaConsumer's fetch metrics, in its group {@code consumer-fetch-manager-metrics} with its names, tags and
 * meaning, so that dashboards and alerts made for KafkaConsumer (lag above all) work on Lanes unchanged.
 *
 * <p>Fed from both threads, as the work happens: the background thread records each fetch response (latency,
 * throttle) and each partition's lag and lead as of its position when the response arrives; the application
 * thread records what it consumed. As KafkaConsumer counts them, a response's bytes and records (fetch-size,
 * records-per-request, bytes- and records-consumed) are recorded once the application is done with every
 * partition of it. Sensors are thread-safe.
 */
public final class FetchManagerMetrics {

    public static final String GROUP = "consumer-fetch-manager-metrics";

    private final Metrics metrics;
    private final Map<String, String> tags;
    private final Sensor fetchLatency;
    private final Sensor throttleTime;
    private final Sensor bytesFetched;
    private final Sensor recordsFetched;
    private final Sensor recordsLag;
    private final Sensor recordsLead;
    /** The partitions whose per-partition metrics exist; written by the background thread, read by both. */
    private volatile Set<TopicPartition> partitions = Set.of();
    /** Sensors by topic or partition, so that recording on the hot path builds no names. */
    private final Map<String, Sensor> topicSensors = new ConcurrentHashMap<>();
    private final Map<TopicPartition, Sensor> lagSensors = new ConcurrentHashMap<>();
    private final Map<TopicPartition, Sensor> leadSensors = new ConcurrentHashMap<>();

    FetchManagerMetrics(Metrics metrics, Map<String, String> tags) {
        this.metrics = metrics;
        this.tags = tags;
        fetchLatency = metrics.sensor("fetch-latency");
        fetchLatency.add(name("fetch-latency-avg", "Average time from sending a fetch request to its response, in ms", tags), new Avg());
        fetchLatency.add(name("fetch-latency-max", "Longest time from sending a fetch request to its response, in ms", tags), new Max());
        fetchLatency.add(name("fetch-rate", "Fetch responses received per second", tags), new Rate(new WindowedCount()));
        fetchLatency.add(name("fetch-total", "Fetch responses received", tags), new CumulativeCount());
        throttleTime = metrics.sensor("fetch-throttle-time");
        throttleTime.add(name("fetch-throttle-time-avg", "Average time the broker asked fetches to be throttled, in ms", tags), new Avg());
        throttleTime.add(name("fetch-throttle-time-max", "Longest time the broker asked a fetch to be throttled, in ms", tags), new Max());
        bytesFetched = metrics.sensor("bytes-fetched");
        addBytes(bytesFetched, tags, "");
        recordsFetched = metrics.sensor("records-fetched");
        addRecords(recordsFetched, tags, "");
        recordsLag = metrics.sensor("records-lag");
        recordsLag.add(name("records-lag-max", "Largest lag, in records, of any partition in the window", tags), new Max());
        recordsLead = metrics.sensor("records-lead");
        recordsLead.add(name("records-lead-min", "Smallest lead, in records, of any partition in the window", tags), new Min());
    }

    private MetricName name(String name, String description, Map<String, String> metricTags) {
        return metrics.metricName(name, GROUP, description, metricTags);
    }

    private void addBytes(Sensor sensor, Map<String, String> metricTags, String scope) {
        sensor.add(name("fetch-size-avg", "Average bytes of a fetch response that reached the application" + scope, metricTags), new Avg());
        sensor.add(name("fetch-size-max", "Most bytes of one fetch response that reached the application" + scope, metricTags), new Max());
        sensor.add(name("bytes-consumed-rate", "Bytes handed to the application per second" + scope, metricTags), new Rate());
        sensor.add(name("bytes-consumed-total", "Bytes handed to the application" + scope, metricTags), new CumulativeSum());
    }

    private void addRecords(Sensor sensor, Map<String, String> metricTags, String scope) {
        sensor.add(name("records-per-request-avg", "Average records of a fetch response handed to the application" + scope, metricTags),
                new Avg());
        sensor.add(name("records-consumed-rate", "Records handed to the application per second" + scope, metricTags),
                new Rate());
        sensor.add(name("records-consumed-total", "Records handed to the application" + scope, metricTags),
                new CumulativeSum());
    }

    /** Background thread: a fetch response arrived, {@code latencyMs} after the request was made. */
    public void fetchResponse(long latencyMs, int throttleTimeMs) {
        fetchLatency.record(latencyMs);
        throttleTime.record(throttleTimeMs);
    }

    /**
     * Background thread: the partitions of one response that went into the buffer. Their bytes and records count
     * once the application is done with all of them (taken, or dropped by a seek or a revocation), as one request.
     */
    public void responseBuffered(Collection<FetchedPartition> buffered) {
        if (buffered.isEmpty()) {
            return; // an empty answer (caught up) is no fetch of records, as KafkaConsumer counts them
        }
        ResponseConsumption consumption = new ResponseConsumption(buffered.size());
        for (FetchedPartition partition : buffered) {
            partition.onRelease(consumption::released);
        }
    }

    /** What reached the application from one fetch response. */
    private final class ResponseConsumption {
        private int remaining;
        private long bytes;
        private long records;
        private final Map<String, long[]> byTopic = new HashMap<>();

        ResponseConsumption(int partitions) {
            this.remaining = partitions;
        }

        synchronized void released(FetchedPartition partition) {
            long partitionBytes = partition.isDrained() ? partition.sizeInBytes() : 0;
            bytes += partitionBytes;
            records += partition.recordsTaken();
            long[] topic = byTopic.computeIfAbsent(partition.partition().topic(), ignored -> new long[2]);
            topic[0] += partitionBytes;
            topic[1] += partition.recordsTaken();
            if (--remaining == 0) {
                recordConsumed(byTopic, bytes, records);
            }
        }
    }

    private void recordConsumed(Map<String, long[]> byTopic, long bytes, long records) {
        bytesFetched.record(bytes);
        recordsFetched.record(records);
        byTopic.forEach((topic, counts) -> {
            topicSensor(topic, "bytes-fetched").record(counts[0]);
            topicSensor(topic, "records-fetched").record(counts[1]);
        });
    }

    private Sensor topicSensor(String topic, String kind) {
        return topicSensors.computeIfAbsent("topic." + topic + "." + kind, sensorName -> {
            Map<String, String> topicTags = new LinkedHashMap<>(tags);
            topicTags.put("topic", topic);
            Sensor sensor = metrics.sensor(sensorName);
            if (kind.equals("bytes-fetched")) {
                addBytes(sensor, topicTags, ", for one topic");
            } else {
                addRecords(sensor, topicTags, ", for one topic");
            }
            return sensor;
        });
    }

    /**
     * A partition's lag (records between its position and the end of its log: the high watermark, or the last
     * stable offset under read_committed) and lead (records between the log start and its position): recorded by the
     * background thread when a fetch response moves the end of the log, and by the application thread when records
     * it takes move the position.
     */
    public void partitionOffsets(TopicPartition partition, long lag, long lead) {
        if (!partitions.contains(partition)) {
            return; // no longer assigned
        }
        if (lag >= 0) {
            recordsLag.record(lag);
            lagSensors.computeIfAbsent(partition, key -> partitionSensor(key, "records-lag")).record(lag);
        }
        if (lead >= 0) {
            recordsLead.record(lead);
            leadSensors.computeIfAbsent(partition, key -> partitionSensor(key, "records-lead")).record(lead);
        }
    }

    private Sensor partitionSensor(TopicPartition partition, String kind) {
        String sensorName = partition + "." + kind;
        Sensor sensor = metrics.getSensor(sensorName);
        if (sensor == null) {
            Map<String, String> partitionTags = partitionTags(partition);
            sensor = metrics.sensor(sensorName);
            if (kind.equals("records-lag")) {
                sensor.add(name("records-lag", "Records between the partition's position and the end of its log, last measured", partitionTags), new Value());
                sensor.add(name("records-lag-max", "Largest lag of the partition in the window", partitionTags), new Max());
                sensor.add(name("records-lag-avg", "Average lag of the partition in the window", partitionTags), new Avg());
            } else {
                sensor.add(name("records-lead", "Records between the start of the partition's log and its position, last measured", partitionTags), new Value());
                sensor.add(name("records-lead-min", "Smallest lead of the partition in the window", partitionTags), new Min());
                sensor.add(name("records-lead-avg", "Average lead of the partition in the window", partitionTags), new Avg());
            }
        }
        return sensor;
    }

    private Map<String, String> partitionTags(TopicPartition partition) {
        Map<String, String> partitionTags = new LinkedHashMap<>(tags);
        partitionTags.put("topic", partition.topic());
        partitionTags.put("partition", String.valueOf(partition.partition()));
        return partitionTags;
    }

    /**
     * Background thread, when the assignment changed: the metrics of partitions (and topics) no longer assigned go,
     * and each newly assigned partition gets its {@code preferred-read-replica} gauge (the follower fetched from,
     * or -1 for the leader).
     */
    public void assignment(Set<TopicPartition> assigned, ToIntFunction<TopicPartition> preferredReadReplica) {
        Set<String> assignedTopics = new HashSet<>();
        assigned.forEach(partition -> assignedTopics.add(partition.topic()));
        for (TopicPartition partition : partitions) {
            if (!assigned.contains(partition)) {
                lagSensors.remove(partition);
                leadSensors.remove(partition);
                metrics.removeSensor(partition + ".records-lag");
                metrics.removeSensor(partition + ".records-lead");
                metrics.removeMetric(name("preferred-read-replica", "", partitionTags(partition)));
                if (!assignedTopics.contains(partition.topic())) {
                    for (String kind : new String[] {"bytes-fetched", "records-fetched"}) {
                        String sensorName = "topic." + partition.topic() + "." + kind;
                        topicSensors.remove(sensorName);
                        metrics.removeSensor(sensorName);
                    }
                }
            }
        }
        for (TopicPartition partition : assigned) {
            if (!partitions.contains(partition)) {
                metrics.addMetricIfAbsent(name("preferred-read-replica", "The follower the partition is fetched from, "
                                + "or -1 for its leader", partitionTags(partition)), null,
                        (Gauge<Integer>) (config, now) -> preferredReadReplica.applyAsInt(partition));
            }
        }
        partitions = Set.copyOf(assigned);
    }
}
