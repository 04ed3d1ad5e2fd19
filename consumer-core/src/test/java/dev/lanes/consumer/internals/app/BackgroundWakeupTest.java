package dev.lanes.consumer.internals.app;

import dev.lanes.consumer.internals.common.ManualClock;
import dev.lanes.consumer.internals.events.TopicMetadataEvent;
import dev.lanes.consumer.internals.shared.Lane;
import dev.lanes.consumer.internals.shared.LaneName;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class BackgroundWakeupTest {

    private final ManualClock clock = new ManualClock(1_000);
    private final Lane userLane = new Lane(LaneName.USER, 16, clock);
    private final List<String> steps = new ArrayList<>();
    private final ScriptedBackground background = new ScriptedBackground(new Lane(LaneName.SYSTEM, 16, clock),
            userLane, steps);
    private final BackgroundWakeup wakeup = new BackgroundWakeup();

    @Test
    void wakesTheBoundThreadOnlyOnceBoundAndIsBoundOnce() {
        userLane.offer(new TopicMetadataEvent(Optional.empty(), clock.deadlineAfter(1_000)));
        wakeup.run();
        assertThat(steps).as("nothing to wake yet").isEmpty();

        wakeup.bind(background);
        wakeup.run();

        assertThat(steps).containsExactly("TopicMetadataEvent");
        assertThatThrownBy(() -> wakeup.bind(background)).isInstanceOf(IllegalStateException.class);
    }
}
