package dev.lanes.consumer.internals.events;

/** The application subscribed (or changed its subscription): the member joins or tells the coordinator. */
public final class SubscriptionChangedEvent extends ApplicationEvent<Void> {

    public SubscriptionChangedEvent(long deadlineMs) {
        super(deadlineMs);
    }

    @Override
    public void accept(ApplicationEventVisitor visitor) {
        visitor.onSubscriptionChanged(this);
    }
}
