package dev.lanes.consumer.internals.shared;

import dev.lanes.consumer.MemberState;
import org.apache.kafka.clients.consumer.ConsumerGroupMetadata;

import java.util.Optional;

/**
 * What the application thread knows of the group member. The background thread's membership manager is
 * the only writer; any thread reads. The member's state, id and epoch change together as one immutable
 * {@link Member}, so {@code groupMetadata()} never pairs an epoch with a state it did not have.
 */
public final class MembershipView {

    /** One consistent reading of the member. */
    public record Member(MemberState state, String memberId, int memberEpoch) {

        /** Whether the member is in the group, heartbeating. */
        public boolean inGroup() {
            return state.inGroup();
        }
    }

    private final String groupId;
    private final Optional<String> groupInstanceId;
    private volatile Member member;
    private volatile RuntimeException fatalError;
    /** When a heartbeat answer last confirmed the membership, and the interval it gave; -1 before the first. */
    private volatile Confirmation confirmation = new Confirmation(-1, 0);

    private record Confirmation(long atMs, long heartbeatIntervalMs) {
    }

    public MembershipView(String groupId, Optional<String> groupInstanceId, Member initial) {
        this.groupId = groupId;
        this.groupInstanceId = groupInstanceId;
        this.member = initial;
    }

    // ---- written by the background thread

    public void publish(Member current) {
        member = current;
    }

    public void confirmed(long nowMs, long heartbeatIntervalMs) {
        confirmation = new Confirmation(nowMs, heartbeatIntervalMs);
    }

    public void failed(RuntimeException error) {
        fatalError = error;
    }

    // ---- read by any thread

    public Member member() {
        return member;
    }

    public MemberState state() {
        return member.state();
    }

    public Optional<RuntimeException> fatalError() {
        return Optional.ofNullable(fatalError);
    }

    /** When a heartbeat answer last confirmed the membership; -1 before the first. */
    public long lastConfirmedMs() {
        return confirmation.atMs();
    }

    /**
     * Whether the answer to the member's heartbeats is overdue by more than {@code graceMs} past one interval:
     * the coordinator may have fenced it and given its partitions to others. Never with a negative grace.
     */
    public boolean ownershipUnconfirmed(long nowMs, long graceMs) {
        Confirmation confirmed = confirmation;
        MemberState current = member.state();
        boolean owning = current == MemberState.STABLE || current == MemberState.RECONCILING
                || current == MemberState.ACKNOWLEDGING;
        return graceMs >= 0 && owning && confirmed.atMs() >= 0
                && nowMs - confirmed.atMs() > confirmed.heartbeatIntervalMs() + graceMs;
    }

    /** The group metadata of {@code Consumer.groupMetadata()}, from one reading of the member. */
    public ConsumerGroupMetadata groupMetadata() {
        Member current = member;
        boolean inGroup = current.inGroup();
        return new ConsumerGroupMetadata(groupId, inGroup ? current.memberEpoch() : -1,
                inGroup ? current.memberId() : "", groupInstanceId);
    }

    public String groupId() {
        return groupId;
    }

    public Optional<String> groupInstanceId() {
        return groupInstanceId;
    }
}
