package dev.lanes.consumer.internals.app;

import dev.lanes.consumer.internals.shared.FetchBuffer;
import dev.lanes.consumer.internals.adapter.FetchedPartitions;
import dev.lanes.consumer.internals.shared.OffsetResetStrategy;
import dev.lanes.consumer.internals.shared.SubscriptionState;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.common.IsolationLevel;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Optional;

import static org.assertj.core.api.Assertions.assertThat;

class FetchCollectorTest {

    private static final TopicPartition P0 = new TopicPartition("topic", 0);
    private static final TopicPartition P1 = new TopicPartition("topic", 1);

    private final SubscriptionState subscriptions = new SubscriptionState(OffsetResetStrategy.EARLIEST);
    private final FetchBuffer buffer = new FetchBuffer(1 << 20, () -> { });
    private final FetchCollector<String, String> collector = new FetchCollector<>(buffer, subscriptions,
            IsolationLevel.READ_UNCOMMITTED, true, new StringDeserializer(), new StringDeserializer(),
            new dev.lanes.consumer.internals.metrics.LanesConsumerMetrics(new org.apache.kafka.common.metrics.Metrics(),
                    "test-client").fetchManager());

    @Test
    void onePollReturnsAPartitionsRecordsFromOneFetchAtATime() {
        assignedFromZero(P0, P1);
        buffer.add(FetchedPartitions.records(P0, 0, 5));
        buffer.add(FetchedPartitions.records(P0, 5, 5)); // fetched ahead while the first waited
        buffer.add(FetchedPartitions.records(P1, 0, 3));

        ConsumerRecords<String, String> first = collector.collect(100);
        assertThat(offsets(first, P0)).as("the first fetch of P0 only").containsExactly(0L, 1L, 2L, 3L, 4L);
        assertThat(offsets(first, P1)).as("other partitions are still served").containsExactly(0L, 1L, 2L);

        ConsumerRecords<String, String> second = collector.collect(100);
        assertThat(offsets(second, P0)).as("the next fetch, in order").containsExactly(5L, 6L, 7L, 8L, 9L);
        assertThat(subscriptions.position(P0)).hasValue(10);
    }

    @Test
    void fetchesQueuedBehindOneSetAsideAreHandedOutInTheirTurnNotDropped() {
        assignedFromZero(P0, P1);
        buffer.add(FetchedPartitions.records(P0, 0, 5));
        buffer.add(FetchedPartitions.records(P0, 5, 5));
        buffer.add(FetchedPartitions.records(P0, 10, 5)); // starts where the one before ends, not at the position
        buffer.add(FetchedPartitions.records(P1, 0, 3));

        assertThat(offsets(collector.collect(100), P0)).containsExactly(0L, 1L, 2L, 3L, 4L);
        assertThat(offsets(collector.collect(100), P0)).containsExactly(5L, 6L, 7L, 8L, 9L);
        assertThat(offsets(collector.collect(100), P0)).as("the third fetch, kept while the second was set aside")
                .containsExactly(10L, 11L, 12L, 13L, 14L);
        assertThat(buffer.bytes()).isZero();
    }

    @Test
    void aPausedPartitionKeepsEveryBufferedFetchForWhenItIsResumed() {
        assignedFromZero(P0, P1);
        buffer.add(FetchedPartitions.records(P0, 0, 5));
        buffer.add(FetchedPartitions.records(P0, 5, 5));
        buffer.add(FetchedPartitions.records(P1, 0, 3));
        subscriptions.pause(List.of(P0));

        assertThat(collector.collect(100).partitions()).containsExactly(P1);
        subscriptions.resume(List.of(P0));

        assertThat(offsets(collector.collect(100), P0)).containsExactly(0L, 1L, 2L, 3L, 4L);
        assertThat(offsets(collector.collect(100), P0)).containsExactly(5L, 6L, 7L, 8L, 9L);
    }

    @Test
    void aFetchFromBeforeASeekIsStillDroppedWhenItsTurnComes() {
        assignedFromZero(P0);
        buffer.add(FetchedPartitions.records(P0, 0, 5));
        subscriptions.seek(P0, 100, Optional.empty()); // the application moved on; the buffered fetch is stale

        assertThat(collector.collect(100).isEmpty()).isTrue();
        assertThat(buffer.bytes()).isZero();
        assertThat(subscriptions.position(P0)).hasValue(100);
    }

    private void assignedFromZero(TopicPartition... partitions) {
        subscriptions.assignFromUser(List.of(partitions));
        for (TopicPartition partition : partitions) {
            subscriptions.seek(partition, 0, Optional.empty());
        }
    }

    private static List<Long> offsets(ConsumerRecords<String, String> records, TopicPartition partition) {
        return records.records(partition).stream().map(ConsumerRecord::offset).toList();
    }
}
