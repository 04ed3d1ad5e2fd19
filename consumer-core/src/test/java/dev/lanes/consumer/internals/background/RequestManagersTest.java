package dev.lanes.consumer.internals.background;

import dev.lanes.consumer.MemberState;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;

import static org.assertj.core.api.Assertions.assertThat;

/** The reasons RequestManagers gives for its poll order, each checked by what one iteration sends. */
class RequestManagersTest {

    private static final TopicPartition P0 = new TopicPartition("topic", 0);

    private LoopFixture fixture;

    @AfterEach
    void close() {
        fixture.close();
    }

    private void commit(long offset) {
        fixture.commits.orElseThrow().commit(Map.of(P0, new OffsetAndMetadata(offset)), false,
                fixture.clock.milliseconds() + 60_000, new CompletableFuture<>());
    }

    @Test
    void theCoordinatorIsLookedUpInTheIterationThatACommitFirstNeedsIt() {
        fixture = new LoopFixture(true);
        commit(5);

        fixture.pollManagers();

        assertThat(fixture.network.sentNames()).containsExactly("FindCoordinator");
    }

    @Test
    void aCommitGoesOutAheadOfAFetchToTheCoordinatorsBroker() {
        fixture = new LoopFixture(true);
        fixture.knowCoordinator();
        fixture.subscriptions.assignFromUser(Set.of(P0));
        fixture.subscriptions.seek(P0, 5, Optional.empty());
        commit(5);

        fixture.pollManagers();

        assertThat(fixture.network.sentNames()).containsExactly("OffsetCommit", "Fetch");
    }

    @Test
    void aPositionValidatedInPlaceIsFetchedInTheSameIteration() {
        fixture = new LoopFixture(false);
        fixture.subscriptions.assignFromUser(Set.of(P0));
        // A position with a leader epoch awaits validation; metadata names no leader epoch, so there is nothing to
        // compare and the offsets manager completes the validation during its poll.
        fixture.subscriptions.seek(P0, 5, Optional.of(3));

        fixture.pollManagers();

        assertThat(fixture.network.sentNames()).containsExactly("Fetch");
        assertThat(fixture.network.fetches()).singleElement()
                .satisfies(fetch -> assertThat(fetch.get(P0).offset()).isEqualTo(5));
    }

    @Test
    void aHeartbeatDueNowIsSentBeforeTheFetchIsBuiltSoTheFetchMayWaitItsFullMaxWait() {
        fixture = new LoopFixture(true);
        fixture.knowCoordinator();
        fixture.subscriptions.subscribe(Set.of("topic"));
        fixture.membership.orElseThrow().onSubscriptionChanged();
        assertThat(fixture.membership.orElseThrow().state()).isEqualTo(MemberState.JOINING);
        fixture.subscriptions.addFromGroup(Set.of(P0));
        fixture.subscriptions.seek(P0, 5, Optional.empty());

        fixture.pollManagers();

        assertThat(fixture.network.sentNames()).containsExactly("ConsumerGroupHeartbeat", "Fetch");
        // Built before the heartbeat went out, the fetch would have seen a heartbeat due now and waited 1 ms.
        assertThat(fixture.network.fetchLimits()).singleElement()
                .satisfies(limits -> assertThat(limits.maxWaitMs()).isEqualTo(LoopFixture.FETCH_MAX_WAIT_MS));
    }
}
