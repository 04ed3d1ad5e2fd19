package dev.lanes.spring.actuate;

import dev.lanes.consumer.ConsumerDiagnostics;
import dev.lanes.consumer.MemberState;
import dev.lanes.consumer.LanesMetricNames;
import dev.lanes.spring.ListenerConsumer;
import dev.lanes.spring.metrics.LanesConsumerMetricsView;

import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.common.TopicPartition;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Set;
import java.util.Map;

/**
 * What the health indicator and the {@code lanes} endpoint show of one consumer, read from its
 * any-thread diagnostics and its metrics (never from its application-thread API).
 *
 * @param clientId               the client id
 * @param groupId                the consumer group, or null without one
 * @param memberState            the group member's state, NONE without a group
 * @param backgroundThreadAlive  whether the background thread runs
 * @param backgroundFailure      why the background thread died, or null
 * @param assignment             the partitions assigned now
 * @param pausedPartitions       the partitions paused now
 * @param lag                    records between the positions and the ends of the log
 * @param lanes                  depth and capacity per lane
 * @param backPressure           the figures of back-pressure
 */
public record ConsumerDescriptor(String clientId, String groupId, String memberState, boolean backgroundThreadAlive,
                                 String backgroundFailure, List<String> assignment, List<String> pausedPartitions,
                                 long lag, Map<String, LaneDescriptor> lanes,
                                 BackPressureDescriptor backPressure) {

    /** @param size events waiting; @param capacity the bound */
    public record LaneDescriptor(long size, long capacity) {
    }

    /**
     * @param rejections       non-blocking calls refused because the user lane was full
     * @param fetchBufferBytes fetched bytes waiting for the application
     * @param fetchBufferBound the bound on those bytes
     * @param fetchPausedRatio fraction of recent time fetching was paused by the bound
     */
    public record BackPressureDescriptor(long rejections, long fetchBufferBytes, long fetchBufferBound,
                                         double fetchPausedRatio) {
    }

    public static ConsumerDescriptor of(ListenerConsumer<?, ?> consumer) {
        return of(consumer.consumer(), consumer.diagnostics());
    }

    /** A consumer that is its own diagnostics, as a Lanes consumer is. */
    public static <C extends Consumer<?, ?> & ConsumerDiagnostics> ConsumerDescriptor of(C consumer) {
        return of(consumer, consumer);
    }

    /** Reads {@code diagnostics} and the {@code metrics()} of {@code consumer}, nothing else of its API. */
    public static ConsumerDescriptor of(Consumer<?, ?> consumer, ConsumerDiagnostics diagnostics) {
        LanesConsumerMetricsView view = new LanesConsumerMetricsView(consumer, diagnostics);
        Map<String, LaneDescriptor> lanes = new LinkedHashMap<>();
        for (String lane : view.lanes()) {
            lanes.put(lane, new LaneDescriptor(view.laneLongValue(LanesMetricNames.LANE_SIZE, lane),
                    view.laneLongValue(LanesMetricNames.LANE_CAPACITY, lane)));
        }
        double pausedRatio = view.value(LanesMetricNames.FETCH_PAUSED_RATIO);
        return new ConsumerDescriptor(diagnostics.clientId(), diagnostics.groupId().orElse(null),
                diagnostics.memberState().name(), diagnostics.isBackgroundThreadAlive(),
                diagnostics.backgroundFailure().map(Throwable::toString).orElse(null),
                names(diagnostics.assignmentSnapshot()), names(diagnostics.pausedSnapshot()),
                view.longValue(LanesMetricNames.RECORDS_LAG), lanes,
                new BackPressureDescriptor(view.longValue(LanesMetricNames.BACK_PRESSURE_REJECTIONS_TOTAL),
                        view.longValue(LanesMetricNames.FETCH_BUFFER_BYTES), view.longValue(LanesMetricNames.FETCH_BUFFER_MAX_BYTES),
                        Double.isNaN(pausedRatio) ? 0.0 : pausedRatio));
    }

    private static List<String> names(Set<TopicPartition> partitions) {
        return partitions.stream().map(TopicPartition::toString).sorted().toList();
    }

    /**
     * Whether the consumer is broken: its background thread died (even if its container has closed it
     * since: the listener is no longer consuming), or its member state is FATAL.
     */
    public static boolean isBroken(ConsumerDiagnostics diagnostics) {
        return diagnostics.backgroundFailure().isPresent() || diagnostics.memberState() == MemberState.FATAL;
    }

    public static boolean isBroken(ListenerConsumer<?, ?> consumer) {
        return isBroken(consumer.diagnostics());
    }
}
