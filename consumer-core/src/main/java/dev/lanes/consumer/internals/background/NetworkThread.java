package dev.lanes.consumer.internals.background;

import dev.lanes.consumer.internals.common.BackgroundThreadGuard;
import dev.lanes.consumer.internals.common.Clock;
import dev.lanes.consumer.internals.shared.FetchBuffer;
import dev.lanes.consumer.internals.shared.Lane;
import dev.lanes.consumer.internals.shared.BackgroundHandle;
import dev.lanes.consumer.internals.shared.LoopState;
import dev.lanes.consumer.ConsumerClosedException;
import dev.lanes.consumer.internals.adapter.Network;
import dev.lanes.consumer.internals.events.ApplicationEvent;
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
import dev.lanes.consumer.internals.background.managers.CommitRequestManager;
import dev.lanes.consumer.internals.background.managers.CoordinatorRequestManager;
import dev.lanes.consumer.internals.background.managers.FetchRequestManager;
import dev.lanes.consumer.internals.background.managers.HeartbeatRequestManager;
import dev.lanes.consumer.MemberState;
import dev.lanes.consumer.internals.background.managers.MembershipManager;
import dev.lanes.consumer.internals.background.managers.OffsetsRequestManager;
import dev.lanes.consumer.internals.background.managers.PollResult;
import dev.lanes.consumer.internals.background.managers.RequestManager;
import dev.lanes.consumer.internals.background.managers.TopicMetadataRequestManager;
import dev.lanes.consumer.internals.background.managers.UnsentRequest;
import dev.lanes.consumer.internals.metrics.LanesConsumerMetrics;
import dev.lanes.consumer.internals.shared.SubscriptionState;
import org.apache.kafka.common.errors.InterruptException;
import org.apache.kafka.common.errors.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The background thread: the only thread that touches the network. One iteration ({@link #runOnce()}):
 * <ol>
 *   <li>drain the system lane completely,</li>
 *   <li>drain the user lane up to its budget (R7),</li>
 *   <li>expire events whose deadline has passed,</li>
 *   <li>poll the request managers for requests,</li>
 *   <li>send (system requests first; expired ones dropped unsent, R5) and block in the network poll until
 *       the earliest deadline, a response, or a wakeup (R2: nothing spins).</li>
 * </ol>
 * User code never runs here (R3). If the thread dies, every pending call fails with the cause and the
 * resources are released at once (R10).
 */
public final class NetworkThread implements Runnable, ApplicationEventVisitor, BackgroundHandle {

    private static final Logger log = LoggerFactory.getLogger(NetworkThread.class);
    public static final String THREAD_NAME_PREFIX = "lanes-consumer-network-thread | ";
    /** How long a member whose thread died tries to leave its group before the network is closed. */
    private static final long LEAVE_AFTER_FAILURE_MS = 1_500;

    private final String clientId;
    private final Clock clock;
    private final Lane systemLane;
    private final Lane userLane;
    private final int userLaneBudget;
    private final Network network;
    private final RequestSender sender;
    private final SubscriptionState subscriptions;
    private final FetchBuffer fetchBuffer;
    private final Optional<CommitRequestManager> commits;
    private final Optional<CoordinatorRequestManager> coordinator;
    private final OffsetsRequestManager offsets;
    private final TopicMetadataRequestManager topicMetadata;
    private final FetchRequestManager fetches;
    private final Optional<MembershipManager> membership;
    private final Optional<HeartbeatRequestManager> heartbeat;
    private final BackgroundDecoding decoding;
    private final List<RequestManager> managers;
    private final LanesConsumerMetrics metrics;
    private final BackgroundThreadGuard guard = new BackgroundThreadGuard();
    private final ThreadMXBean threadBean = ManagementFactory.getThreadMXBean();
    private final boolean measureCpu;

    private final AtomicReference<LoopState> state = new AtomicReference<>(LoopState.NOT_STARTED);
    private final List<ApplicationEvent<?>> drained = new ArrayList<>();
    /** Events taken from the lanes whose futures are not complete yet, for expiry and teardown. */
    private final List<ApplicationEvent<?>> inProgress = new ArrayList<>();
    private volatile boolean blocked;
    /** Set by {@link #wakeup()}: something changed that this thread must look at before it blocks again. */
    private volatile boolean wakeupRequested;
    private volatile Throwable failure;
    private Thread thread;
    private CloseEvent closeEvent;
    private LeaveGroupEvent leaveEvent;
    private MemberState lastMemberState = MemberState.UNSUBSCRIBED;
    private long lastConfirmedMs = -1;
    private long lastCpuNanos = -1;

    public NetworkThread(String clientId, Clock clock, Lane systemLane, Lane userLane, int userLaneBudget,
                         Network network, RequestSender sender, SubscriptionState subscriptions, FetchBuffer fetchBuffer,
                         Optional<CoordinatorRequestManager> coordinator, Optional<CommitRequestManager> commits,
                         OffsetsRequestManager offsets, TopicMetadataRequestManager topicMetadata,
                         FetchRequestManager fetches, Optional<MembershipManager> membership,
                         Optional<HeartbeatRequestManager> heartbeat, BackgroundDecoding decoding,
                         LanesConsumerMetrics metrics) {
        this.clientId = clientId;
        this.clock = clock;
        this.systemLane = systemLane;
        this.userLane = userLane;
        this.userLaneBudget = userLaneBudget;
        this.network = network;
        this.sender = sender;
        this.subscriptions = subscriptions;
        this.fetchBuffer = fetchBuffer;
        this.coordinator = coordinator;
        this.commits = commits;
        this.offsets = offsets;
        this.topicMetadata = topicMetadata;
        this.fetches = fetches;
        this.membership = membership;
        this.heartbeat = heartbeat;
        this.decoding = decoding;
        this.metrics = metrics;
        // The coordinator manager is polled last: the others say during their poll whether they need it.
        // Heartbeats are scheduled before fetches, so a fetch's wait can end before the next heartbeat is due.
        List<RequestManager> ordered = new ArrayList<>();
        commits.ifPresent(ordered::add);
        ordered.add(offsets);
        ordered.add(topicMetadata);
        heartbeat.ifPresent(ordered::add);
        ordered.add(fetches);
        coordinator.ifPresent(ordered::add);
        this.managers = List.copyOf(ordered);
        this.measureCpu = threadBean.isCurrentThreadCpuTimeSupported();
    }

    @Override
    public void start() {
        if (!state.compareAndSet(LoopState.NOT_STARTED, LoopState.RUNNING)) {
            throw new IllegalStateException("The background thread was already started");
        }
        thread = new Thread(this, THREAD_NAME_PREFIX + clientId);
        thread.setDaemon(true);
        thread.start();
    }

    @Override
    public void run() {
        guard.bindToCurrentThread();
        try {
            while (!shouldExit()) {
                runOnce();
            }
            shutdown(new ConsumerClosedException("The consumer was closed before this call completed", null), false);
            state.set(LoopState.TERMINATED);
        } catch (Throwable t) {
            failure = t;
            state.set(LoopState.FAILED);
            log.error("The background thread of consumer {} died; the consumer is closed", clientId, t);
            ConsumerClosedException reason = new ConsumerClosedException(
                    "The background thread of consumer " + clientId + " died: " + t, t);
            failPendingEvents(reason);
            fetchBuffer.wakeup(); // a poll waiting for records learns of the failure now, not after the leave
            leaveAfterFailure();
            shutdown(reason, true);
        } finally {
            if (closeEvent != null) {
                closeEvent.future().complete(null);
            }
            fetchBuffer.wakeup();
        }
    }

    @Override
    public int unsentRequests() {
        return sender.unsentCount();
    }

    /** One iteration of the loop. Runs on the background thread (engine tests call it directly). */
    public void runOnce() {
        guard.ensureBackgroundThread("runOnce");
        if (Thread.interrupted()) {
            throw new InterruptException("The background thread was interrupted");
        }
        long nowMs = clock.milliseconds();
        metrics.consumerThread().networkThreadPolled(nowMs);
        // Cleared before the managers look at shared state; a wakeup after this point is seen before blocking.
        wakeupRequested = false;
        long drainStart = clock.nanoseconds();
        int events = drainLane(systemLane, Integer.MAX_VALUE) + drainLane(userLane, userLaneBudget);
        if (events > 0) {
            metrics.consumerThread().applicationEventsProcessed(clock.nanoseconds() - drainStart);
        }
        long waitMs = expireEvents(nowMs);

        updateSubscription();
        network.metadataTopics(metadataTopics());
        network.maybeThrowMetadataErrorInto(this::onMetadataError);
        membership.ifPresent(MembershipManager::maybeReconcile);
        for (RequestManager manager : managers) {
            PollResult result = manager.poll(nowMs);
            waitMs = Math.min(waitMs, result.timeUntilNextPollMs());
            for (UnsentRequest<?> request : result.requests()) {
                sender.add(request);
            }
        }
        waitMs = Math.min(waitMs, sender.sendReady(nowMs));
        waitMs = Math.min(waitMs, decoding.decodeSlice()); // after the sends: system work goes first
        observeMembership();
        if (closeEvent != null) {
            // Once closing has nothing left to flush, nothing else will wake the network poll: do not block,
            // so the loop sees shouldExit() at once instead of sleeping until the close deadline.
            waitMs = flushed() ? 0 : Math.min(waitMs, Math.max(0, closeEvent.deadlineMs() - nowMs));
        }
        blockInNetwork(waitMs, nowMs);
        recordCpu();
    }

    /** Takes up to {@code budget} events from the lane and starts their work; returns how many it took. */
    private int drainLane(Lane lane, int budget) {
        drained.clear();
        lane.drainTo(drained, budget);
        long nowNanos = clock.nanoseconds();
        for (ApplicationEvent<?> event : drained) {
            metrics.laneQueueTime(lane.name(), nowNanos - event.enqueuedNanos());
            if (event.future().isDone()) {
                continue; // its caller already gave up (deadline or wakeup)
            }
            // Commits accepted before close() are flushed like in-flight ones until the close deadline (R11);
            // anything else that arrives once closing has begun is refused.
            if (closeEvent != null && !event.acceptedWhileClosing()) {
                event.future().completeExceptionally(new ConsumerClosedException("The consumer is closing", null));
                continue;
            }
            inProgress.add(event);
            event.accept(this);
        }
        return drained.size();
    }

    private long expireEvents(long nowMs) {
        long next = Long.MAX_VALUE;
        for (Iterator<ApplicationEvent<?>> iterator = inProgress.iterator(); iterator.hasNext(); ) {
            ApplicationEvent<?> event = iterator.next();
            if (event.future().isDone()) {
                iterator.remove();
            } else if (event.expires() && event.isExpired(nowMs)) {
                iterator.remove();
                metrics.eventExpired();
                event.future().completeExceptionally(new TimeoutException(
                        event.getClass().getSimpleName() + " did not complete before its deadline"));
            } else {
                next = Math.min(next, Math.max(0, event.deadlineMs() - nowMs));
            }
        }
        return next;
    }

    /**
     * A fatal metadata error reaches poll(); an authentication failure also fails every call waiting for
     * the broker, which would otherwise wait for its deadline, as KafkaConsumer does.
     */
    private void onMetadataError(RuntimeException error) {
        fetchBuffer.addError(error);
        if (error instanceof org.apache.kafka.common.errors.AuthenticationException) {
            for (ApplicationEvent<?> event : inProgress) {
                if (event.failsOnAuthenticationError()) {
                    event.future().completeExceptionally(error);
                }
            }
        }
    }

    private Set<String> metadataTopics() {
        Set<String> topics = new HashSet<>(subscriptions.assignedTopics());
        topics.addAll(subscriptions.subscribedTopics());
        topics.addAll(offsets.topicsOfInterest());
        return topics;
    }

    /** A client-side pattern is matched against the topics in metadata, which then lists every topic. */
    private void updateSubscription() {
        subscriptions.clientPattern().ifPresent(pattern -> {
            network.metadataAllTopics(true);
            Set<String> matched = new HashSet<>();
            for (String topic : network.knownTopics()) {
                if (pattern.matcher(topic).matches()) {
                    matched.add(topic);
                }
            }
            if (subscriptions.matchedTopics(matched)) {
                membership.ifPresent(MembershipManager::onSubscriptionChanged);
            }
        });
    }

    /** Completes a pending leave once it is done, and wakes a waiting poll when the member state changes. */
    private void observeMembership() {
        if (membership.isEmpty()) {
            return;
        }
        MemberState state = membership.get().state();
        if (leaveEvent != null && state != MemberState.LEAVING && state != MemberState.PREPARE_LEAVING) {
            leaveEvent.future().complete(null);
            leaveEvent = null;
        }
        long confirmedMs = membership.get().view().lastConfirmedMs();
        if (state != lastMemberState || confirmedMs != lastConfirmedMs) {
            // A poll holding records back while the membership was unconfirmed looks again at each answer.
            lastMemberState = state;
            lastConfirmedMs = confirmedMs;
            fetchBuffer.notifyStateChanged();
        }
    }

    private void blockInNetwork(long waitMs, long nowMs) {
        if (!systemLane.isEmpty() || !userLane.isEmpty()) {
            waitMs = 0;
        }
        // blocked is published before the wakeup flag and the lanes are checked again, and a waking thread
        // sets the flag (after its offer) before it checks blocked: one of the two sees the other, so new
        // work (an event, room freed in the fetch buffer, a resumed partition) never waits for the timeout.
        blocked = true;
        if (wakeupRequested || !systemLane.isEmpty() || !userLane.isEmpty()) {
            waitMs = 0;
        }
        long startNanos = clock.nanoseconds();
        try {
            network.poll(waitMs, nowMs);
        } finally {
            blocked = false;
        }
        if (waitMs > 0) {
            metrics.backgroundIdle(clock.nanoseconds() - startNanos);
        }
    }

    private void recordCpu() {
        if (!measureCpu) {
            return;
        }
        long cpu = threadBean.getCurrentThreadCpuTime();
        if (lastCpuNanos >= 0) {
            metrics.backgroundCpu(cpu - lastCpuNanos);
        }
        lastCpuNanos = cpu;
    }

    private boolean shouldExit() {
        if (closeEvent == null) {
            return false;
        }
        return flushed() || clock.milliseconds() >= closeEvent.deadlineMs();
    }

    /**
     * Whether closing owes nothing more: every commit accepted before close() is answered and the leave is done.
     * Fetches, metadata and lookups in flight are not waited for (nobody needs their answers any more), so a
     * broker that went away cannot hold close() up to its deadline.
     */
    private boolean flushed() {
        return userLane.isEmpty() && leaveEvent == null
                && commits.map(c -> !c.hasPendingCommits()).orElse(true);
    }

    /**
     * A member whose thread died would keep its partitions at the coordinator until the session timeout: a
     * leave, tried for a short while, lets the other members (or a replacement consumer) take them at once.
     * The failure may have come from the network or the membership itself, so anything may go wrong here;
     * it is logged and never replaces the original failure. No callbacks run: the application is told of
     * the failure instead, and what it did not commit is consumed again by the next owner.
     */
    private void leaveAfterFailure() {
        if (membership.isEmpty() || heartbeat.isEmpty() || !membership.get().state().inGroup()) {
            return;
        }
        boolean interrupted = Thread.interrupted(); // the network poll below must not return at once
        try {
            fetches.disable();
            if (!membership.get().leave()) {
                return;
            }
            long deadlineMs = clock.milliseconds() + LEAVE_AFTER_FAILURE_MS;
            long nowMs;
            while (membership.get().state() == MemberState.LEAVING && (nowMs = clock.milliseconds()) < deadlineMs) {
                for (UnsentRequest<?> request : heartbeat.get().poll(nowMs).requests()) {
                    sender.add(request);
                }
                long waitMs = Math.min(sender.sendReady(nowMs), deadlineMs - nowMs);
                network.poll(Math.max(0, Math.min(waitMs, 100)), nowMs);
            }
            log.info("Member {} of consumer {} {} the group after its background thread died", membership.get().memberId(),
                    clientId, membership.get().state() == MemberState.LEAVING ? "could not leave" : "left");
        } catch (Throwable t) {
            log.warn("Consumer {} could not leave its group after its background thread died: {}", clientId, t.toString());
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /** Fails every event not completed yet, so that the application learns of a failure at once. */
    private int failPendingEvents(RuntimeException reason) {
        int events = 0;
        List<ApplicationEvent<?>> leftovers = new ArrayList<>();
        systemLane.drainTo(leftovers, Integer.MAX_VALUE);
        userLane.drainTo(leftovers, Integer.MAX_VALUE);
        leftovers.addAll(inProgress);
        inProgress.clear();
        for (ApplicationEvent<?> event : leftovers) {
            if (event != closeEvent && event.future().completeExceptionally(reason)) {
                events++;
            }
        }
        return events;
    }

    /** Completes everything still pending with {@code reason}, logs what was discarded, releases the network. */
    private void shutdown(RuntimeException reason, boolean failed) {
        int events = failPendingEvents(reason);
        int requests = sender.discardAll(reason)
                + commits.map(c -> c.discardAll(reason)).orElse(0)
                + offsets.discardAll(reason)
                + topicMetadata.discardAll(reason)
                + network.inFlightRequestCount();
        membership.ifPresent(MembershipManager::discardAll);
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
    }

    // ---- called from the application thread

    /** Makes the thread look at its work again: wakes it if it is blocked, or keeps it from blocking next. Any thread. */
    @Override
    public void wakeup() {
        wakeupRequested = true;
        if (blocked) {
            network.wakeup();
        }
    }

    @Override
    public LoopState state() {
        return state.get();
    }

    /** Why the thread died, or null. */
    @Override
    public Throwable failure() {
        return failure;
    }

    /** Waits for the thread to end, up to {@code timeoutMs}. */
    @Override
    public boolean join(long timeoutMs) throws InterruptedException {
        guard.ensureNotBackgroundThread("join");
        Thread t = thread;
        if (t == null) {
            return true;
        }
        t.join(Math.max(1, timeoutMs));
        return !t.isAlive();
    }

    @Override
    public boolean isAlive() {
        Thread t = thread;
        return t != null && t.isAlive();
    }

    @Override
    public String threadName() {
        return THREAD_NAME_PREFIX + clientId;
    }

    // ---- the visitor of application events: background thread

    @Override
    public void onCommit(CommitEvent event) {
        if (commits.isEmpty()) {
            event.future().completeExceptionally(new org.apache.kafka.common.errors.InvalidGroupIdException(
                    "To commit offsets, the consumer needs a group.id"));
            return;
        }
        commits.get().commit(event.offsets(), event.isSync(), event.deadlineMs(), event.future());
    }

    @Override
    public void onFetchCommittedOffsets(FetchCommittedOffsetsEvent event) {
        if (commits.isEmpty()) {
            event.future().completeExceptionally(new org.apache.kafka.common.errors.InvalidGroupIdException(
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
        offsets.listOffsets(event.timestamps(), event.deadlineMs(), event.future());
    }

    @Override
    public void onTopicMetadata(TopicMetadataEvent event) {
        topicMetadata.lookup(event.topic(), event.deadlineMs(), event.future());
    }

    @Override
    public void onAwaitPositions(AwaitPositionsEvent event) {
        offsets.awaitPositions(event.partitions(), event.future());
    }

    @Override
    public void onSubscriptionChanged(SubscriptionChangedEvent event) {
        if (subscriptions.clientPattern().isPresent()) {
            // A new pattern is matched against fresh metadata now, not after metadata.max.age.ms.
            network.requestMetadataUpdate();
        }
        membership.ifPresent(MembershipManager::onSubscriptionChanged);
        event.future().complete(null);
    }

    @Override
    public void onLeaveGroup(LeaveGroupEvent event) {
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
        membership.ifPresent(member -> member.onCallbackCompleted(event.callbackId(), event.error()));
        event.future().complete(null);
    }

    @Override
    public void onClose(CloseEvent event) {
        if (closeEvent == null) {
            closeEvent = event;
            state.compareAndSet(LoopState.RUNNING, LoopState.CLOSING);
            fetches.disable();
        }
    }
}
