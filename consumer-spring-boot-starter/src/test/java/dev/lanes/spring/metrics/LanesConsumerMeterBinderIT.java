package dev.lanes.spring.metrics;

import dev.lanes.consumer.MemberState;
import dev.lanes.consumer.LanesConsumer;
import dev.lanes.consumer.LanesConsumerConfig;
import dev.lanes.consumer.testing.KafkaBrokerExtension;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MockClock;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.binder.BaseUnits;
import io.micrometer.core.instrument.config.MeterFilter;
import io.micrometer.core.instrument.distribution.DistributionStatisticConfig;
import io.micrometer.core.instrument.simple.SimpleConfig;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

import static dev.lanes.consumer.testing.TestConsumers.createOffsetsTopic;
import static dev.lanes.consumer.testing.TestConsumers.pollRecords;
import static dev.lanes.consumer.testing.TestConsumers.produceToEveryPartition;
import static dev.lanes.consumer.testing.TestConsumers.stringConsumerConfig;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** The meters of a real consumer that consumed from a real broker, and their removal on close. */
class LanesConsumerMeterBinderIT {

    @RegisterExtension
    static final KafkaBrokerExtension BROKER = new KafkaBrokerExtension();

    private static final String TOPIC = "metered";
    private static final int RECORDS = 40;
    private static final int USER_LANE_CAPACITY = 77;
    private static final long FETCH_BUFFER_MAX_BYTES = 3 * 1024 * 1024;

    @BeforeAll
    static void produce() throws Exception {
        BROKER.broker().createTopic(TOPIC, 2);
        produceToEveryPartition(BROKER.broker(), TOPIC, 2, RECORDS / 2, 100);
        createOffsetsTopic(BROKER.broker());
    }

    private static Map<String, Object> config() {
        Map<String, Object> config = stringConsumerConfig(BROKER.broker().bootstrapServers(), "binder-group", "binder-client");
        config.put(ConsumerConfig.METRICS_SAMPLE_WINDOW_MS_CONFIG, 1_000);
        config.put(LanesConsumerConfig.USER_LANE_CAPACITY_CONFIG, USER_LANE_CAPACITY);
        config.put(LanesConsumerConfig.FETCH_BUFFER_MAX_BYTES_CONFIG, FETCH_BUFFER_MAX_BYTES);
        return config;
    }

