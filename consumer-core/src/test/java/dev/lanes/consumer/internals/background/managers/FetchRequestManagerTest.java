package dev.lanes.consumer.internals.background.managers;

import dev.lanes.consumer.internals.adapter.FakeNetwork;
import dev.lanes.consumer.internals.adapter.FetchSessions;
import dev.lanes.consumer.internals.adapter.FetchedPartition;
import dev.lanes.consumer.internals.adapter.FetchedPartitions;
import dev.lanes.consumer.internals.shared.FetchBuffer;
import dev.lanes.consumer.internals.common.ManualClock;
import dev.lanes.consumer.internals.shared.PollTracker;
import dev.lanes.consumer.internals.metrics.LanesConsumerMetrics;
import dev.lanes.consumer.internals.shared.OffsetResetStrategy;
import dev.lanes.consumer.internals.shared.SubscriptionState;
import org.apache.kafka.clients.consumer.LogTruncationException;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.IsolationLevel;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.errors.CorruptRecordException;
import org.apache.kafka.common.errors.NotLeaderOrFollowerException;
import org.apache.kafka.common.metrics.Metrics;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;
import java.util.Optional;

import static org.assertj.core.api.Assertions.assertThat;

class FetchRequestManagerTest {

    private static final TopicPartition P0 = new TopicPartition("topic", 0);
    private static final TopicPartition P1 = new TopicPartition("topic", 1);

    private final ManualClock clock = new ManualClock(10_000);
    private final LanesConsumerMetrics metrics = new LanesConsumerMetrics(new Metrics(), "test-client");
    private final SubscriptionState subscriptions = new SubscriptionState(OffsetResetStrategy.EARLIEST);
    private final FakeNetwork network = new FakeNetwork();
    private final FetchBuffer buffer = new FetchBuffer(1024 * 1024, () -> { });
    private final FetchRequestManager fetches = new FetchRequestManager(clock, network, subscriptions, buffer, metrics,
            new FetchRequestManager.FetchConfig(1, 50 * 1024 * 1024, 500, 1024 * 1024, IsolationLevel.READ_UNCOMMITTED,
                    null, 30_000, 100, 1_000));

    @AfterEach
    void closeMetrics() {
        metrics.close();
    }

    @Test
    void aPartitionWithDataWaitingIsFetchedOnFromWhereThatDataEnds() {
        assignAtZero();
        UnsentRequest<?> first = onlyRequest(fetches.poll(clock.milliseconds()));
        assertThat(offsets(network.fetches().get(0))).isEqualTo(Map.of(P0, 0L, P1, 0L));

        complete(first, FetchedPartitions.records(P0, 0, 5));
        assertThat(buffer.isBuffered(P0)).isTrue();

        onlyRequest(fetches.poll(clock.milliseconds()));
        // The next fetch is as wide as the first: P0 continues after the five records still waiting.
        assertThat(offsets(network.fetches().get(1))).isEqualTo(Map.of(P0, 5L, P1, 0L));
    }

    @Test
    void thePeakOfBufferedBytesOutlivesTheApplicationTakingThem() {
        assignAtZero();
        complete(onlyRequest(fetches.poll(clock.milliseconds())), FetchedPartitions.records(P0, 0, 5));
        long held = buffer.bytes();
        assertThat(held).isPositive();

        buffer.release(buffer.next());
        assertThat(buffer.bytes()).isZero();
        assertThat(metrics.value("fetch-buffer-bytes-peak", Map.of())).isEqualTo((double) held);
    }

    @Test
    void anAnswerForAPositionThatWasSeekedAwayFromIsDropped() {
        assignAtZero();
        UnsentRequest<?> first = onlyRequest(fetches.poll(clock.milliseconds()));
        complete(first, FetchedPartitions.records(P0, 0, 5));
        UnsentRequest<?> second = onlyRequest(fetches.poll(clock.milliseconds()));

        // The application seeks P0 while the chained fetch is in flight, and drops what was buffered.
        subscriptions.seek(P0, 100, Optional.empty());
        buffer.drop(List.of(P0));
        complete(second, FetchedPartitions.records(P0, 5, 5));

        assertThat(buffer.isBuffered(P0)).isFalse();
        onlyRequest(fetches.poll(clock.milliseconds()));
        assertThat(offsets(network.fetches().get(2))).containsEntry(P0, 100L);
    }

