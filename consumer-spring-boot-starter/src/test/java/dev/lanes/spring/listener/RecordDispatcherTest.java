package dev.lanes.spring.listener;

import dev.lanes.spring.Acknowledgment;
import dev.lanes.spring.CommitMode;
import dev.lanes.spring.LanesErrorHandler;
import dev.lanes.spring.ListenerConsumer;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.RecordDeserializationException;
import org.apache.kafka.common.record.TimestampType;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.junit.jupiter.api.Test;

import java.lang.reflect.Method;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.BooleanSupplier;

import static org.assertj.core.api.Assertions.assertThat;

class RecordDispatcherTest {

    private static final TopicPartition P0 = new TopicPartition("orders", 0);
    private static final TopicPartition P1 = new TopicPartition("orders", 1);

    /** The listener methods under test; a value "fail" throws. */
    static class Listener {
        final List<Object> seen = new CopyOnWriteArrayList<>();

        void record(ConsumerRecord<Object, Object> record) {
            take(record.value());
        }

        void acknowledging(ConsumerRecord<Object, Object> record, Acknowledgment acknowledgment) {
            take(record.value());
            if (!record.value().toString().startsWith("hold")) {
                acknowledgment.acknowledge();
            }
        }

        void batch(List<ConsumerRecord<Object, Object>> batch) {
            batch.forEach(record -> take(record.value()));
        }

        private void take(Object value) {
            if ("fail".equals(value)) {
                throw new IllegalStateException("cannot process");
            }
            seen.add(value);
        }
    }

    /** Calls the listener once; a failure is skipped (done), unless the container stops. */
    static class SkippingErrorHandler implements LanesErrorHandler {
        final List<Object> skipped = new ArrayList<>();
        final List<RecordDeserializationException> undeserializable = new ArrayList<>();

        @Override
        public boolean invoke(String listenerId, String groupId, List<? extends ConsumerRecord<?, ?>> records,
                              ListenerInvocation invocation, BooleanSupplier stopping) {
            try {
                invocation.invoke(records);
            } catch (Exception e) {
                if (stopping.getAsBoolean()) {
                    return false;
                }
                records.forEach(record -> skipped.add(record.value()));
            }
            return true;
        }

        @Override
        public void handleDeserializationFailure(String listenerId, String groupId, RecordDeserializationException exception) {
            undeserializable.add(exception);
        }
    }

    private final Listener listener = new Listener();
    private final SkippingErrorHandler errorHandler = new SkippingErrorHandler();
    private final FakeLanesConsumer fake = new FakeLanesConsumer("orders-0");
    private final SlotConsumer consumer = new SlotConsumer("orders", ListenerConsumer.of(fake));
    private boolean stopping;

    RecordDispatcherTest() {
        fake.assign(List.of(P0, P1));
        consumer.progress().assignExactly(List.of(P0, P1));
    }

    private RecordDispatcher dispatcher(String method, CommitMode commitMode) {
        Method listenerMethod = java.util.Arrays.stream(Listener.class.getDeclaredMethods())
                .filter(candidate -> candidate.getName().equals(method)).findFirst().orElseThrow();
        LanesListenerEndpoint endpoint = new LanesListenerEndpoint("orders", "listener", listener, listenerMethod,
                ListenerArguments.of(listenerMethod), List.of("orders"), null, "group", null, true, Map.of(), null,
                List.of(), null);
        return new RecordDispatcher(endpoint, "group", commitMode, errorHandler, () -> stopping);
    }

    private static ConsumerRecords<Object, Object> records(TopicPartition partition, long firstOffset, Object... values) {
        Map<TopicPartition, List<ConsumerRecord<Object, Object>>> records = new LinkedHashMap<>();
        List<ConsumerRecord<Object, Object>> list = new ArrayList<>();
        for (int i = 0; i < values.length; i++) {
            list.add(new ConsumerRecord<>(partition.topic(), partition.partition(), firstOffset + i, 0L,
                    TimestampType.CREATE_TIME, 0, 0, null, values[i], new RecordHeaders(), Optional.empty()));
        }
        records.put(partition, list);
        return new ConsumerRecords<>(records, Map.of());
    }

