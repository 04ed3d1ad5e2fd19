package dev.lanes.consumer.internals.background.managers;

import dev.lanes.consumer.internals.adapter.FakeNetwork;
import dev.lanes.consumer.internals.adapter.Requests;
import dev.lanes.consumer.internals.common.ManualClock;
import dev.lanes.consumer.internals.shared.OffsetResetStrategy;
import dev.lanes.consumer.internals.shared.SubscriptionState;
import dev.lanes.consumer.internals.shared.SubscriptionState.FetchState;
import org.apache.kafka.clients.consumer.LogTruncationException;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.FencedLeaderEpochException;
import org.apache.kafka.common.message.OffsetForLeaderEpochRequestData;
import org.apache.kafka.common.requests.OffsetsForLeaderEpochRequest;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;

class PositionValidatorTest {

    private static final TopicPartition P0 = new TopicPartition("topic", 0);

    private final ManualClock clock = new ManualClock(10_000);
    private final FakeNetwork network = new FakeNetwork().leaderEpoch(P0, 7);
    private final AtomicInteger wakeups = new AtomicInteger();

    @Test
    void aPositionSeekedWithAnEpochIsCheckedAgainstTheCurrentLeaderBeforeItIsFetched() {
        SubscriptionState subscriptions = assigned(OffsetResetStrategy.EARLIEST);
        subscriptions.seek(P0, 80, Optional.of(3));
        assertThat(subscriptions.position(P0)).as("not known good yet").isEmpty();
        PositionValidator validator = validator(subscriptions);

        UnsentRequest<?> check = onlyRequest(validator);
        assertThat(check.destination()).contains(FakeNetwork.NODE_0);
        OffsetForLeaderEpochRequestData.OffsetForLeaderPartition asked = ((OffsetsForLeaderEpochRequest)
                FakeNetwork.build(check.request())).data().topics().find("topic").partitions().get(0);
        assertThat(asked.currentLeaderEpoch()).isEqualTo(7);
        assertThat(asked.leaderEpoch()).isEqualTo(3);
        assertThat(poll(validator)).as("one check at a time").isEmpty();

        answer(check, 3, 95);
        assertThat(subscriptions.position(P0)).as("the leader has it: fetched from there").hasValue(80);
        assertThat(subscriptions.validateOnLeaderChange(P0, Optional.of(7))).as("validated for this leader").isFalse();
    }

    @Test
    void aLogThatEndsBeforeThePositionMovesItBackToTheFirstDivergentOffset() {
        SubscriptionState subscriptions = assigned(OffsetResetStrategy.EARLIEST);
        subscriptions.seek(P0, 80, Optional.of(3));
        PositionValidator validator = validator(subscriptions);
        answer(onlyRequest(validator), 2, 50);
        assertThat(subscriptions.position(P0)).hasValue(50);
        assertThat(subscriptions.leaderEpoch(P0)).contains(2);
        assertThat(wakeups).hasValue(0);
    }

    @Test
    void withAutoOffsetResetNoneATruncationIsThrownNamingTheDivergentOffsetUntilTheApplicationSeeks() {
        SubscriptionState subscriptions = assigned(OffsetResetStrategy.NONE);
        subscriptions.seek(P0, 80, Optional.of(3));
        PositionValidator validator = validator(subscriptions);
        answer(onlyRequest(validator), 2, 50);

        LogTruncationException error = (LogTruncationException) subscriptions.positionError(P0).orElseThrow();
        assertThat(error.divergentOffsets()).isEqualTo(Map.of(P0, new OffsetAndMetadata(50, Optional.of(2), null)));
        assertThat(error.offsetOutOfRangePartitions()).isEqualTo(Map.of(P0, 80L));
        assertThat(wakeups).as("the application thread is woken to throw it").hasValue(1);
        clock.advance(10_000);
        assertThat(poll(validator)).as("not asked again").isEmpty();

        subscriptions.seek(P0, 50, Optional.of(2));
        assertThat(subscriptions.positionError(P0)).isEmpty();
        answer(onlyRequest(validator), 2, 90);
        assertThat(subscriptions.position(P0)).hasValue(50);
    }