    @Test
    void aSeekBeforeTheBufferedDataIsDroppedEndsTheChainRatherThanFetchingOnFromTheOldPosition() {
        assignAtZero();
        complete(onlyRequest(fetches.poll(clock.milliseconds())), FetchedPartitions.records(P0, 0, 5));

        // The application seeks P0; the background thread builds a fetch before the application drops P0's data.
        subscriptions.seek(P0, 100, Optional.empty());
        UnsentRequest<?> second = onlyRequest(fetches.poll(clock.milliseconds()));
        assertThat(offsets(network.fetches().get(1))).as("P0's chain led on from offset 5, a position left behind")
                .isEqualTo(Map.of(P1, 0L));

        buffer.drop(List.of(P0));
        complete(second);
        onlyRequest(fetches.poll(clock.milliseconds()));
        assertThat(offsets(network.fetches().get(2))).containsEntry(P0, 100L);
    }

    @Test
    void aPartitionWhoseLastFetchIsTakenWhileAFetchIsBuiltIsFetchedFromItsPositionAsOfThen() {
        assignAtZero();
        complete(onlyRequest(fetches.poll(clock.milliseconds())), FetchedPartitions.records(P0, 0, 5));
        // After the background thread has read the positions, the application takes P0's five records and releases
        // the fetch: nothing of P0 is buffered any more, and its position is 5, not the 0 that was read.
        network.onLeaderLookup(partition -> {
            if (partition.equals(P0) && buffer.isBuffered(P0)) {
                subscriptions.advance(P0, 0, 5, Optional.empty());
                buffer.release(buffer.next());
            }
        });

        onlyRequest(fetches.poll(clock.milliseconds()));

        assertThat(offsets(network.fetches().get(1))).as("from 0, the answer would be dropped as stale, and fetches "
                + "chained to it too").isEqualTo(Map.of(P0, 5L, P1, 0L));
    }

    @Test
    void aFetchLeavesTheDecodeAheadWindowsRoomToDecodingSoThatBothStayWithinTheBound() {
        assignAtZero();
        long window = 512 * 1024; // half of the 1 MiB bound, which is less than the usual window
        complete(onlyRequest(fetches.poll(clock.milliseconds())), FetchedPartitions.records(P0, 0, 5));
        assertThat(network.fetchLimits().get(0).maxBytes()).isEqualTo((int) (buffer.maxBytes() - window));

        onlyRequest(fetches.poll(clock.milliseconds()));
        assertThat(network.fetchLimits().get(1).maxBytes()).as("less what the first answer holds")
                .isEqualTo((int) (buffer.maxBytes() - window - buffer.bytes()));
    }

    @Test
    void oneFetchPerBrokerIsInFlight() {
        assignAtZero();
        onlyRequest(fetches.poll(clock.milliseconds()));
        assertThat(fetches.poll(clock.milliseconds()).requests()).isEmpty();
    }

    @Test
    void onTheCoordinatorsBrokerACaughtUpConsumerLongPollsOnlyWhileTheApplicationIsInPoll() {
        PollTracker application = new PollTracker(clock.milliseconds());
        fetches.keepCoordinatorConnectionFree(() -> FakeNetwork.NODE_0.id(), application);
        assignAtZero();
        application.enter(clock.milliseconds());

        complete(onlyRequest(fetches.poll(clock.milliseconds())), FetchedPartitions.records(P0, 0, 5));
        complete(onlyRequest(fetches.poll(clock.milliseconds())));
        assertThat(lastWaits(2)).as("after records, no waiting on the broker").containsExactly(0, 0);

        assertThat(fetches.poll(clock.milliseconds()).requests())
                .as("caught up while the poll() in progress is about to return the records: no long poll").isEmpty();
        clock.advance(200); // the application did not take them (a paused partition, say)
        complete(onlyRequest(fetches.poll(clock.milliseconds())));
        assertThat(lastWaits(1)).as("caught up, the application waiting in poll()").containsExactly(500);

        application.exit(clock.milliseconds()); // the application processes and may commit: the connection stays free
        assertThat(fetches.poll(clock.milliseconds()).requests()).isEmpty();
        assertThat(application.enter(clock.milliseconds())).as("its next poll() wakes the background thread").isTrue();
        onlyRequest(fetches.poll(clock.milliseconds()));
        assertThat(lastWaits(1)).containsExactly(500);
    }

