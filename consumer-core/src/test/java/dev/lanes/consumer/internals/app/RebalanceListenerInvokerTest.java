package dev.lanes.consumer.internals.app;

import dev.lanes.consumer.internals.common.ManualClock;
import dev.lanes.consumer.internals.shared.FetchBuffer;
import dev.lanes.consumer.internals.shared.Lane;
import dev.lanes.consumer.internals.shared.LaneName;
import dev.lanes.consumer.internals.shared.RebalanceCallbackQueue;
import dev.lanes.consumer.internals.events.ApplicationEvent;
import dev.lanes.consumer.internals.events.RebalanceCallback;
import dev.lanes.consumer.internals.events.RebalanceCallbackCompletedEvent;
import dev.lanes.consumer.internals.metrics.LanesConsumerMetrics;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.common.metrics.Metrics;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class RebalanceListenerInvokerTest {

    private static final TopicPartition P0 = new TopicPartition("topic", 0);
    private static final TopicPartition P1 = new TopicPartition("topic", 1);

    private final ManualClock clock = new ManualClock(1_000);
    private final FetchBuffer fetchBuffer = new FetchBuffer(1 << 20, () -> { });
    private final RebalanceCallbackQueue requested = new RebalanceCallbackQueue(fetchBuffer);
    private final Lane systemLane = new Lane(LaneName.SYSTEM, 8, clock);
    private final List<String> calls = new ArrayList<>();
    private final List<Set<TopicPartition>> dropped = new ArrayList<>();
    private int wakeups;
    private final LanesConsumerMetrics metrics = new LanesConsumerMetrics(new Metrics(), "test-client");
    private final RebalanceListenerInvoker invoker = new RebalanceListenerInvoker(requested, systemLane,
            () -> wakeups++, dropped::add, clock, metrics);

    /** A listener that records each call and throws from onPartitionsRevoked if asked to. */
    private final class RecordingListener implements ConsumerRebalanceListener {
        private final boolean revokeThrows;

        RecordingListener(boolean revokeThrows) {
            this.revokeThrows = revokeThrows;
        }

        @Override
        public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
            calls.add("revoked " + partitions);
            if (revokeThrows) {
                throw new IllegalStateException("revoke failed");
            }
        }

        @Override
        public void onPartitionsAssigned(Collection<TopicPartition> partitions) {
            calls.add("assigned " + partitions);
        }

        @Override
        public void onPartitionsLost(Collection<TopicPartition> partitions) {
            calls.add("lost " + partitions);
        }
    }

    private List<RebalanceCallbackCompletedEvent> acknowledgements() {
        List<ApplicationEvent<?>> events = new ArrayList<>();
        systemLane.drainTo(events, Integer.MAX_VALUE);
        List<RebalanceCallbackCompletedEvent> acks = new ArrayList<>();
        events.forEach(event -> acks.add((RebalanceCallbackCompletedEvent) event));
        return acks;
    }

    @Test
    void requestedCallbacksRunOnlyWhenTheApplicationThreadAsksAndEachIsAcknowledged() {
        invoker.use(new RecordingListener(false));
        long revoke = requested.request(RebalanceCallback.Kind.REVOKED, Set.of(P0));
        long assign = requested.request(RebalanceCallback.Kind.ASSIGNED, Set.of(P1));
        assertThat(calls).isEmpty();

        invoker.runRequested();

        assertThat(calls).containsExactly("revoked [" + P0 + "]", "assigned [" + P1 + "]");
        assertThat(acknowledgements()).extracting(RebalanceCallbackCompletedEvent::callbackId)
                .containsExactly(revoke, assign);
        assertThat(wakeups).isEqualTo(2);
        assertThat(requested.isEmpty()).isTrue();
    }

    @Test
    void recordsOfRevokedAndLostPartitionsAreDroppedButNotOfAssignedOnes() {
        requested.request(RebalanceCallback.Kind.REVOKED, Set.of(P0));
        requested.request(RebalanceCallback.Kind.ASSIGNED, Set.of(P1));
        requested.request(RebalanceCallback.Kind.LOST, Set.of(P1));

        invoker.runRequested();

        assertThat(dropped).containsExactly(Set.of(P0), Set.of(P1));
    }

    @Test
    void aListenerThatThrowsIsAcknowledgedWithItsErrorAndTheLaterCallbacksStillRun() {
        invoker.use(new RecordingListener(true));
        requested.request(RebalanceCallback.Kind.REVOKED, Set.of(P0));
        requested.request(RebalanceCallback.Kind.ASSIGNED, Set.of(P1));

        assertThatThrownBy(invoker::runRequested).as("as KafkaConsumer reports it")
                .isExactlyInstanceOf(org.apache.kafka.common.KafkaException.class)
                .hasMessage("User rebalance callback throws an error")
                .cause().hasMessage("revoke failed");

        assertThat(calls).containsExactly("revoked [" + P0 + "]", "assigned [" + P1 + "]");
        List<RebalanceCallbackCompletedEvent> acks = acknowledgements();
        assertThat(acks).hasSize(2);
        assertThat(acks.get(0).error()).get().extracting(Throwable::getMessage).isEqualTo("revoke failed");
        assertThat(acks.get(1).error()).isEmpty();
        assertThat(dropped).containsExactly(Set.of(P0));
    }

    @Test
    void aFullSystemLaneIsAClearError() {
        Lane tinyLane = new Lane(LaneName.SYSTEM, 1, clock);
        RebalanceListenerInvoker withTinyLane = new RebalanceListenerInvoker(requested, tinyLane, () -> { }, partitions -> { },
                clock, metrics);
        requested.request(RebalanceCallback.Kind.ASSIGNED, Set.of(P0));
        long second = requested.request(RebalanceCallback.Kind.ASSIGNED, Set.of(P1));

        assertThatThrownBy(withTinyLane::runRequested).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("rebalance callback " + second + " cannot be acknowledged");
    }

    @Test
    void invokeRunsTheCurrentListenerWithoutAcknowledging() {
        invoker.use(new RecordingListener(false));
        invoker.invoke(RebalanceCallback.Kind.LOST, Set.of(P0));
        invoker.use(RebalanceListenerInvoker.NO_OP_LISTENER);
        invoker.invoke(RebalanceCallback.Kind.REVOKED, Set.of(P1));

        assertThat(calls).containsExactly("lost [" + P0 + "]");
        assertThat(systemLane.isEmpty()).isTrue();
        assertThat(dropped).isEmpty();
    }
}
