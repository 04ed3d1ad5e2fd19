package dev.lanes.consumer.internals.background;

import dev.lanes.consumer.ConsumerClosedException;
import dev.lanes.consumer.MemberState;
import dev.lanes.consumer.internals.adapter.Network;
import dev.lanes.consumer.internals.background.managers.HeartbeatRequestManager;
import dev.lanes.consumer.internals.background.managers.MembershipManager;
import dev.lanes.consumer.internals.background.managers.UnsentRequest;
import dev.lanes.consumer.internals.common.Clock;
import dev.lanes.consumer.internals.events.ApplicationEvent;
import dev.lanes.consumer.internals.events.CloseEvent;
import dev.lanes.consumer.internals.shared.FetchBuffer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.List;

/**
 * How the background thread ends. After close() (R11) the loop goes on flushing what close() owes, the commits
 * accepted before it and the leave, until that is done or the close deadline passes; then everything still pending
 * is discarded, every future completed exceptionally, the counts logged and the network released. After a failure
 * (R10) the pending calls fail at once with the cause, a member of a group tries to leave for a short while, and
 * the same release follows. Background thread only.
 */
final class Teardown {

    /** The loop's logger: one logger covers the background thread's whole life, its end included. */
    private static final Logger log = LoggerFactory.getLogger(NetworkThread.class);
    /** How long a member whose thread died tries to leave its group before the network is closed. */
    static final long LEAVE_AFTER_FAILURE_MS = 1_500;

    /** What the release found still pending: requests (unsent or in flight), events, buffered fetches. */
    record Discarded(int requests, int events, int fetched) {
    }

    private final String clientId;
    private final Clock clock;
    private final EventLanes lanes;
    private final Network network;
    private final RequestSender sender;
    private final RequestManagers managers;
    private final FetchBuffer fetchBuffer;
    /** Where the close and the pending leave are known. */
    private final ApplicationEventProcessor events;

    Teardown(String clientId, Clock clock, EventLanes lanes, Network network, RequestSender sender,
             RequestManagers managers, FetchBuffer fetchBuffer, ApplicationEventProcessor events) {
        this.clientId = clientId;
        this.clock = clock;
        this.lanes = lanes;
        this.network = network;
        this.sender = sender;
        this.managers = managers;
        this.fetchBuffer = fetchBuffer;
        this.events = events;
    }

    /** Whether the loop ends: closing, and nothing is left to flush or the close deadline passed. */
    boolean shouldExit() {
        CloseEvent close = events.closeEvent();
        if (close == null) {
            return false;
        }
        return flushed() || clock.milliseconds() >= close.deadlineMs();
    }

    /**
     * How long the network poll may block while closing: not past the close deadline, and not at all once nothing
     * is left to flush, since nothing else would wake it and the loop must see {@link #shouldExit()} at once
     * instead of sleeping until the deadline. Returns {@code waitMs} when not closing.
     */
    long boundWait(long waitMs, long nowMs) {
        CloseEvent close = events.closeEvent();
        if (close == null) {
            return waitMs;
        }
        return flushed() ? 0 : Math.min(waitMs, Math.max(0, close.deadlineMs() - nowMs));
    }

    /**
     * Whether closing owes nothing more: every commit accepted before close() is answered and the leave is done.
     * Fetches, metadata and lookups in flight are not waited for (nobody needs their answers any more), so a
     * broker that went away cannot hold close() up to its deadline.
     */
    boolean flushed() {
        return lanes.user().isEmpty() && !events.leavePending()
                && managers.commits().map(c -> !c.hasPendingCommits()).orElse(true);
    }

    /** The loop ended after close(): discards what is left and releases the network. */
    Discarded afterClose(List<ApplicationEvent<?>> inProgress) {
        return release(inProgress,
                new ConsumerClosedException("The consumer was closed before this call completed", null), false);
    }

