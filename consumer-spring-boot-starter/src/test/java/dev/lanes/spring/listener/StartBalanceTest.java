package dev.lanes.spring.listener;

import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;

class StartBalanceTest {

    record Member(boolean joined, int assignedCount) implements StartBalance.Member {
    }

    private final StartBalance balance = new StartBalance("l", Duration.ofMinutes(5));

    @Test
    void staysClosedWhileOneMemberHoldsEverythingOrHasNotJoined() {
        assertThat(balance.isOpen(List.of(new Member(true, 6), new Member(false, 0), new Member(false, 0)), () -> 6)).isFalse();
        assertThat(balance.isOpen(List.of(new Member(true, 6), new Member(true, 0), new Member(true, 0)), () -> 6)).isFalse();
        // Partitions in transit: spread, but not all assigned yet.
        assertThat(balance.isOpen(List.of(new Member(true, 2), new Member(true, 2), new Member(true, 1)), () -> 6)).isFalse();
        assertThat(balance.isOpen(List.of(new Member(true, 2), new Member(true, 2), new Member(true, 2)), () -> 6)).isTrue();
        // Once open it stays open.
        assertThat(balance.isOpen(List.of(new Member(true, 6), new Member(true, 0), new Member(true, 0)), () -> 6)).isTrue();
    }

    @Test
    void opensWithFewerPartitionsThanMembersAndAsksForThePartitionCountOnce() {
        AtomicInteger lookups = new AtomicInteger();
        assertThat(balance.isOpen(List.of(new Member(true, 2), new Member(true, 0), new Member(true, 0)),
                () -> { lookups.incrementAndGet(); return 2; })).isFalse();
        assertThat(balance.isOpen(List.of(new Member(true, 1), new Member(true, 1), new Member(true, 0)),
                () -> { lookups.incrementAndGet(); return 2; })).isTrue();
        assertThat(lookups.get()).isEqualTo(1);
    }

    @Test
    void withAnUnknownPartitionCountTheSpreadDecides() {
        assertThat(balance.isOpen(List.of(new Member(true, 3), new Member(true, 3)), () -> -1)).isTrue();
    }

    @Test
    void opensAfterItsTimeoutWhateverTheAssignment() {
        StartBalance quick = new StartBalance("l", Duration.ofNanos(1));
        assertThat(quick.isOpen(List.of(new Member(true, 6), new Member(false, 0)), () -> 6)).isTrue();
        assertThat(StartBalance.open("l").isOpen(List.of(new Member(false, 0)), () -> 6)).isTrue();
    }
}
