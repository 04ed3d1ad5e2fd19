package dev.lanes.consumer.internals.events;

/**
 * Sent on the system lane so that it is not stuck behind a full user lane: the background thread stops
 * taking new work, flushes what is in flight until the deadline, then discards the rest and exits.
 */
public final class CloseEvent extends ApplicationEvent<Void> {

    public CloseEvent(long deadlineMs) {
        super(deadlineMs);
    }

    @Override
    public void accept(ApplicationEventVisitor visitor) {
        visitor.onClose(this);
    }

    @Override
    public boolean acceptedWhileClosing() {
        return true;
    }

    @Override
    public boolean expires() {
        return false;
    }

    @Override
    public boolean failsOnAuthenticationError() {
        return false;
    }
}
