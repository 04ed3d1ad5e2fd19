package dev.lanes.spring.metrics;

import dev.lanes.consumer.ConsumerDiagnostics;
import dev.lanes.consumer.MemberState;
import dev.lanes.consumer.LanesMetricNames;
import dev.lanes.consumer.QueueTimeObserver;
import dev.lanes.spring.ListenerConsumer;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.TimeGauge;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.binder.BaseUnits;
import io.micrometer.core.instrument.binder.MeterBinder;
import org.apache.kafka.clients.consumer.Consumer;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.ToDoubleFunction;

/**
 * The meters of one Lanes consumer (R17), read from its kafka-clients metrics, plus a Timer per lane fed
 * by a {@link QueueTimeObserver} so that queue times get a percentile histogram. Tags have bounded values
 * only: listener id, client id, group id and, per lane, the lane. {@link #close()} removes every meter it
 * registered and the observer; call it when the consumer closes.
 */
public final class LanesConsumerMeterBinder implements MeterBinder, AutoCloseable {

    static final String PREFIX = "lanes.consumer.";
    /** Queue times are usually microseconds; the histogram spans 10 µs to 30 s. */
    private static final Duration MIN_QUEUE_TIME = Duration.ofNanos(10_000);
    private static final Duration MAX_QUEUE_TIME = Duration.ofSeconds(30);

    private final ConsumerDiagnostics diagnostics;
    private final LanesConsumerMetricsView view;
    private final Tags tags;
    private final List<Meter> meters = new CopyOnWriteArrayList<>();
    private final Map<String, Timer> queueTimers = new ConcurrentHashMap<>();
    private final QueueTimeObserver observer = this::queued;
    private volatile MeterRegistry registry;

    /**
     * @param consumer    the consumer to meter: only its {@code metrics()} are read
     * @param diagnostics what the consumer tells any thread (state, assignment, queue times)
     * @param listenerId  the listener container it belongs to, tagged {@code listener.id}
     */
    public LanesConsumerMeterBinder(Consumer<?, ?> consumer, ConsumerDiagnostics diagnostics, String listenerId) {
        this.diagnostics = diagnostics;
        this.view = new LanesConsumerMetricsView(consumer, diagnostics);
        this.tags = Tags.of("listener.id", listenerId, "client.id", diagnostics.clientId(),
                "group.id", diagnostics.groupId().orElse("none"));
    }

    /** Meters a consumer that is its own diagnostics, as a Lanes consumer is. */
    public <C extends Consumer<?, ?> & ConsumerDiagnostics> LanesConsumerMeterBinder(C consumer, String listenerId) {
        this(consumer, consumer, listenerId);
    }

    public LanesConsumerMeterBinder(ListenerConsumer<?, ?> consumer, String listenerId) {
        this(consumer.consumer(), consumer.diagnostics(), listenerId);
    }

    /** The tags every meter of this consumer carries. */
    public Tags tags() {
        return tags;
    }

