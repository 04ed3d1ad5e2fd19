package dev.lanes.spring.listener;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.List;
import java.util.function.IntSupplier;

/**
 * Holds back the records of a container's consumers, when it starts, until the group has spread the partitions
 * over all of them: otherwise the first consumer to join gets every partition and works through a waiting backlog
 * alone before the others are given their share. Open once every consumer has joined, no consumer has more than
 * one partition more than another, and (when known) all partitions are assigned; or once the timeout has passed.
 * Read by the listener threads of one container; thread-safe.
 */
final class StartBalance {

    private static final Logger log = LoggerFactory.getLogger(StartBalance.class);

    /** One consumer's view: whether it has had its first assignment, and how many partitions it holds. */
    interface Member {
        boolean joined();

        int assignedCount();
    }

    private final String listenerId;
    private final Duration timeout;
    private final long deadlineNanos;
    private volatile boolean open;
    private volatile int expected = -2; // -2: not looked up yet, -1: unknown

    StartBalance(String listenerId, Duration timeout) {
        this.listenerId = listenerId;
        this.timeout = timeout;
        this.deadlineNanos = System.nanoTime() + timeout.toNanos();
        this.open = timeout.isZero();
    }

    /** An open gate, for containers with one consumer or explicit assignments. */
    static StartBalance open(String listenerId) {
        return new StartBalance(listenerId, Duration.ZERO);
    }

    /**
     * Whether records may be processed; evaluates the members' assignments while the gate is still closed.
     *
     * @param expectedPartitions how many partitions the subscription covers, or -1 when that is unknown; asked
     *                           once, on the calling listener thread (with that thread's own consumer)
     */
    boolean isOpen(List<? extends Member> members, IntSupplier expectedPartitions) {
        if (open) {
            return true;
        }
        if (System.nanoTime() - deadlineNanos >= 0) {
            open = true;
            log.info("Listener {}: its {} consumers did not share the partitions out within {}; they start anyway ({})",
                    listenerId, members.size(), timeout, counts(members));
            return true;
        }
        int min = Integer.MAX_VALUE;
        int max = 0;
        int sum = 0;
        for (Member member : members) {
            if (!member.joined()) {
                return false;
            }
            int count = member.assignedCount();
            min = Math.min(min, count);
            max = Math.max(max, count);
            sum += count;
        }
        if (expected == -2) {
            expected = expectedPartitions.getAsInt();
        }
        if (max - min <= 1 && (expected < 0 || sum == expected)) {
            open = true;
            log.info("Listener {}: its {} consumers share {} partition(s) ({}); processing starts", listenerId,
                    members.size(), sum, counts(members));
            return true;
        }
        return false;
    }

    private static String counts(List<? extends Member> members) {
        StringBuilder counts = new StringBuilder();
        for (Member member : members) {
            counts.append(counts.isEmpty() ? "" : ", ").append(member.assignedCount());
        }
        return counts.toString();
    }
}
