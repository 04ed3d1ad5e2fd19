package dev.lanes.consumer.internals.app;

import dev.lanes.consumer.ConsumerClosedException;
import dev.lanes.consumer.internals.common.ManualClock;
import dev.lanes.consumer.internals.shared.Lane;
import dev.lanes.consumer.internals.shared.LaneName;
import org.apache.kafka.common.errors.WakeupException;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.ConcurrentModificationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class CallGateTest {

    private final ManualClock clock = new ManualClock(1_000);
    private final ScriptedBackground background = new ScriptedBackground(new Lane(LaneName.SYSTEM, 16, clock),
            new Lane(LaneName.USER, 16, clock), new ArrayList<>());
    private final AtomicInteger pollWakeups = new AtomicInteger();
    private final CallGate gate = new CallGate("test-client", background, pollWakeups::incrementAndGet);

    @Test
    void aSecondThreadIsRefusedWhileTheFirstIsInsideAndLetInOnceItLeft() throws Exception {
        gate.enter();
        gate.enter(); // a callback calling back into the consumer

        CompletableFuture<Throwable> other = CompletableFuture.supplyAsync(() -> {
            try {
                gate.enter();
                gate.exit();
                return null;
            } catch (Throwable t) {
                return t;
            }
        });
        assertThat(other.get()).isInstanceOf(ConcurrentModificationException.class);

        gate.exit();
        gate.exit();
        assertThat(CompletableFuture.supplyAsync(() -> {
            gate.enter();
            gate.exit();
            return true;
        }).get()).isTrue();
    }

    @Test
    void aDeadBackgroundThreadClosesTheGateNamingTheCauseAndAClosedConsumerSaysSoFirst() {
        background.failure = new IllegalStateException("boom");

        assertThatThrownBy(gate::enter).isInstanceOf(ConsumerClosedException.class)
                .hasMessage("The consumer test-client is closed because its background thread died: "
                        + "java.lang.IllegalStateException: boom")
                .hasCause(background.failure);

        assertThat(gate.startClosing()).isTrue();
        gate.markClosed();
        assertThatThrownBy(gate::enter).isInstanceOf(IllegalStateException.class)
                .hasMessage("This consumer has already been closed.");
        assertThat(gate.startClosing()).as("a second close").isFalse();
        gate.enterEvenIfClosed();
        gate.exit();
    }

    @Test
    void aWakeupCompletesTheAwaitedFutureWakesAWaitingPollAndStaysPendingUntilThrown() {
        CompletableFuture<Void> awaited = new CompletableFuture<>();
        gate.awaiting(awaited);

        gate.wakeup();

        assertThat(awaited).isCompletedExceptionally();
        assertThatThrownBy(awaited::join).hasCauseInstanceOf(WakeupException.class);
        assertThat(pollWakeups).hasValue(1);
        assertThatThrownBy(gate::throwIfWakeupPending).isInstanceOf(WakeupException.class);
        gate.throwIfWakeupPending();
    }
}
