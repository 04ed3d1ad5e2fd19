package dev.lanes.consumer;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static dev.lanes.consumer.MemberState.*;
import static org.assertj.core.api.Assertions.assertThat;

class MemberStateTest {

    /** The transitions the state machine must allow (the table MemberState declares, restated here). */
    private static final Map<MemberState, Set<MemberState>> ALLOWED = Map.ofEntries(
            Map.entry(UNSUBSCRIBED, EnumSet.of(PREPARE_LEAVING, LEAVING, FENCED, FATAL, UNSUBSCRIBED, JOINING, STALE)),
            Map.entry(JOINING, EnumSet.of(UNSUBSCRIBED, FENCED, STALE, JOINING, STABLE, RECONCILING, ACKNOWLEDGING)),
            Map.entry(RECONCILING, EnumSet.of(JOINING, STABLE, ACKNOWLEDGING, RECONCILING)),
            Map.entry(ACKNOWLEDGING, EnumSet.of(RECONCILING)),
            Map.entry(STABLE, EnumSet.of(JOINING, ACKNOWLEDGING, RECONCILING)),
            Map.entry(FENCED, EnumSet.of(JOINING, RECONCILING, ACKNOWLEDGING, STABLE, PREPARE_LEAVING)),
            Map.entry(PREPARE_LEAVING, EnumSet.of(JOINING, RECONCILING, ACKNOWLEDGING, STABLE, FENCED, STALE, UNSUBSCRIBED)),
            Map.entry(LEAVING, EnumSet.of(PREPARE_LEAVING)),
            Map.entry(STALE, EnumSet.of(JOINING, RECONCILING, ACKNOWLEDGING, STABLE, LEAVING)),
            Map.entry(FATAL, EnumSet.complementOf(EnumSet.of(NONE))),
            Map.entry(NONE, EnumSet.noneOf(MemberState.class)));

    @Test
    void everyDeclaredTransitionIsAllowedAndNoOther() {
        assertThat(ALLOWED.keySet()).containsExactlyInAnyOrder(MemberState.values());
        List<String> mismatches = new ArrayList<>();
        for (MemberState to : MemberState.values()) {
            for (MemberState from : MemberState.values()) {
                if (to.canTransitionFrom(from) != ALLOWED.get(to).contains(from)) {
                    mismatches.add(from + " -> " + to);
                }
            }
        }
        assertThat(mismatches).isEmpty();
    }

    @Test
    void theLifeOfAMemberIsAllowed() {
        MemberState[][] paths = {
                {UNSUBSCRIBED, JOINING, RECONCILING, ACKNOWLEDGING, STABLE, RECONCILING, ACKNOWLEDGING, STABLE},
                {STABLE, FENCED, JOINING},
                {STABLE, PREPARE_LEAVING, LEAVING, UNSUBSCRIBED},
                {STABLE, PREPARE_LEAVING, LEAVING, STALE, JOINING},
                {RECONCILING, FATAL},
                {JOINING, STABLE},
        };
        for (MemberState[] path : paths) {
            for (int i = 1; i < path.length; i++) {
                assertThat(path[i].canTransitionFrom(path[i - 1])).as(path[i - 1] + " -> " + path[i]).isTrue();
            }
        }
    }

    @Test
    void invalidTransitionsAreRejected() {
        assertThat(STABLE.canTransitionFrom(UNSUBSCRIBED)).as("UNSUBSCRIBED -> STABLE").isFalse();
        assertThat(STABLE.canTransitionFrom(LEAVING)).as("LEAVING -> STABLE").isFalse();
        assertThat(ACKNOWLEDGING.canTransitionFrom(JOINING)).as("JOINING -> ACKNOWLEDGING").isFalse();
        assertThat(ACKNOWLEDGING.canTransitionFrom(STABLE)).as("STABLE -> ACKNOWLEDGING").isFalse();
        assertThat(LEAVING.canTransitionFrom(STABLE)).as("STABLE -> LEAVING skips PREPARE_LEAVING").isFalse();
        assertThat(RECONCILING.canTransitionFrom(UNSUBSCRIBED)).as("UNSUBSCRIBED -> RECONCILING").isFalse();
        assertThat(RECONCILING.canTransitionFrom(FATAL)).as("FATAL is terminal for reconciling").isFalse();
        assertThat(JOINING.canTransitionFrom(FATAL)).as("FATAL -> JOINING").isFalse();
        assertThat(STABLE.canTransitionFrom(FENCED)).as("FENCED -> STABLE without rejoining").isFalse();
        assertThat(STALE.canTransitionFrom(UNSUBSCRIBED)).as("UNSUBSCRIBED -> STALE").isFalse();
    }

    @Test
    void onlyHeartbeatingStatesAreInTheGroup() {
        EnumSet<MemberState> inGroup = EnumSet.noneOf(MemberState.class);
        for (MemberState state : MemberState.values()) {
            if (state.inGroup()) {
                inGroup.add(state);
            }
        }
        assertThat(inGroup).containsExactlyInAnyOrder(JOINING, RECONCILING, ACKNOWLEDGING, STABLE);
    }
}
