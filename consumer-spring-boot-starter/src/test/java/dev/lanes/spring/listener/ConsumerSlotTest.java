package dev.lanes.spring.listener;

import dev.lanes.spring.CommitMode;
import dev.lanes.spring.LanesErrorHandler;
import dev.lanes.spring.ListenerConsumer;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.RecordDeserializationException;
import org.junit.jupiter.api.Test;

import java.lang.reflect.Method;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;

import static org.assertj.core.api.Assertions.assertThat;

class ConsumerSlotTest {

    private static final TopicPartition P0 = new TopicPartition("orders", 0);
    private static final Duration BACK_OFF = Duration.ofSeconds(5);

    /** A container that runs until told to stop, hands out the consumers it was given and records what the slot asks. */
    static class FakeOwner implements SlotOwner {
        volatile boolean running = true;
        final Deque<FakeLanesConsumer> consumers = new ArrayDeque<>();
        final List<Duration> backOffs = new ArrayList<>();
        final List<String> closed = new ArrayList<>();

        @Override
        public String listenerId() {
            return "orders";
        }

        @Override
        public boolean isRunning() {
            return running;
        }

        @Override
        public boolean holding(ConsumerSlot slot) {
            return false;
        }

        @Override
        public Duration remaining() {
            return Duration.ofSeconds(1);
        }

        @Override
        public int slotCount() {
            return 1;
        }

        @Override
        public ListenerConsumer<Object, Object> createConsumer(int slotIndex) {
            return ListenerConsumer.of(consumers.removeFirst());
        }

        @Override
        public boolean replaceAfter(Duration backOff, Runnable replace) {
            backOffs.add(backOff);
            if (!running) {
                return false;
            }
            replace.run();
            return true;
        }

        @Override
        public void closeConsumer(ListenerConsumer<Object, Object> consumer, Duration timeout) {
            closed.add(consumer.clientId() + " in " + timeout);
            consumer.consumer().close(timeout);
        }
    }

    /** Hands each value to the test's reaction, on the slot's thread. */
    static class Listener {
        final List<String> seen = new ArrayList<>();
        final List<String> threadNames = new ArrayList<>();
        Consumer<String> reaction = value -> { };

        void record(ConsumerRecord<Object, Object> record) {
            seen.add((String) record.value());
            threadNames.add(Thread.currentThread().getName());
            reaction.accept((String) record.value());
        }
    }

    static class InvokingErrorHandler implements LanesErrorHandler {
        @Override
        public boolean invoke(String listenerId, String groupId, List<? extends ConsumerRecord<?, ?>> records,
                              ListenerInvocation invocation, BooleanSupplier stopping) {
            try {
                invocation.invoke(records);
                return true;
            } catch (Exception e) {
                throw new AssertionError(e);
            }
        }

        @Override
        public void handleDeserializationFailure(String listenerId, String groupId, RecordDeserializationException exception) {
        }
    }

    private final FakeOwner owner = new FakeOwner();
    private final Listener listener = new Listener();

    private ConsumerSlot slot(FakeLanesConsumer first, boolean replaceFailedConsumers) {
        Method method = java.util.Arrays.stream(Listener.class.getDeclaredMethods())
                .filter(candidate -> candidate.getName().equals("record")).findFirst().orElseThrow();
        LanesListenerEndpoint endpoint = new LanesListenerEndpoint("orders", "listener", listener, method,
                ListenerArguments.of(method), List.of("orders"), null, "group", null, true, Map.of(), null, List.of(), null);
        RecordDispatcher dispatcher = new RecordDispatcher(endpoint, "group", CommitMode.BATCH, new InvokingErrorHandler(),
                () -> !owner.running);
        return new ConsumerSlot(owner, 0, ListenerConsumer.of(first), endpoint, dispatcher,
                new ConsumerSlot.Settings(Duration.ofMillis(10), replaceFailedConsumers, BACK_OFF, null));
    }

