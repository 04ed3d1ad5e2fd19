package dev.lanes.consumer.internals.events;

/**
 * Leave the group (close, unsubscribe) once the application thread has run onPartitionsRevoked itself;
 * completes when the leave heartbeat was answered, or at the deadline.
 */
public final class LeaveGroupEvent extends ApplicationEvent<Void> {

    public LeaveGroupEvent(long deadlineMs) {
        super(deadlineMs);
    }

    @Override
    public void accept(ApplicationEventVisitor visitor) {
        visitor.onLeaveGroup(this);
    }

    @Override
    public boolean acceptedWhileClosing() {
        return true;
    }

    @Override
    public boolean failsOnAuthenticationError() {
        return false;
    }
}