    /**
     * The loop died: the application learns of it at once (its pending calls fail and a waiting poll wakes) rather
     * than after the leave; then the member leaves if it can, and everything is released.
     */
    Discarded afterFailure(List<ApplicationEvent<?>> inProgress, RuntimeException reason) {
        failPendingEvents(inProgress, reason);
        fetchBuffer.wakeup();
        leaveAfterFailure();
        return release(inProgress, reason, true);
    }

    /** Last, whatever happened: the close (if any) is done, and a poll waiting for records sees the end. */
    void finish() {
        CloseEvent close = events.closeEvent();
        if (close != null) {
            close.future().complete(null);
        }
        fetchBuffer.wakeup();
    }

    /**
     * A member whose thread died would keep its partitions at the coordinator until the session timeout: a
     * leave, tried for a short while, lets the other members (or a replacement consumer) take them at once.
     * The failure may have come from the network or the membership itself, so anything may go wrong here;
     * it is logged and never replaces the original failure. No callbacks run: the application is told of
     * the failure instead, and what it did not commit is consumed again by the next owner.
     */
    private void leaveAfterFailure() {
        if (managers.membership().isEmpty() || managers.heartbeat().isEmpty()
                || !managers.membership().get().state().inGroup()) {
            return;
        }
        MembershipManager membership = managers.membership().get();
        HeartbeatRequestManager heartbeat = managers.heartbeat().get();
        boolean interrupted = Thread.interrupted(); // the network poll below must not return at once
        try {
            managers.fetches().disable();
            if (!membership.leave()) {
                return;
            }
            long deadlineMs = clock.milliseconds() + LEAVE_AFTER_FAILURE_MS;
            long nowMs;
            while (membership.state() == MemberState.LEAVING && (nowMs = clock.milliseconds()) < deadlineMs) {
                for (UnsentRequest<?> request : heartbeat.poll(nowMs).requests()) {
                    sender.add(request);
                }
                long waitMs = Math.min(sender.sendReady(nowMs), deadlineMs - nowMs);
                network.poll(Math.max(0, Math.min(waitMs, 100)), nowMs);
            }
            log.info("Member {} of consumer {} {} the group after its background thread died", membership.memberId(),
                    clientId, membership.state() == MemberState.LEAVING ? "could not leave" : "left");
        } catch (Throwable t) {
            log.warn("Consumer {} could not leave its group after its background thread died: {}", clientId, t.toString());
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /** Fails every event not completed yet (not the close), so that the application learns of the end at once. */
    private int failPendingEvents(List<ApplicationEvent<?>> inProgress, RuntimeException reason) {
        int failed = 0;
        List<ApplicationEvent<?>> leftovers = new ArrayList<>();
        lanes.system().drainTo(leftovers, Integer.MAX_VALUE);
        lanes.user().drainTo(leftovers, Integer.MAX_VALUE);
        leftovers.addAll(inProgress);
        inProgress.clear();
        CloseEvent close = events.closeEvent();
        for (ApplicationEvent<?> event : leftovers) {
            if (event != close && event.future().completeExceptionally(reason)) {
                failed++;
            }
        }
        return failed;
    }

    /** Completes everything still pending with {@code reason}, logs what was discarded, releases the network. */
    private Discarded release(List<ApplicationEvent<?>> inProgress, RuntimeException reason, boolean failed) {
        int events = failPendingEvents(inProgress, reason);
        int requests = sender.discardAll(reason) + managers.discardRequests(reason) + network.inFlightRequestCount();
        managers.releaseCallbacks();
        int fetched = fetchBuffer.clear();
        try {
            network.close();
        } catch (RuntimeException e) {
            log.warn("Closing the network of consumer {} failed", clientId, e);
        }
        if (failed || requests > 0 || events > 0) {
            log.info("Consumer {} {}: discarded {} requests (unsent or in flight), {} events and {} buffered fetches",
                    clientId, failed ? "failed" : "closed", requests, events, fetched);
        } else {
            log.debug("Consumer {} closed with nothing left to discard", clientId);
        }
        return new Discarded(requests, events, fetched);
    }
}
