package dev.lanes.consumer.internals.background;

import dev.lanes.consumer.internals.common.ManualClock;
import dev.lanes.consumer.internals.shared.FetchBuffer;
import dev.lanes.consumer.internals.shared.Lane;
import dev.lanes.consumer.internals.shared.LaneName;
import dev.lanes.consumer.internals.shared.LoopState;
import dev.lanes.consumer.internals.shared.PollTracker;
import dev.lanes.consumer.internals.shared.RebalanceCallbackQueue;
import dev.lanes.consumer.internals.adapter.FakeNetwork;
import dev.lanes.consumer.MemberState;
import dev.lanes.consumer.internals.shared.MembershipView;
import dev.lanes.consumer.internals.metrics.LanesConsumerMetrics;
import dev.lanes.consumer.internals.shared.OffsetResetStrategy;
import dev.lanes.consumer.internals.shared.SubscriptionState;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.common.IsolationLevel;
import org.apache.kafka.common.MetricName;
import org.apache.kafka.common.metrics.Metrics;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.util.HashMap;
import java.util.Map;
import java.util.Optional;

import static org.assertj.core.api.Assertions.assertThat;

class BackgroundSideTest {

    private final ManualClock clock = new ManualClock(1_000);
    private final Metrics metrics = new Metrics();
    private final LanesConsumerMetrics lanesMetrics = new LanesConsumerMetrics(metrics, "test-client");
    private final SubscriptionState subscriptions = new SubscriptionState(OffsetResetStrategy.EARLIEST);
    private final FetchBuffer fetchBuffer = new FetchBuffer(1 << 20, () -> { });

    @AfterEach
    void closeMetrics() {
        lanesMetrics.close();
    }

    private BackgroundSide assemble(Optional<String> groupId) {
        Map<String, Object> settings = new HashMap<>();
        settings.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, "127.0.0.1:9092");
        settings.put(ConsumerConfig.CLIENT_ID_CONFIG, "test-client");
        settings.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class);
        settings.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class);
        groupId.ifPresent(group -> settings.put(ConsumerConfig.GROUP_ID_CONFIG, group));
        return BackgroundSide.assemble(new ConsumerConfig(settings), 16, groupId, false,
                IsolationLevel.READ_UNCOMMITTED, clock, new FakeNetwork(), lanesMetrics, subscriptions,
                new Lane(LaneName.SYSTEM, 8, clock), new Lane(LaneName.USER, 8, clock), fetchBuffer, true,
                new PollTracker(clock.milliseconds()), new RebalanceCallbackQueue(fetchBuffer), offsets -> { });
    }

    private Optional<MetricName> metric(String name) {
        return metrics.metrics().keySet().stream().filter(metric -> metric.name().equals(name)).findFirst();
    }

    @Test
    void withoutAGroupThereIsNoMembershipAndNoGroupMetrics() {
        BackgroundSide background = assemble(Optional.empty());

        assertThat(background.membership()).isEmpty();
        assertThat(metric("member-state")).isEmpty();
        assertThat(background.networkThread().state()).isEqualTo(LoopState.NOT_STARTED);
        assertThat(background.networkThread().threadName()).isEqualTo("lanes-consumer-network-thread | test-client");
    }

    @Test
    void withAGroupTheMemberStartsUnsubscribedAndItsMetricsAreRegistered() {
        BackgroundSide background = assemble(Optional.of("group"));

        assertThat(background.membership()).get().extracting(MembershipView::state)
                .isEqualTo(MemberState.UNSUBSCRIBED);
        assertThat(metric("member-state")).get().extracting(MetricName::description)
                .asString().contains(MemberState.UNSUBSCRIBED.name(), MemberState.STABLE.name());
        assertThat(metric("heartbeat-interval-ms")).isPresent();
        assertThat(metric("assigned-partitions")).isPresent();
        assertThat(background.networkThread().state()).isEqualTo(LoopState.NOT_STARTED);
    }
}