    @Test
    void aPartitionWithARetriableErrorIsRetriedAfterAGrowingBackoffNeverInAHotLoop() {
        assignOnly(P0);
        fail(onlyRequest(fetches.poll(clock.milliseconds())), P0, 0, new NotLeaderOrFollowerException("moved"));
        assertThat(network.metadataUpdatesRequested()).as("where the partition went").isPositive();
        assertThat(fetches.poll(clock.milliseconds()).requests()).as("backing off").isEmpty();
        clock.advance(121); // retry.backoff.ms 100, with up to 20% jitter
        fail(onlyRequest(fetches.poll(clock.milliseconds())), P0, 0, new NotLeaderOrFollowerException("moved"));
        clock.advance(121);
        assertThat(fetches.poll(clock.milliseconds()).requests()).as("the second back-off is twice as long").isEmpty();
        clock.advance(120);
        complete(onlyRequest(fetches.poll(clock.milliseconds())), FetchedPartitions.records(P0, 0, 5));
        assertThat(buffer.isBuffered(P0)).isTrue();
    }

    @Test
    void aPartitionIsFetchedFromTheReplicaItsLeaderNamesUntilThatReplicaSaysOutOfRange() {
        network.replica(FakeNetwork.NODE_1);
        assignOnly(P0);
        UnsentRequest<?> toLeader = onlyRequest(fetches.poll(clock.milliseconds()));
        assertThat(toLeader.destination()).contains(FakeNetwork.NODE_0);
        completeWith(toLeader, new FetchSessions.FetchResult(Map.of(P0, FetchedPartitions.empty(P0, 0)), Map.of(),
                Map.of(P0, FakeNetwork.NODE_1.id()), Map.of()));

        UnsentRequest<?> toFollower = onlyRequest(fetches.poll(clock.milliseconds()));
        assertThat(toFollower.destination()).as("the preferred read replica").contains(FakeNetwork.NODE_1);
        complete(toFollower, FetchedPartitions.records(P0, 0, 5));
        buffer.release(buffer.next());
        subscriptions.seek(P0, 5, Optional.empty());
        UnsentRequest<?> again = onlyRequest(fetches.poll(clock.milliseconds()));
        assertThat(again.destination()).contains(FakeNetwork.NODE_1);

        fail(again, P0, 5, new org.apache.kafka.common.errors.OffsetOutOfRangeException("follower behind"));
        assertThat(subscriptions.position(P0)).as("not reset: the leader is asked").hasValue(5);
        assertThat(onlyRequest(fetches.poll(clock.milliseconds())).destination()).contains(FakeNetwork.NODE_0);
    }

    @Test
    void anOutOfRangeAnswerAboutAPositionSeekedAwayFromChangesNothing() {
        assignOnly(P0);
        UnsentRequest<?> fetch = onlyRequest(fetches.poll(clock.milliseconds()));
        subscriptions.seek(P0, 100, Optional.empty());
        fail(fetch, P0, 0, new org.apache.kafka.common.errors.OffsetOutOfRangeException("out of range"));
        assertThat(subscriptions.position(P0)).as("the seek wins").hasValue(100);
    }

    @Test
    void aCorruptMessageOrABatchCutShortRaiseAnErrorNamingThePartitionAndOffset() {
        assignOnly(P0);
        fail(onlyRequest(fetches.poll(clock.milliseconds())), P0, 0, new CorruptRecordException("crc"));
        assertThat(buffer.takeError()).isInstanceOf(KafkaException.class)
                .hasMessage("Encountered corrupt message when fetching offset 0 for topic-partition topic-0");

        clock.advance(1_000);
        complete(onlyRequest(fetches.poll(clock.milliseconds())), FetchedPartitions.truncatedBatch(P0, 0));
        assertThat(buffer.takeError()).isInstanceOf(KafkaException.class)
                .hasMessageStartingWith("Failed to make progress reading messages at topic-0=0");
        assertThat(fetches.poll(clock.milliseconds()).requests()).as("not fetched again at once").isEmpty();
    }

