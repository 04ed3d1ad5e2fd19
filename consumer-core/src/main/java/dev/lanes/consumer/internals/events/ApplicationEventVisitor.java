package dev.lanes.consumer.internals.events;

/** What the background thread does with each kind of event. Called on the background thread only. */
public interface ApplicationEventVisitor {

    void onCommit(CommitEvent event);

    void onFetchCommittedOffsets(FetchCommittedOffsetsEvent event);

    void onListOffsets(ListOffsetsEvent event);

    void onTopicMetadata(TopicMetadataEvent event);

    void onAwaitPositions(AwaitPositionsEvent event);

    void onClose(CloseEvent event);

    void onSubscriptionChanged(SubscriptionChangedEvent event);

    void onLeaveGroup(LeaveGroupEvent event);

    void onRebalanceCallbackCompleted(RebalanceCallbackCompletedEvent event);
}
