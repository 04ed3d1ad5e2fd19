package dev.lanes.spring.listener;

import dev.lanes.spring.BatchListenerFailedException;
import dev.lanes.spring.DeadLetterPublisher;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Test;
import org.springframework.util.backoff.ExponentialBackOff;
import org.springframework.util.backoff.FixedBackOff;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.stream.IntStream;

import static org.assertj.core.api.Assertions.assertThat;

class DefaultLanesErrorHandlerTest {

    private final RecordingPublisher publisher = new RecordingPublisher();
    private final List<List<Long>> invocations = new ArrayList<>();

    @Test
    void aFixedBackOffRetriesItsAttemptsThenRecovers() {
        DefaultLanesErrorHandler handler = new DefaultLanesErrorHandler(new FixedBackOff(1, 3), publisher, List.of());
        boolean done = handler.invoke("l", "g", records(1), batch -> fail(batch, new IllegalStateException("no")), () -> false);
        assertThat(done).isTrue();
        assertThat(invocations).hasSize(4);
        assertThat(publisher.offsets()).containsExactly(0L);
        assertThat(publisher.groups).containsExactly("g");
    }

    @Test
    void anExponentialBackOffStopsAtItsMaximumElapsedTime() {
        ExponentialBackOff backOff = new ExponentialBackOff(10, 2.0);
        backOff.setMaxElapsedTime(50);
        backOff.setMaxAttempts(100);
        DefaultLanesErrorHandler handler = new DefaultLanesErrorHandler(backOff, publisher, List.of());
        handler.invoke("l", "g", records(1), batch -> fail(batch, new IllegalStateException("no")), () -> false);
        // Waits of 10, 20 and 40 ms: the elapsed 70 ms is past 50, so no fourth retry.
        assertThat(invocations).hasSize(4);
        assertThat(publisher.offsets()).containsExactly(0L);
    }

    @Test
    void exceptionsThatCannotSucceedAreNotRetried() {
        DefaultLanesErrorHandler handler = new DefaultLanesErrorHandler(new FixedBackOff(1, 5), publisher,
                List.of(UnsupportedOperationException.class));
        handler.invoke("l", "g", records(1), batch -> fail(batch, new ClassCastException("cast")), () -> false);
        assertThat(invocations).hasSize(1);
        handler.invoke("l", "g", records(1), batch -> fail(batch, new IllegalStateException("wrapped",
                new UnsupportedOperationException("mine"))), () -> false);
        assertThat(invocations).hasSize(2);
        handler.invoke("l", "g", records(1), batch -> fail(batch, new org.apache.kafka.common.errors.SerializationException("bad")), () -> false);
        assertThat(invocations).hasSize(3);
        handler.invoke("l", "g", records(1), batch -> fail(batch, new IllegalStateException("retryable")), () -> false);
        assertThat(invocations).hasSize(3 + 6);
        assertThat(publisher.offsets()).containsExactly(0L, 0L, 0L, 0L);
        assertThat(handler.isRetryable(new RuntimeException(new ClassCastException()))).isFalse();
    }

    @Test
    void aBatchListenerNamingTheFailedRecordHasOnlyThatOneRecovered() {
        DefaultLanesErrorHandler handler = new DefaultLanesErrorHandler(new FixedBackOff(1, 2), publisher, List.of());
        List<ConsumerRecord<String, String>> batch = records(5);
        boolean done = handler.invoke("l", "g", batch, delivered -> {
            invocations.add(offsets(delivered));
            for (int i = 0; i < delivered.size(); i++) {
                if (delivered.get(i).offset() == 2) {
                    throw new BatchListenerFailedException("offset 2 failed", new IllegalStateException("two"), i);
                }
            }
        }, () -> false);
        assertThat(done).isTrue();
        assertThat(invocations).containsExactly(List.of(0L, 1L, 2L, 3L, 4L), List.of(2L, 3L, 4L), List.of(2L, 3L, 4L), List.of(3L, 4L));
        assertThat(publisher.offsets()).containsExactly(2L);
        assertThat(publisher.failures.get(0)).isInstanceOf(IllegalStateException.class).hasMessage("two");
    }

    @Test
    void aBatchListenerMayNameTheRecordItself() {
        DefaultLanesErrorHandler handler = new DefaultLanesErrorHandler(new FixedBackOff(1, 0), publisher, List.of());
        List<ConsumerRecord<String, String>> batch = records(3);
        handler.invoke("l", "g", batch, delivered -> {
            invocations.add(offsets(delivered));
            if (delivered.get(0).offset() <= 1) {
                throw new BatchListenerFailedException("failed", null, batch.get(1));
            }
        }, () -> false);
        assertThat(invocations).containsExactly(List.of(0L, 1L, 2L), List.of(2L));
        assertThat(publisher.offsets()).containsExactly(1L);
    }

    @Test
    void anyOtherBatchFailureRecoversTheWholeBatch() {
        DefaultLanesErrorHandler handler = new DefaultLanesErrorHandler(new FixedBackOff(1, 1), publisher, List.of());
        handler.invoke("l", "g", records(3), batch -> fail(batch, new IllegalStateException("all")), () -> false);
        assertThat(invocations).hasSize(2);
        assertThat(publisher.offsets()).containsExactly(0L, 1L, 2L);
    }

    @Test
    void stoppingGivesUpRetryingWithoutRecovering() {
        DefaultLanesErrorHandler handler = new DefaultLanesErrorHandler(new FixedBackOff(60_000, 3), publisher, List.of());
        boolean done = handler.invoke("l", "g", records(1), batch -> fail(batch, new IllegalStateException("no")),
                () -> !invocations.isEmpty());
        assertThat(done).isFalse();
        assertThat(publisher.offsets()).isEmpty();
    }

    private void fail(List<? extends ConsumerRecord<?, ?>> batch, RuntimeException failure) {
        invocations.add(offsets(batch));
        throw failure;
    }

    private static List<Long> offsets(List<? extends ConsumerRecord<?, ?>> batch) {
        return batch.stream().map(ConsumerRecord::offset).toList();
    }

    private static List<ConsumerRecord<String, String>> records(int count) {
        return IntStream.range(0, count).mapToObj(i -> new ConsumerRecord<>("t", 0, i, "k" + i, "v" + i)).toList();
    }

    private static final class RecordingPublisher implements DeadLetterPublisher {
        final List<ConsumerRecord<?, ?>> records = new CopyOnWriteArrayList<>();
        final List<String> groups = new CopyOnWriteArrayList<>();
        final List<Throwable> failures = new CopyOnWriteArrayList<>();

        @Override
        public void publish(ConsumerRecord<?, ?> record, String groupId, Throwable failure) {
            records.add(record);
            groups.add(groupId);
            failures.add(failure);
        }

        @Override
        public String deadLetterTopic(String topic) {
            return topic + ".DLT";
        }

        List<Long> offsets() {
            return DefaultLanesErrorHandlerTest.offsets(records);
        }
    }
}