    @Test
    void aLeaderThatKnowsNoEarlierEpochResetsThePositionByPolicy() {
        SubscriptionState subscriptions = assigned(OffsetResetStrategy.LATEST);
        subscriptions.seek(P0, 80, Optional.of(3));
        PositionValidator validator = validator(subscriptions);
        answer(onlyRequest(validator), -1, -1);
        assertThat(subscriptions.partitionsIn(FetchState.AWAIT_RESET)).containsExactly(P0);
        assertThat(subscriptions.resetStrategy(P0)).isEqualTo(OffsetResetStrategy.LATEST);
    }

    @Test
    void aLeaderThatMovedIsAskedAgainAfterABackoffWithFreshMetadata() {
        SubscriptionState subscriptions = assigned(OffsetResetStrategy.EARLIEST);
        subscriptions.seek(P0, 80, Optional.of(3));
        PositionValidator validator = validator(subscriptions);
        complete(onlyRequest(validator), new Requests.EpochEndOffsets(Map.of(),
                Map.of(P0, new FencedLeaderEpochException("fenced"))));
        assertThat(network.metadataUpdatesRequested()).isEqualTo(1);
        assertThat(poll(validator)).as("backing off").isEmpty();
        clock.advance(1_000);
        assertThat(poll(validator)).hasSize(1);
        assertThat(subscriptions.positionError(P0)).isEmpty();
    }

    @Test
    void anAnswerAboutAPositionTheApplicationMovedAwayFromChangesNothing() {
        SubscriptionState subscriptions = assigned(OffsetResetStrategy.EARLIEST);
        subscriptions.seek(P0, 80, Optional.of(3));
        PositionValidator validator = validator(subscriptions);
        UnsentRequest<?> check = onlyRequest(validator);
        subscriptions.seek(P0, 500, Optional.empty());
        answer(check, 2, 50);
        assertThat(subscriptions.position(P0)).as("the seek wins").hasValue(500);
    }

    @Test
    void aCommittedOffsetWithAnEpochIsValidatedAndAResetPositionIsNot() {
        SubscriptionState subscriptions = assigned(OffsetResetStrategy.EARLIEST);
        assertThat(subscriptions.resolvePosition(P0, subscriptions.positionEpoch(P0), 80, Optional.of(3), true)).isTrue();
        assertThat(subscriptions.partitionsIn(FetchState.AWAIT_VALIDATION)).containsExactly(P0);

        SubscriptionState reset = assigned(OffsetResetStrategy.EARLIEST);
        reset.requestReset(List.of(P0), OffsetResetStrategy.EARLIEST);
        assertThat(reset.resolvePosition(P0, reset.positionEpoch(P0), 0, Optional.of(3), false)).isTrue();
        assertThat(reset.position(P0)).hasValue(0);
    }

    private SubscriptionState assigned(OffsetResetStrategy strategy) {
        SubscriptionState subscriptions = new SubscriptionState(strategy);
        subscriptions.assignFromUser(List.of(P0));
        return subscriptions;
    }

    private PositionValidator validator(SubscriptionState subscriptions) {
        return new PositionValidator(clock, network, subscriptions, 30_000, 100, 1_000, wakeups::incrementAndGet);
    }

    private List<UnsentRequest<?>> poll(PositionValidator validator) {
        List<UnsentRequest<?>> requests = new ArrayList<>();
        validator.poll(clock.milliseconds(), requests);
        return requests;
    }

    private UnsentRequest<?> onlyRequest(PositionValidator validator) {
        List<UnsentRequest<?>> requests = poll(validator);
        assertThat(requests).hasSize(1);
        assertThat(requests.get(0).priority()).isEqualTo(Priority.SYSTEM);
        return requests.get(0);
    }

    private static void answer(UnsentRequest<?> request, int leaderEpoch, long endOffset) {
        complete(request, new Requests.EpochEndOffsets(Map.of(P0, new Requests.EpochEndOffset(leaderEpoch, endOffset)), Map.of()));
    }

    @SuppressWarnings("unchecked")
    private static void complete(UnsentRequest<?> request, Requests.EpochEndOffsets answer) {
        ((UnsentRequest<Requests.EpochEndOffsets>) request).complete(answer, null);
    }
}
