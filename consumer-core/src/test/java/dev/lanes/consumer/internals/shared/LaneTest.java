package dev.lanes.consumer.internals.shared;

import dev.lanes.consumer.internals.common.Clock;
import dev.lanes.consumer.internals.common.ManualClock;
import dev.lanes.consumer.internals.events.ApplicationEvent;
import dev.lanes.consumer.internals.events.ApplicationEventVisitor;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class LaneTest {

    private final ManualClock clock = new ManualClock(1_000);

    private static final class TestEvent extends ApplicationEvent<Void> {
        final int id;

        TestEvent(int id) {
            super(Long.MAX_VALUE);
            this.id = id;
        }

        @Override
        public void accept(ApplicationEventVisitor visitor) {
        }
    }

    @Test
    void offerRefusesAtOnceWhenFull() {
        Lane lane = new Lane(LaneName.USER, 2, clock);
        assertThat(lane.offer(new TestEvent(1))).isTrue();
        assertThat(lane.offer(new TestEvent(2))).isTrue();

        assertThat(lane.offer(new TestEvent(3))).isFalse();
        assertThat(lane.size()).isEqualTo(2);
        assertThat(lane.capacity()).isEqualTo(2);
    }

    @Test
    void blockingOfferGivesUpAtTheDeadlineWhenNoRoomIsMade() throws Exception {
        Lane lane = new Lane(LaneName.USER, 1, Clock.SYSTEM);
        lane.offer(new TestEvent(1));

        long start = System.nanoTime();
        boolean accepted = lane.offer(new TestEvent(2), Clock.SYSTEM.milliseconds() + 50);
        long waitedMs = (System.nanoTime() - start) / 1_000_000;

        assertThat(accepted).isFalse();
        assertThat(waitedMs).isGreaterThanOrEqualTo(40);
        assertThat(lane.size()).isEqualTo(1);
    }

    @Test
    void blockingOfferWithAPastDeadlineDoesNotWait() throws Exception {
        Lane lane = new Lane(LaneName.USER, 1, clock);
        lane.offer(new TestEvent(1));

        assertThat(lane.offer(new TestEvent(2), clock.milliseconds() - 1)).isFalse();
    }

    @Test
    void blockingOfferSucceedsAtOnceWhenThereIsRoom() throws Exception {
        Lane lane = new Lane(LaneName.USER, 1, clock);
        assertThat(lane.offer(new TestEvent(1), clock.milliseconds())).isTrue();
    }

    @Test
    void drainToIsFifoAndBoundedByMax() {
        Lane lane = new Lane(LaneName.SYSTEM, 8, clock);
        for (int i = 0; i < 5; i++) {
            lane.offer(new TestEvent(i));
        }
        List<ApplicationEvent<?>> sink = new ArrayList<>();

        assertThat(lane.drainTo(sink, 3)).isEqualTo(3);
        assertThat(lane.drainTo(sink, Integer.MAX_VALUE)).isEqualTo(2);

        assertThat(sink).extracting(event -> ((TestEvent) event).id).containsExactly(0, 1, 2, 3, 4);
        assertThat(lane.isEmpty()).isTrue();
    }

    @Test
    void offerStampsTheEnqueueTimeFromTheClock() {
        Lane lane = new Lane(LaneName.USER, 1, clock);
        TestEvent event = new TestEvent(1);
        lane.offer(event);
        assertThat(event.enqueuedNanos()).isEqualTo(clock.nanoseconds());
    }

    @Test
    void capacityBelowOneIsRejected() {
        assertThatThrownBy(() -> new Lane(LaneName.USER, 0, clock)).isInstanceOf(IllegalArgumentException.class);
    }
}