    private static Map<TopicPartition, OffsetAndMetadata> next(TopicPartition partition, long offset) {
        return Map.of(partition, new OffsetAndMetadata(offset));
    }

    @Test
    void theBatchModeCommitsOncePerPollAfterEveryRecordWasProcessed() {
        dispatcher("record", CommitMode.BATCH).dispatch(consumer, records(P0, 10, "a", "b", "c"));

        assertThat(listener.seen).containsExactly("a", "b", "c");
        assertThat(fake.asyncCommits).containsExactly(next(P0, 13));
        assertThat(consumer.progress().processedOffsets()).isEqualTo(next(P0, 13));
    }

    @Test
    void theRecordModeCommitsAfterEachRecord() {
        dispatcher("record", CommitMode.RECORD).dispatch(consumer, records(P0, 10, "a", "b"));

        assertThat(fake.asyncCommits).containsExactly(next(P0, 11), next(P0, 12));
    }

    @Test
    void aRecordTheErrorHandlerSkippedIsCommittedLikeAProcessedOne() {
        dispatcher("record", CommitMode.BATCH).dispatch(consumer, records(P0, 10, "a", "fail", "c"));

        assertThat(listener.seen).containsExactly("a", "c");
        assertThat(errorHandler.skipped).containsExactly("fail");
        assertThat(fake.asyncCommits).containsExactly(next(P0, 13));
    }

    @Test
    void aStopDuringTheErrorHandlingLeavesTheFailedRecordUncommittedForTheNextOwner() {
        stopping = true;

        dispatcher("record", CommitMode.BATCH).dispatch(consumer, records(P0, 10, "fail", "b"));

        assertThat(listener.seen).isEmpty();
        assertThat(fake.asyncCommits).isEmpty();
        assertThat(consumer.progress().processedOffsets()).isEmpty();
    }

    @Test
    void theManualModeCommitsOnlyWhatTheListenerAcknowledged() {
        dispatcher("acknowledging", CommitMode.MANUAL).dispatch(consumer, records(P0, 10, "a", "hold-b"));

        assertThat(listener.seen).containsExactly("a", "hold-b");
        assertThat(fake.asyncCommits).containsExactly(next(P0, 11));
    }

    @Test
    void theManualImmediateModeCommitsEachAcknowledgmentAtOnce() {
        dispatcher("acknowledging", CommitMode.MANUAL_IMMEDIATE).dispatch(consumer, records(P0, 10, "a", "b"));

        assertThat(fake.asyncCommits).containsExactly(next(P0, 11), next(P0, 12));
    }

    @Test
    void aBatchIsCommittedAfterTheListenerReturned() {
        dispatcher("batch", CommitMode.BATCH).dispatch(consumer, records(P1, 5, "a", "b"));

        assertThat(listener.seen).containsExactly("a", "b");
        assertThat(fake.asyncCommits).containsExactly(next(P1, 7));
    }

    @Test
    void recordsOfAPartitionRevokedDuringTheBatchAreNotHandedToTheListener() {
        consumer.progress().revoked(List.of(P0));

        dispatcher("record", CommitMode.BATCH).dispatch(consumer, records(P0, 10, "a"));

        assertThat(listener.seen).isEmpty();
        assertThat(fake.asyncCommits).isEmpty();
    }

    @Test
    void anUndeserializableRecordGoesToTheErrorHandlerAndIsSkippedAndCommitted() {
        RecordDeserializationException failure = new RecordDeserializationException(
                RecordDeserializationException.DeserializationExceptionOrigin.VALUE, P0, 42, 0L, TimestampType.CREATE_TIME,
                null, null, new RecordHeaders(), "bad value", null);

        dispatcher("record", CommitMode.BATCH).skipUndeserializable(consumer, failure);

        assertThat(errorHandler.undeserializable).containsExactly(failure);
        assertThat(fake.position(P0)).isEqualTo(43);
        assertThat(fake.asyncCommits).containsExactly(next(P0, 43));
        assertThat(consumer.progress().processedOffsets()).isEqualTo(next(P0, 43));
    }
}