    @Test
    void fetchesCarryTheEpochOfTheRecordBeforeTheirOffset() {
        assignOnly(P0);
        positionWithEpoch(subscriptions, P0, 0, 3);
        complete(onlyRequest(fetches.poll(clock.milliseconds())), FetchedPartitions.records(P0, 0, 5));
        assertThat(network.fetches().get(0).get(P0).lastFetchedEpoch()).as("the position's epoch").contains(3);
        onlyRequest(fetches.poll(clock.milliseconds()));
        assertThat(network.fetches().get(1).get(P0).lastFetchedEpoch()).as("the last batch of the data still waiting")
                .isEqualTo(FetchedPartitions.records(P0, 0, 5).lastEpoch());
    }

    @Test
    void aLogTruncatedUnderThePositionMovesItBackToTheFirstDivergentOffset() {
        assignOnly(P0);
        positionWithEpoch(subscriptions, P0, 100, 5);
        diverge(onlyRequest(fetches.poll(clock.milliseconds())), P0, new FetchSessions.Divergence(100, 5, 70));
        assertThat(subscriptions.position(P0)).as("the records written after the divergence are read").hasValue(70);
        assertThat(subscriptions.leaderEpoch(P0)).contains(5);
        assertThat(network.metadataUpdatesRequested()).isZero();
        onlyRequest(fetches.poll(clock.milliseconds()));
        assertThat(network.fetches().get(1).get(P0).offset()).isEqualTo(70L);
    }

    @Test
    void withAutoOffsetResetNoneATruncationRaisesLogTruncationExceptionNamingTheDivergentOffsetUntilASeek() {
        SubscriptionState none = new SubscriptionState(OffsetResetStrategy.NONE);
        FetchRequestManager strict = new FetchRequestManager(clock, network, none, buffer, metrics,
                new FetchRequestManager.FetchConfig(1, 50 * 1024 * 1024, 500, 1024 * 1024, IsolationLevel.READ_UNCOMMITTED,
                        null, 30_000, 100, 1_000));
        none.assignFromUser(List.of(P0));
        positionWithEpoch(none, P0, 100, 5);
        diverge(onlyRequest(strict.poll(clock.milliseconds())), P0, new FetchSessions.Divergence(100, 5, 70));

        // poll() and position() throw it (as KafkaConsumer's do) until the application seeks.
        RuntimeException error = none.positionError(P0).orElseThrow();
        assertThat(error).isInstanceOf(LogTruncationException.class);
        assertThat(((LogTruncationException) error).divergentOffsets())
                .isEqualTo(Map.of(P0, new OffsetAndMetadata(70, Optional.of(5), null)));
        assertThat(((LogTruncationException) error).offsetOutOfRangePartitions()).isEqualTo(Map.of(P0, 100L));
        assertThat(none.unvalidatedPosition(P0)).as("the application decides").hasValue(100);
        clock.advance(5_000);
        assertThat(strict.poll(clock.milliseconds()).requests()).as("not fetched again").isEmpty();
        none.seek(P0, 70, Optional.empty());
        assertThat(none.positionError(P0)).isEmpty();
        assertThat(strict.poll(clock.milliseconds()).requests()).hasSize(1);
    }

    @Test
    void aNewLeaderEpochHoldsAPositionThatCarriesAnEpochForValidationAndMakesBufferedDataStale() {
        assignOnly(P0);
        positionWithEpoch(subscriptions, P0, 10, 3);
        network.leaderEpoch(P0, 4);
        complete(onlyRequest(fetches.poll(clock.milliseconds())), FetchedPartitions.records(P0, 10, 5));
        assertThat(network.fetches().get(0).get(P0).leaderEpoch()).contains(4);

        network.leaderEpoch(P0, 5);
        assertThat(fetches.poll(clock.milliseconds()).requests()).as("not fetched before the check").isEmpty();
        assertThat(subscriptions.partitionsIn(SubscriptionState.FetchState.AWAIT_VALIDATION)).containsExactly(P0);
        assertThat(subscriptions.isCurrentPosition(P0, 10)).as("data fetched from the old leader is stale").isFalse();
        assertThat(subscriptions.unvalidatedPosition(P0)).hasValue(10);
    }