    @Override
    public void bindTo(MeterRegistry registry) {
        if (this.registry != null || !meters.isEmpty()) {
            throw new IllegalStateException("Already bound to a registry");
        }
        this.registry = registry;
        for (String lane : view.lanes()) {
            Tags laneTags = tags.and("lane", lane);
            queueTimers.put(lane, queueTimer(registry, lane));
            gauge(registry, "lane.size", "Events waiting in the lane", "events", laneTags,
                    v -> v.laneValue(LanesMetricNames.LANE_SIZE, lane));
            gauge(registry, "lane.capacity", "Capacity of the lane", "events", laneTags,
                    v -> v.laneValue(LanesMetricNames.LANE_CAPACITY, lane));
            counter(registry, "lane.events", "Events taken from the lane by the background thread", "events", laneTags,
                    v -> v.laneValue(LanesMetricNames.EVENTS_TOTAL, lane));
        }
        diagnostics.addQueueTimeObserver(observer);

        counter(registry, "back.pressure.rejections", "Non-blocking calls refused because the user lane was full",
                "calls", tags, v -> v.value(LanesMetricNames.BACK_PRESSURE_REJECTIONS_TOTAL));
        gauge(registry, "fetch.paused.ratio", "Fraction of time fetching was paused because the fetch buffer was full",
                null, tags, v -> v.value(LanesMetricNames.FETCH_PAUSED_RATIO));
        gauge(registry, "fetch.buffer.bytes", "Bytes of fetched data waiting for the application",
                BaseUnits.BYTES, tags, v -> v.value(LanesMetricNames.FETCH_BUFFER_BYTES));
        gauge(registry, "fetch.buffer.peak", "Most bytes of fetched data waiting for the application at once, in the client's metrics window",
                BaseUnits.BYTES, tags, v -> v.value(LanesMetricNames.FETCH_BUFFER_BYTES_PEAK));
        gauge(registry, "fetch.buffer.bound", "Bound on fetched data waiting for the application",
                BaseUnits.BYTES, tags, v -> v.value(LanesMetricNames.FETCH_BUFFER_MAX_BYTES));
        gauge(registry, "background.cpu.ratio", "CPU time of the background thread per second of wall time",
                null, tags, v -> v.value(LanesMetricNames.BACKGROUND_THREAD_CPU_RATIO));
        gauge(registry, "background.idle.ratio", "Fraction of time the background thread was blocked waiting for work",
                null, tags, v -> v.value(LanesMetricNames.BACKGROUND_THREAD_IDLE_RATIO));
        gauge(registry, "poll.idle.ratio", "Fraction of time the application thread spent waiting for records inside poll",
                null, tags, v -> v.value(LanesMetricNames.APPLICATION_POLL_IDLE_RATIO));

        timeGauge(registry, "heartbeat.interval", "Heartbeat interval the group coordinator asked for",
                v -> v.value(LanesMetricNames.HEARTBEAT_INTERVAL_MS));
        timeGauge(registry, "heartbeat.last.ago", "Time since the last heartbeat was answered (NaN before the first)",
                v -> nonNegative(v.value(LanesMetricNames.LAST_HEARTBEAT_MS_AGO)));
        timeGauge(registry, "heartbeat.gap.max", "Longest time between consecutive answered group heartbeats",
                v -> v.value(LanesMetricNames.HEARTBEAT_GAP_MAX));
        timeGauge(registry, "heartbeat.response.time.avg", "Average time from sending a group heartbeat to its response",
                v -> v.value(LanesMetricNames.HEARTBEAT_RESPONSE_TIME_AVG));
        timeGauge(registry, "heartbeat.response.time.max", "Longest time from sending a group heartbeat to its response",
                v -> v.value(LanesMetricNames.HEARTBEAT_RESPONSE_TIME_MAX));
        counter(registry, "heartbeats", "Group heartbeats answered", "heartbeats", tags, v -> v.value(LanesMetricNames.HEARTBEAT_TOTAL));

        for (MemberState state : MemberState.values()) {
            gauge(registry, "member.state", "Whether the group member is in the state of the tag (1) or not (0)",
                    null, tags.and("state", state.name()), v -> v.diagnostics().memberState() == state ? 1 : 0);
        }
        gauge(registry, "assigned.partitions", "Partitions currently assigned to this consumer", "partitions", tags,
                v -> v.diagnostics().assignmentSnapshot().size());
        gauge(registry, "records.lag", "Records between the consumer's positions and the ends of its partitions",
                "records", tags, v -> v.value(LanesMetricNames.RECORDS_LAG));
        counter(registry, "rebalances", "Reconciliations of a new assignment completed", "rebalances", tags,
                v -> v.value(LanesMetricNames.REBALANCE_TOTAL));
        timeGauge(registry, "rebalance.latency.max", "Longest time spent reconciling an assignment",
                v -> v.value(LanesMetricNames.REBALANCE_LATENCY_MAX));
        counter(registry, "records.consumed", "Records returned by poll", "records", tags,
                v -> v.value(LanesMetricNames.RECORDS_CONSUMED_TOTAL));
        counter(registry, "events.expired", "Events whose deadline passed before their work was done", "events", tags,
                v -> v.value(LanesMetricNames.EVENTS_EXPIRED_TOTAL));
        counter(registry, "requests.expired", "Requests dropped unsent because their caller's deadline had passed",
                "requests", tags, v -> v.value(LanesMetricNames.REQUESTS_EXPIRED_UNSENT_TOTAL));
        counter(registry, "requests.coalesced",
                "Callers served by a request already pending or in flight instead of a request of their own",
                "requests", tags, v -> v.value(LanesMetricNames.REQUESTS_COALESCED_TOTAL));
    }

    private Timer queueTimer(MeterRegistry registry, String lane) {
        return register(Timer.builder(PREFIX + "lane.queue.time")
                .description("Time an event waited in the lane before the background thread took it")
                .tags(tags.and("lane", lane))
                .publishPercentileHistogram()
                .minimumExpectedValue(MIN_QUEUE_TIME)
                .maximumExpectedValue(MAX_QUEUE_TIME)
                .register(registry));
    }

    /** Called on the consumer's background thread: must not block. */
    private void queued(String lane, long nanos) {
        Timer timer = queueTimers.get(lane);
        if (timer == null) {
            MeterRegistry current = registry;
            if (current == null) {
                return;
            }
            timer = queueTimers.computeIfAbsent(lane, name -> queueTimer(current, name));
        }
        timer.record(nanos, TimeUnit.NANOSECONDS);
    }

    private void gauge(MeterRegistry registry, String name, String description, String baseUnit, Tags meterTags,
                       ToDoubleFunction<LanesConsumerMetricsView> value) {
        register(Gauge.builder(PREFIX + name, view, value)
                .description(description)
                .baseUnit(baseUnit)
                .tags(meterTags)
                .strongReference(true)
                .register(registry));
    }

    private void counter(MeterRegistry registry, String name, String description, String baseUnit, Tags meterTags,
                         ToDoubleFunction<LanesConsumerMetricsView> value) {
        register(FunctionCounter.builder(PREFIX + name, view, value)
                .description(description)
                .baseUnit(baseUnit)
                .tags(meterTags)
                .register(registry));
    }

    /** A time gauge over a metric in milliseconds; exported in the registry's base time unit. */
    private void timeGauge(MeterRegistry registry, String name, String description,
                           ToDoubleFunction<LanesConsumerMetricsView> millis) {
        register(TimeGauge.builder(PREFIX + name, view, TimeUnit.MILLISECONDS, millis)
                .description(description)
                .tags(tags)
                .strongReference(true)
                .register(registry));
    }

    private static double nonNegative(double value) {
        return value < 0 ? Double.NaN : value;
    }

    private <M extends Meter> M register(M meter) {
        meters.add(meter);
        return meter;
    }

    /** The meters this binder registered and has not removed yet. */
    public List<Meter> meters() {
        return List.copyOf(meters);
    }

    /** Removes the queue time observer and every meter registered. Any thread; idempotent. */
    @Override
    public void close() {
        diagnostics.removeQueueTimeObserver(observer);
        MeterRegistry current = registry;
        registry = null;
        if (current != null) {
            for (Meter meter : meters) {
                current.remove(meter);
            }
        }
        meters.clear();
        queueTimers.clear();
    }
}