    @Test
    void metersShowTheWorkOfAConsumerAndAreRemovedOnClose() {
        SimpleMeterRegistry registry = new SimpleMeterRegistry(SimpleConfig.DEFAULT, new MockClock());
        // SimpleMeterRegistry does not publish histogram buckets; a filter sees the configuration a registry that does gets.
        Map<String, DistributionStatisticConfig> distributions = new ConcurrentHashMap<>();
        registry.config().meterFilter(new MeterFilter() {
            @Override
            public DistributionStatisticConfig configure(Meter.Id id, DistributionStatisticConfig config) {
                distributions.put(id.getName() + "/" + id.getTag("lane"), config);
                return config;
            }
        });
        Tags tags = Tags.of("listener.id", "orders", "client.id", "binder-client", "group.id", "binder-group");
        try (LanesConsumer<String, String> consumer = new LanesConsumer<>(config());
             LanesConsumerMeterBinder binder = new LanesConsumerMeterBinder(consumer, "orders")) {
            binder.bindTo(registry);
            consumer.subscribe(List.of(TOPIC));
            assertThat(pollRecords(consumer, RECORDS, Duration.ofSeconds(30))).hasSize(RECORDS);
            consumer.commitSync();

            assertThat(registry.get("lanes.consumer.records.consumed").tags(tags).functionCounter().count())
                    .isEqualTo(RECORDS);
            for (String lane : List.of("system", "user")) {
                Timer queueTime = registry.get("lanes.consumer.lane.queue.time").tags(tags).tag("lane", lane).timer();
                assertThat(queueTime.count()).as("events through the %s lane", lane).isPositive();
                assertThat(queueTime.totalTime(TimeUnit.NANOSECONDS)).isPositive();
                DistributionStatisticConfig distribution = distributions.get("lanes.consumer.lane.queue.time/" + lane);
                assertThat(distribution.isPercentileHistogram()).isTrue();
                assertThat(distribution.getHistogramBuckets(true)).as("percentile histogram buckets").hasSizeGreaterThan(10);
                assertThat(registry.get("lanes.consumer.lane.events").tags(tags).tag("lane", lane).functionCounter()
                        .count()).isPositive();
                assertThat(registry.get("lanes.consumer.lane.size").tags(tags).tag("lane", lane).gauge().value())
                        .isGreaterThanOrEqualTo(0);
            }
            assertThat(registry.get("lanes.consumer.lane.capacity").tags(tags).tag("lane", "user").gauge().value())
                    .isEqualTo(USER_LANE_CAPACITY);
            Meter bound = registry.get("lanes.consumer.fetch.buffer.bound").tags(tags).gauge();
            assertThat(bound.getId().getBaseUnit()).isEqualTo(BaseUnits.BYTES);
            assertThat(registry.get("lanes.consumer.fetch.buffer.bound").gauge().value()).isEqualTo(FETCH_BUFFER_MAX_BYTES);
            assertThat(registry.get("lanes.consumer.fetch.buffer.bytes").gauge().value()).isGreaterThanOrEqualTo(0);
            assertThat(registry.get("lanes.consumer.fetch.buffer.bytes").gauge().getId().getBaseUnit())
                    .isEqualTo(BaseUnits.BYTES);
            assertThat(registry.get("lanes.consumer.fetch.paused.ratio").gauge().value()).isBetween(0.0, 1.0);
            assertThat(registry.get("lanes.consumer.background.cpu.ratio").gauge().value()).isBetween(0.0, 1.0);
            assertThat(registry.get("lanes.consumer.background.idle.ratio").gauge().value()).isBetween(0.0, 1.0);
            assertThat(registry.get("lanes.consumer.poll.idle.ratio").gauge().value()).isBetween(0.0, 1.0);
            assertThat(registry.get("lanes.consumer.back.pressure.rejections").functionCounter().count()).isZero();
            assertThat(registry.get("lanes.consumer.member.state").tag("state", "STABLE").gauge().value()).isEqualTo(1);
            assertThat(registry.get("lanes.consumer.member.state").tag("state", "FATAL").gauge().value()).isZero();
            assertThat(registry.get("lanes.consumer.member.state").gauges()).hasSize(MemberState.values().length);
            assertThat(registry.get("lanes.consumer.assigned.partitions").gauge().value()).isEqualTo(2);
            assertThat(registry.get("lanes.consumer.rebalances").functionCounter().count()).isGreaterThanOrEqualTo(1);
            await().atMost(Duration.ofSeconds(15)).untilAsserted(() -> {
                consumer.poll(Duration.ofMillis(100));
                assertThat(registry.get("lanes.consumer.heartbeats").functionCounter().count()).isPositive();
            });
            assertThat(registry.get("lanes.consumer.heartbeat.interval").timeGauge().value(TimeUnit.MILLISECONDS)).isPositive();
            assertThat(registry.get("lanes.consumer.heartbeat.last.ago").timeGauge().value(TimeUnit.MILLISECONDS))
                    .isGreaterThanOrEqualTo(0);
            assertThat(registry.get("lanes.consumer.heartbeat.response.time.max").timeGauge().value(TimeUnit.MILLISECONDS))
                    .isGreaterThanOrEqualTo(0);
            assertThat(registry.get("lanes.consumer.events.expired").functionCounter().count()).isGreaterThanOrEqualTo(0);
            assertThat(registry.get("lanes.consumer.requests.expired").functionCounter().count()).isGreaterThanOrEqualTo(0);
            assertThat(registry.get("lanes.consumer.requests.coalesced").functionCounter().count()).isGreaterThanOrEqualTo(0);

            for (Meter meter : registry.getMeters()) {
                assertThat(meter.getId().getName()).matches("lanes\\.consumer\\.[a-z.]+");
                assertThat(meter.getId().getDescription()).as(meter.getId().getName()).isNotBlank();
                assertThat(meter.getId().getTag("client.id")).isEqualTo("binder-client");
            }
            assertThat(binder.meters()).hasSameSizeAs(registry.getMeters());

            binder.close();
            assertThat(registry.getMeters()).isEmpty();
            assertThat(binder.meters()).isEmpty();
            // The observer is gone too: more queue times create no timer again.
            consumer.poll(Duration.ofMillis(100));
            assertThat(registry.getMeters()).isEmpty();
        }
    }
}
