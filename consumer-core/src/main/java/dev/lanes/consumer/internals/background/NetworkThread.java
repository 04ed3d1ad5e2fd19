package dev.lanes.consumer.internals.background;

import dev.lanes.consumer.ConsumerClosedException;
import dev.lanes.consumer.MemberState;
import dev.lanes.consumer.internals.adapter.Network;
import dev.lanes.consumer.internals.background.managers.MembershipManager;
import dev.lanes.consumer.internals.common.BackgroundThreadGuard;
import dev.lanes.consumer.internals.common.Clock;
import dev.lanes.consumer.internals.events.ApplicationEvent;
import dev.lanes.consumer.internals.metrics.LanesConsumerMetrics;
import dev.lanes.consumer.internals.shared.BackgroundHandle;
import dev.lanes.consumer.internals.shared.FetchBuffer;
import dev.lanes.consumer.internals.shared.Lane;
import dev.lanes.consumer.internals.shared.LoopState;
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
import java.util.Set;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The background thread: the only thread that touches the network. One iteration ({@link #runOnce()}):
 * <ol>
 *   <li>drain the system lane completely,</li>
 *   <li>drain the user lane up to its budget (R7),</li>
 *   <li>expire events whose deadline has passed,</li>
 *   <li>poll the request managers for requests, in their documented order ({@link RequestManagers}),</li>
 *   <li>send (system requests first; expired ones dropped unsent, R5) and block in the network poll until
 *       the earliest deadline, a response, or a wakeup (R2: nothing spins).</li>
 * </ol>
 * What each event does is the {@link ApplicationEventProcessor}'s business; how the loop ends, after close() or a
 * failure, the {@link Teardown}'s. User code never runs here (R3). If the thread dies, every pending call fails
 * with the cause and the resources are released at once (R10).
 */
public final class NetworkThread implements Runnable, BackgroundHandle {

    private static final Logger log = LoggerFactory.getLogger(NetworkThread.class);
    public static final String THREAD_NAME_PREFIX = "lanes-consumer-network-thread | ";

    private final String clientId;
    private final Clock clock;
    private final Lane systemLane;
    private final Lane userLane;
    private final int userLaneBudget;
    private final Network network;
    private final RequestSender sender;
    private final RequestManagers managers;
    private final SubscriptionState subscriptions;
    private final FetchBuffer fetchBuffer;
    private final BackgroundDecoding decoding;
    private final LanesConsumerMetrics metrics;
    private final ApplicationEventProcessor processor;
    private final Teardown teardown;
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
    private MemberState lastMemberState = MemberState.UNSUBSCRIBED;
    private long lastConfirmedMs = -1;
    private long lastCpuNanos = -1;

    /**
     * @param lanes         the lanes from the application thread and the user lane's budget
     * @param network       the one network client, owned by this thread from now on
     * @param sender        holds the managers' requests until their broker is ready
     * @param managers      the request managers, polled in their documented order
     * @param subscriptions the subscription state shared with the application thread
     * @param fetchBuffer   where fetched data waits for the application thread
     */
    NetworkThread(String clientId, Clock clock, EventLanes lanes, Network network, RequestSender sender,
                  RequestManagers managers, SubscriptionState subscriptions, FetchBuffer fetchBuffer,
                  BackgroundDecoding decoding, LanesConsumerMetrics metrics) {
        this.clientId = clientId;
        this.clock = clock;
        this.systemLane = lanes.system();
        this.userLane = lanes.user();
        this.userLaneBudget = lanes.userBudget();
        this.network = network;
        this.sender = sender;
        this.managers = managers;
        this.subscriptions = subscriptions;
        this.fetchBuffer = fetchBuffer;
        this.decoding = decoding;
        this.metrics = metrics;
        this.processor = new ApplicationEventProcessor(managers, subscriptions, network,
                () -> state.compareAndSet(LoopState.RUNNING, LoopState.CLOSING));
        this.teardown = new Teardown(clientId, clock, lanes, network, sender, managers, fetchBuffer, processor);
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
            while (!teardown.shouldExit()) {
                runOnce();
            }
            teardown.afterClose(inProgress);
            state.set(LoopState.TERMINATED);
        } catch (Throwable t) {
            failure = t;
            state.set(LoopState.FAILED);
            log.error("The background thread of consumer {} died; the consumer is closed", clientId, t);
            teardown.afterFailure(inProgress, new ConsumerClosedException(
                    "The background thread of consumer " + clientId + " died: " + t, t));
        } finally {
            teardown.finish();
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
        waitMs = Math.min(waitMs, managers.poll(nowMs, sender));
        waitMs = Math.min(waitMs, sender.sendReady(nowMs));
        observeMembership();
        waitMs = teardown.boundWait(waitMs, nowMs);
        if (decoding.hasWork()) {
            // This iteration's requests go on the wire (and answers are read) before the slice, so a heartbeat
            // never waits for decoding; the next iteration blocks with deadlines taken after the slice.
            blockInNetwork(0, nowMs);
            decoding.decodeSlice();
        } else {
            blockInNetwork(waitMs, nowMs);
        }
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
            if (processor.closeEvent() != null && !event.acceptedWhileClosing()) {
                event.future().completeExceptionally(new ConsumerClosedException("The consumer is closing", null));
                continue;
            }
            inProgress.add(event);
            event.accept(processor);
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
        topics.addAll(managers.offsets().topicsOfInterest());
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
                managers.membership().ifPresent(MembershipManager::onSubscriptionChanged);
            }
        });
    }

    /** Completes a pending leave once it is done, and wakes a waiting poll when the member state changes. */
    private void observeMembership() {
        if (managers.membership().isEmpty()) {
            return;
        }
        MembershipManager member = managers.membership().get();
        MemberState state = member.state();
        processor.onMemberState(state);
        long confirmedMs = member.view().lastConfirmedMs();
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
}