    @Test
    void aNewLeaderEpochNeedsNoCheckForAPositionWithoutAnEpoch() {
        assignOnly(P0);
        network.leaderEpoch(P0, 4);
        onlyRequest(fetches.poll(clock.milliseconds()));
        network.leaderEpoch(P0, 5);
        assertThat(subscriptions.validateOnLeaderChange(P0, Optional.of(6))).isFalse();
        assertThat(subscriptions.position(P0)).hasValue(0);
    }

    @Test
    void aTopicDeletedAndCreatedAgainIsNeverReadFromTheOldTopicsPosition() {
        network.topicIds(Map.of("topic", Uuid.randomUuid()));
        assignOnly(P0);
        subscriptions.seek(P0, 500, Optional.empty());
        complete(onlyRequest(fetches.poll(clock.milliseconds())), FetchedPartitions.records(P0, 500, 5));

        network.topicIds(Map.of("topic", Uuid.randomUuid()));
        assertThat(fetches.poll(clock.milliseconds()).requests()).as("nothing fetched at the old position").isEmpty();
        assertThat(subscriptions.partitionsIn(SubscriptionState.FetchState.AWAIT_RESET)).containsExactly(P0);
        assertThat(subscriptions.isCurrentPosition(P0, 505)).as("the buffered data is stale").isFalse();
    }

    private static void diverge(UnsentRequest<?> request, TopicPartition partition, FetchSessions.Divergence divergence) {
        completeWith(request, new FetchSessions.FetchResult(Map.of(), Map.of(), Map.of(), Map.of(partition, divergence)));
    }

    /** A position with the epoch of the record before it, as if validated against a leader whose epoch is unknown. */
    static void positionWithEpoch(SubscriptionState state, TopicPartition partition, long offset, int epoch) {
        state.seek(partition, offset, Optional.of(epoch));
        state.completeValidation(partition, state.positionEpoch(partition), Optional.empty());
    }

    private void assignOnly(TopicPartition partition) {
        subscriptions.assignFromUser(List.of(partition));
        subscriptions.seek(partition, 0, Optional.empty());
    }

    private static void fail(UnsentRequest<?> request, TopicPartition partition, long fetchOffset, RuntimeException error) {
        completeWith(request, new FetchSessions.FetchResult(Map.of(),
                Map.of(partition, new FetchSessions.PartitionError(error, fetchOffset)), Map.of(), Map.of()));
    }

    @SuppressWarnings("unchecked")
    private static void completeWith(UnsentRequest<?> request, FetchSessions.FetchResult result) {
        ((UnsentRequest<FetchSessions.FetchResult>) request).complete(result, null);
    }

    private List<Integer> lastWaits(int count) {
        List<FetchSessions.FetchLimits> limits = network.fetchLimits();
        return limits.subList(limits.size() - count, limits.size()).stream().map(FetchSessions.FetchLimits::maxWaitMs).toList();
    }

    private void assignAtZero() {
        subscriptions.assignFromUser(List.of(P0, P1));
        subscriptions.seek(P0, 0, Optional.empty());
        subscriptions.seek(P1, 0, Optional.empty());
    }

    private static UnsentRequest<?> onlyRequest(PollResult result) {
        assertThat(result.requests()).hasSize(1);
        return result.requests().get(0);
    }

    @SuppressWarnings("unchecked")
    private static void complete(UnsentRequest<?> request, FetchedPartition... data) {
        Map<TopicPartition, FetchedPartition> byPartition = new java.util.LinkedHashMap<>();
        for (FetchedPartition fetched : data) {
            byPartition.put(fetched.partition(), fetched);
        }
        ((UnsentRequest<FetchSessions.FetchResult>) request).complete(new FetchSessions.FetchResult(byPartition, Map.of()), null);
    }

    private static Map<TopicPartition, Long> offsets(Map<TopicPartition, FetchSessions.PartitionFetch> fetch) {
        Map<TopicPartition, Long> offsets = new java.util.HashMap<>();
        fetch.forEach((partition, spec) -> offsets.put(partition, spec.offset()));
        return offsets;
    }
}
