package dev.lanes.consumer.internals.background;

import dev.lanes.consumer.MemberState;
import dev.lanes.consumer.internals.adapter.Network;
import dev.lanes.consumer.internals.background.managers.CommitRequestManager;
import dev.lanes.consumer.internals.background.managers.MembershipManager;
import dev.lanes.consumer.internals.events.ApplicationEventVisitor;
import dev.lanes.consumer.internals.events.AwaitPositionsEvent;
import dev.lanes.consumer.internals.events.CloseEvent;
import dev.lanes.consumer.internals.events.CommitEvent;
import dev.lanes.consumer.internals.events.FetchCommittedOffsetsEvent;
import dev.lanes.consumer.internals.events.LeaveGroupEvent;
import dev.lanes.consumer.internals.events.ListOffsetsEvent;
import dev.lanes.consumer.internals.events.RebalanceCallbackCompletedEvent;
import dev.lanes.consumer.internals.events.SubscriptionChangedEvent;
import dev.lanes.consumer.internals.events.TopicMetadataEvent;
import dev.lanes.consumer.internals.shared.SubscriptionState;
import org.apache.kafka.common.errors.InvalidGroupIdException;

import java.util.Optional;

/**
 * What the background thread does with each application event: hands its work to the request manager that owns
 * it, or answers it at once. Two events end in the loop rather than in a manager, and are kept here: the close
 * (which the loop and the {@link Teardown} read) and a pending leave, completed once the member has left. Events
 * reach it only through the loop's drain, which has already applied their policy (refused while closing, expiry).
 * Background thread only.
 */
final class ApplicationEventProcessor implements ApplicationEventVisitor {

    private final RequestManagers managers;
    private final SubscriptionState subscriptions;
    private final Network network;
    /** Tells the loop's lifecycle that closing has begun. */
    private final Runnable onClosing;
    private CloseEvent closeEvent;
    private LeaveGroupEvent leaveEvent;

    ApplicationEventProcessor(RequestManagers managers, SubscriptionState subscriptions, Network network,
                              Runnable onClosing) {
        this.managers = managers;
        this.subscriptions = subscriptions;
        this.network = network;
        this.onClosing = onClosing;
    }

    /** The close being carried out, or null while the consumer is not closing. */
    CloseEvent closeEvent() {
        return closeEvent;
    }

    /** Whether a leave asked for by the application is still under way. */
    boolean leavePending() {
        return leaveEvent != null;
    }

    /** Completes a pending leave once the member is no longer leaving (it left, or it cannot any more). */
    void onMemberState(MemberState state) {
        if (leaveEvent != null && state != MemberState.LEAVING && state != MemberState.PREPARE_LEAVING) {
            leaveEvent.future().complete(null);
            leaveEvent = null;
        }
    }

    @Override
    public void onCommit(CommitEvent event) {
        Optional<CommitRequestManager> commits = managers.commits();
        if (commits.isEmpty()) {
            event.future().completeExceptionally(new InvalidGroupIdException(
                    "To commit offsets, the consumer needs a group.id"));
            return;
        }
        commits.get().commit(event.offsets(), event.isSync(), event.deadlineMs(), event.future());
    }

    @Override
    public void onFetchCommittedOffsets(FetchCommittedOffsetsEvent event) {
        Optional<CommitRequestManager> commits = managers.commits();
        if (commits.isEmpty()) {
            event.future().completeExceptionally(new InvalidGroupIdException(
                    "To read committed offsets, the consumer needs a group.id"));
            return;
        }
        commits.get().fetchCommitted(event.partitions(), event.deadlineMs()).whenComplete((result, error) -> {
            if (error != null) {
                event.future().completeExceptionally(error);
            } else {
                event.future().complete(result);
            }
        });
    }

    @Override
    public void onListOffsets(ListOffsetsEvent event) {
        managers.offsets().listOffsets(event.timestamps(), event.deadlineMs(), event.future());
    }

    @Override
    public void onTopicMetadata(TopicMetadataEvent event) {
        managers.topicMetadata().lookup(event.topic(), event.deadlineMs(), event.future());
    }

    @Override
    public void onAwaitPositions(AwaitPositionsEvent event) {
        managers.offsets().awaitPositions(event.partitions(), event.future());
    }

    @Override
    public void onSubscriptionChanged(SubscriptionChangedEvent event) {
        if (subscriptions.clientPattern().isPresent()) {
            // A new pattern is matched against fresh metadata now, not after metadata.max.age.ms.
            network.requestMetadataUpdate();
        }
        managers.membership().ifPresent(MembershipManager::onSubscriptionChanged);
        event.future().complete(null);
    }

    @Override
    public void onLeaveGroup(LeaveGroupEvent event) {
        Optional<MembershipManager> membership = managers.membership();
        if (membership.isPresent() && membership.get().leave()) {
            if (leaveEvent != null) {
                leaveEvent.future().complete(null);
            }
            leaveEvent = event;
        } else {
            membership.ifPresent(MembershipManager::onUnsubscribed);
            event.future().complete(null);
        }
    }

    @Override
    public void onRebalanceCallbackCompleted(RebalanceCallbackCompletedEvent event) {
        managers.membership().ifPresent(member -> member.onCallbackCompleted(event.callbackId(), event.error()));
        event.future().complete(null);
    }

    /** Closing begins: no more fetching; the loop flushes what close() owes, then the teardown ends it. */
    @Override
    public void onClose(CloseEvent event) {
        if (closeEvent == null) {
            closeEvent = event;
            onClosing.run();
            managers.fetches().disable();
        }
    }
}