    /** Gives the consumer partition 0 and the values from {@code offset} on its first poll. */
    private static FakeLanesConsumer consumerWith(String clientId, long offset, String... values) {
        FakeLanesConsumer consumer = new FakeLanesConsumer(clientId);
        consumer.schedulePollTask(() -> {
            consumer.rebalance(List.of(P0));
            consumer.updateBeginningOffsets(Map.of(P0, offset));
            for (int i = 0; i < values.length; i++) {
                consumer.addRecord(new ConsumerRecord<>("orders", 0, offset + i, null, values[i]));
            }
        });
        return consumer;
    }

    @Test
    void aStopCommitsWhatWasProcessedAndClosesTheConsumer() {
        FakeLanesConsumer consumer = consumerWith("orders-0", 0, "a", "b");
        listener.reaction = value -> owner.running = !value.equals("b");

        slot(consumer, true).run();

        assertThat(listener.seen).containsExactly("a", "b");
        assertThat(consumer.syncCommits).containsExactly(Map.of(P0, new OffsetAndMetadata(2)));
        assertThat(owner.closed).containsExactly("orders-0 in PT1S");
    }

    @Test
    void aConsumerWhoseBackgroundThreadDiedIsClosedWithoutCommitsAndReplacedAfterTheBackOff() {
        FakeLanesConsumer failing = consumerWith("orders-0", 0, "a");
        FakeLanesConsumer replacement = consumerWith("orders-0", 1, "b");
        owner.consumers.add(replacement);
        listener.reaction = value -> {
            if (value.equals("a")) {
                failing.failBackgroundThread(new IllegalStateException("network thread died"));
            } else {
                owner.running = false;
            }
        };
        ConsumerSlot slot = slot(failing, true);

        slot.run();

        assertThat(listener.seen).containsExactly("a", "b");
        assertThat(owner.backOffs).containsExactly(BACK_OFF);
        // Nothing more is committed with the failed consumer, and it gets no time to flush: its thread is dead.
        assertThat(failing.syncCommits).isEmpty();
        assertThat(owner.closed).containsExactly("orders-0 in PT0S", "orders-0 in PT1S");
        assertThat(replacement.syncCommits).containsExactly(Map.of(P0, new OffsetAndMetadata(2)));
        assertThat(slot.consumer().consumer()).isSameAs(replacement);
    }

    @Test
    void withoutReplacementTheSlotEndsAndKeepsShowingTheFailedConsumer() {
        FakeLanesConsumer failing = consumerWith("orders-0", 0, "a");
        listener.reaction = value -> failing.failBackgroundThread(new IllegalStateException("network thread died"));
        ConsumerSlot slot = slot(failing, false);

        slot.run();

        assertThat(owner.backOffs).isEmpty();
        assertThat(owner.closed).containsExactly("orders-0 in PT0S");
        assertThat(slot.consumer().consumer()).isSameAs(failing);
        assertThat(slot.isFinished()).isTrue();
    }

    @Test
    void aConsumerThatFailsWhileTheContainerStopsIsNotReplaced() {
        FakeLanesConsumer failing = consumerWith("orders-0", 0, "a");
        owner.consumers.add(new FakeLanesConsumer("never-used"));
        listener.reaction = value -> {
            failing.failBackgroundThread(new IllegalStateException("network thread died"));
            owner.running = false;
        };
        ConsumerSlot slot = slot(failing, true);

        slot.run();

        assertThat(owner.backOffs).isEmpty();
        assertThat(owner.consumers).hasSize(1);
        assertThat(owner.closed).containsExactly("orders-0 in PT0S");
        assertThat(slot.consumer().consumer()).isSameAs(failing);
    }

    @Test
    void theSlotsThreadCarriesTheListenerNameWhileItRunsWhateverExecutorLentIt() {
        FakeLanesConsumer consumer = consumerWith("orders-0", 0, "a");
        listener.reaction = value -> owner.running = false;
        String before = Thread.currentThread().getName();

        slot(consumer, true).run();

        assertThat(listener.threadNames).containsExactly("lanes-listener-orders-0");
        assertThat(Thread.currentThread().getName()).isEqualTo(before);
    }
}
