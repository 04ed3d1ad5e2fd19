package dev.lanes.consumer.internals.events;

import java.util.Optional;

/**
 * The application thread ran a rebalance callback; travels on the system lane so that reconciliation
 * goes on without waiting behind application calls (R7).
 */
public final class RebalanceCallbackCompletedEvent extends ApplicationEvent<Void> {

    private final long callbackId;
    private final Optional<Exception> error;

    public RebalanceCallbackCompletedEvent(long callbackId, Optional<Exception> error) {
        super(Long.MAX_VALUE);
        this.callbackId = callbackId;
        this.error = error;
    }

    public long callbackId() {
        return callbackId;
    }

    /** What the listener threw, if anything; reconciliation goes on regardless, as with KafkaConsumer. */
    public Optional<Exception> error() {
        return error;
    }

    @Override
    public void accept(ApplicationEventVisitor visitor) {
        visitor.onRebalanceCallbackCompleted(this);
    }

    @Override
    public boolean acceptedWhileClosing() {
        return true;
    }
}
