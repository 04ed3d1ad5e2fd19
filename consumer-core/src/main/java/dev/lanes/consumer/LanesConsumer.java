package dev.lanes.consumer;

import dev.lanes.consumer.internals.adapter.ClientMetrics;
import dev.lanes.consumer.internals.adapter.ClientTelemetry;
import dev.lanes.consumer.internals.adapter.KafkaNetwork;
import dev.lanes.consumer.internals.common.ApplicationThreadGuard;
import dev.lanes.consumer.internals.background.BackgroundSide;
import dev.lanes.consumer.internals.common.Clock;
import dev.lanes.consumer.internals.shared.FetchBuffer;
import dev.lanes.consumer.internals.app.FetchCollector;
import dev.lanes.consumer.internals.shared.BackgroundHandle;
import dev.lanes.consumer.internals.shared.Lane;
import dev.lanes.consumer.internals.shared.MembershipView;
import dev.lanes.consumer.internals.shared.LaneName;
import dev.lanes.consumer.internals.shared.LoopState;
import dev.lanes.consumer.internals.shared.ClusterIdentity;
import dev.lanes.consumer.internals.shared.OwnCommits;
import dev.lanes.consumer.internals.app.PendingAsyncCommits;
import dev.lanes.consumer.internals.shared.PollTracker;
import dev.lanes.consumer.internals.shared.RebalanceCallbackQueue;
import dev.lanes.consumer.internals.app.RebalanceListenerInvoker;
import dev.lanes.consumer.internals.events.ApplicationEvent;
import dev.lanes.consumer.internals.events.AwaitPositionsEvent;
import dev.lanes.consumer.internals.events.CloseEvent;
import dev.lanes.consumer.internals.events.CommitEvent;
import dev.lanes.consumer.internals.events.FetchCommittedOffsetsEvent;
import dev.lanes.consumer.internals.events.LeaveGroupEvent;
import dev.lanes.consumer.internals.events.ListOffsetsEvent;
import dev.lanes.consumer.internals.events.RebalanceCallback;
import dev.lanes.consumer.internals.events.SubscriptionChangedEvent;
import dev.lanes.consumer.internals.events.TopicMetadataEvent;
import dev.lanes.consumer.internals.metrics.LanesConsumerMetrics;
import dev.lanes.consumer.internals.adapter.ListedOffset;
import dev.lanes.consumer.internals.shared.OffsetResetStrategy;
import dev.lanes.consumer.internals.shared.SubscriptionState;
import org.apache.kafka.clients.consumer.CloseOptions;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerGroupMetadata;
import org.apache.kafka.clients.consumer.ConsumerInterceptor;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.consumer.OffsetAndTimestamp;
import org.apache.kafka.clients.consumer.OffsetCommitCallback;
import org.apache.kafka.clients.consumer.SubscriptionPattern;
import org.apache.kafka.common.IsolationLevel;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.Metric;
import org.apache.kafka.common.MetricName;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.errors.InterruptException;
import org.apache.kafka.common.errors.InvalidConfigurationException;
import org.apache.kafka.common.errors.InvalidGroupIdException;
import org.apache.kafka.common.errors.TimeoutException;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.metrics.KafkaMetric;
import org.apache.kafka.common.metrics.Metrics;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.utils.Utils;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.Collection;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.regex.Pattern;

import static dev.lanes.consumer.internals.app.RebalanceListenerInvoker.NO_OP_LISTENER;

/**
 * A Kafka consumer with an application thread and one background network thread joined by bounded,
 * prioritized lanes. A drop-in {@link Consumer}: configure it like {@code KafkaConsumer}, plus the
 * {@code lanes.*} settings of {@link LanesConsumerConfig}.
 *
 * <p>Like KafkaConsumer it is not thread-safe: one application thread calls it (a second one gets
 * ConcurrentModificationException), except {@link #wakeup()}, which any thread may call. Every
 * time-bound call returns or throws by its deadline, even if the broker or the background thread is
 * stuck; callbacks, interceptors and deserializers run on the calling thread only.
 *
 * <p>Partitions come either from {@link #assign} or from a consumer group ({@link #subscribe}) on the
 * KIP-848 protocol (ConsumerGroupHeartbeat, Kafka 4.0+ brokers): heartbeats are sent by the background
 * thread, and rebalance callbacks run on the application thread inside {@code poll()}.
 */
public class LanesConsumer<K, V> implements Consumer<K, V>, ConsumerDiagnostics {

    private static final Logger log = LoggerFactory.getLogger(LanesConsumer.class);
    private static final AtomicInteger CLIENT_SEQUENCE = new AtomicInteger(1);
    /** Without a callback of its own, a failed asynchronous commit is logged. */
    private static final OffsetCommitCallback LOG_FAILED_COMMIT = (offsets, exception) -> {
        if (exception != null) {
            log.error("Offset commit of {} failed", offsets, exception);
        }
    };

    private final String clientId;
    private final Optional<String> groupId;
    private final Clock clock = Clock.SYSTEM;
    private final Metrics metrics;
    private final ClientTelemetry telemetry;
    private final LanesConsumerMetrics lanesMetrics;
    private final SubscriptionState subscriptions;
    private final Lane systemLane;
    private final Lane userLane;
    private final FetchBuffer fetchBuffer;
    private final FetchCollector<K, V> collector;
    private final BackgroundHandle networkThread;
    private final Optional<MembershipView> membership;
    private final PollTracker pollTracker;
    private final RebalanceListenerInvoker rebalanceListener;
    private final Deserializer<K> keyDeserializer;
    private final Deserializer<V> valueDeserializer;
    private final List<ConsumerInterceptor<K, V>> interceptors;
    private final int maxPollRecords;
    private final long defaultApiTimeoutMs;
    private final long heartbeatOverdueHoldMs;
    private final boolean readCommitted;
    private boolean holding;
    private final boolean autoCommitEnabled;
    private final ApplicationThreadGuard threadGuard = new ApplicationThreadGuard();
    private final PendingAsyncCommits asyncCommits = new PendingAsyncCommits(this::onCommit);
    private final OwnCommits ownCommits = new OwnCommits();
    private final ClusterIdentity clusterIdentity = new ClusterIdentity();
    /** Deserializers, interceptors and metric reporters: told the cluster id if they listen for it. */
    private List<Object> clusterListenerCandidates = List.of();
    private final AtomicBoolean wakeupPending = new AtomicBoolean();
    private final AtomicReference<CompletableFuture<?>> awaiting = new AtomicReference<>();
    private volatile boolean closed;
    /** Set when close starts, before {@link #closed}; read and written by the application thread only. */
    private boolean closing;

    public LanesConsumer(Map<String, Object> configs) {
        this(configs, null, null);
    }

    public LanesConsumer(Properties properties) {
        this(Utils.propsToMap(properties), null, null);
    }

    public LanesConsumer(Properties properties, Deserializer<K> keyDeserializer, Deserializer<V> valueDeserializer) {
        this(Utils.propsToMap(properties), keyDeserializer, valueDeserializer);
    }

    @SuppressWarnings("unchecked")
    public LanesConsumer(Map<String, Object> configs, Deserializer<K> keyDeserializer, Deserializer<V> valueDeserializer) {
        LanesConsumerConfig lanesConfig = new LanesConsumerConfig(LanesConsumerConfig.lanesEntries(configs));
        Map<String, Object> consumerSettings = LanesConsumerConfig.consumerEntries(configs);
        Object configuredClientId = consumerSettings.get(ConsumerConfig.CLIENT_ID_CONFIG);
        if (configuredClientId == null || configuredClientId.toString().isEmpty()) {
            consumerSettings.put(ConsumerConfig.CLIENT_ID_CONFIG, "lanes-consumer-" + CLIENT_SEQUENCE.getAndIncrement());
        }
        ConsumerConfig config = ConsumerSettingsLog.parse(
                ConsumerConfig.appendDeserializerToConfig(consumerSettings, keyDeserializer, valueDeserializer), lanesConfig);
        this.clientId = config.getString(ConsumerConfig.CLIENT_ID_CONFIG);
        this.groupId = Optional.ofNullable(config.getString(ConsumerConfig.GROUP_ID_CONFIG)).filter(id -> !id.isEmpty());
        boolean autoCommitAsked = config.getBoolean(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG);
        if (groupId.isEmpty() && autoCommitAsked && config.originals().containsKey(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG)) {
            throw new InvalidConfigurationException(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG
                    + " cannot be set to true when no group.id is configured");
        }
        this.autoCommitEnabled = groupId.isPresent() && autoCommitAsked;
        this.maxPollRecords = config.getInt(ConsumerConfig.MAX_POLL_RECORDS_CONFIG);
        this.defaultApiTimeoutMs = config.getInt(ConsumerConfig.DEFAULT_API_TIMEOUT_MS_CONFIG);
        this.heartbeatOverdueHoldMs = lanesConfig.getLong(LanesConsumerConfig.HEARTBEAT_OVERDUE_HOLD_MS_CONFIG);
        IsolationLevel isolationLevel = IsolationLevel.valueOf(
                config.getString(ConsumerConfig.ISOLATION_LEVEL_CONFIG).toUpperCase(Locale.ROOT));
        this.readCommitted = isolationLevel == IsolationLevel.READ_COMMITTED;

        Metrics createdMetrics = null;
        KafkaNetwork network = null;
        try {
            if (keyDeserializer == null) {
                keyDeserializer = config.getConfiguredInstance(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, Deserializer.class);
                keyDeserializer.configure(config.originals(Map.of(ConsumerConfig.CLIENT_ID_CONFIG, clientId)), true);
            }
            if (valueDeserializer == null) {
                valueDeserializer = config.getConfiguredInstance(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, Deserializer.class);
                valueDeserializer.configure(config.originals(Map.of(ConsumerConfig.CLIENT_ID_CONFIG, clientId)), false);
            }
            this.keyDeserializer = keyDeserializer;
            this.valueDeserializer = valueDeserializer;
            this.interceptors = (List<ConsumerInterceptor<K, V>>) (List<?>) config.getConfiguredInstances(
                    ConsumerConfig.INTERCEPTOR_CLASSES_CONFIG, ConsumerInterceptor.class,
                    Map.of(ConsumerConfig.CLIENT_ID_CONFIG, clientId));

            this.telemetry = ClientTelemetry.create(config, clientId);
            createdMetrics = ClientMetrics.create(config, clientId, telemetry);
            ClientMetrics.registerAppInfo(clientId, createdMetrics, clock.milliseconds());
            this.metrics = createdMetrics;
            this.lanesMetrics = new LanesConsumerMetrics(metrics, clientId);
            this.subscriptions = new SubscriptionState(
                    OffsetResetStrategy.parse(config.getString(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG)));
            this.systemLane = new Lane(LaneName.SYSTEM, lanesConfig.getInt(LanesConsumerConfig.SYSTEM_LANE_CAPACITY_CONFIG), clock);
            this.userLane = new Lane(LaneName.USER, lanesConfig.getInt(LanesConsumerConfig.USER_LANE_CAPACITY_CONFIG), clock);
            lanesMetrics.registerLane(LaneName.SYSTEM, systemLane::size, systemLane.capacity());
            lanesMetrics.registerLane(LaneName.USER, userLane::size, userLane.capacity());
            lanesMetrics.registerLag(() -> subscriptions.totalLag(readCommitted));

            network = KafkaNetwork.create(config, metrics, clock, clusterIdentity, telemetry);
            AtomicReference<BackgroundHandle> threadRef = new AtomicReference<>();
            this.fetchBuffer = new FetchBuffer(lanesConfig.getLong(LanesConsumerConfig.FETCH_BUFFER_MAX_BYTES_CONFIG),
                    () -> threadRef.get().wakeup());
            lanesMetrics.registerFetchBuffer(fetchBuffer::bytes, fetchBuffer.maxBytes());
            this.collector = new FetchCollector<>(fetchBuffer, subscriptions, isolationLevel,
                    config.getBoolean(ConsumerConfig.CHECK_CRCS_CONFIG), this.keyDeserializer, this.valueDeserializer,
                    lanesMetrics.fetchManager());

            this.pollTracker = new PollTracker(clock.milliseconds());
            RebalanceCallbackQueue rebalanceCallbacks = new RebalanceCallbackQueue(fetchBuffer, clock);
            BackgroundSide background = BackgroundSide.assemble(config,
                    lanesConfig.getInt(LanesConsumerConfig.USER_LANE_DRAIN_BUDGET_CONFIG), groupId, autoCommitEnabled,
                    isolationLevel, clock, network, lanesMetrics, subscriptions, systemLane, userLane, fetchBuffer,
                    lanesConfig.getBoolean(LanesConsumerConfig.DECODE_AHEAD_CONFIG), pollTracker, rebalanceCallbacks, interceptors.isEmpty() ? offsets -> { } : ownCommits::add);
            this.membership = background.membership();
            this.networkThread = background.networkThread();
            this.rebalanceListener = new RebalanceListenerInvoker(rebalanceCallbacks, systemLane, networkThread::wakeup,
                    collector::drop, clock, lanesMetrics);
            lanesMetrics.consumerThread().registerQueues(() -> systemLane.size() + userLane.size(),
                    rebalanceCallbacks::size, networkThread::unsentRequests);
            threadRef.set(networkThread);
            List<Object> candidates = new ArrayList<>(List.of(this.keyDeserializer, this.valueDeserializer));
            candidates.addAll(interceptors);
            candidates.addAll(metrics.reporters());
            this.clusterListenerCandidates = List.copyOf(candidates);
            networkThread.start();
            log.debug("Lanes consumer {} started (group {})", clientId, groupId.orElse("none"));
        } catch (RuntimeException e) {
            if (network != null) {
                network.close();
            }
            if (createdMetrics != null) {
                ClientMetrics.unregisterAppInfo(clientId, createdMetrics);
                createdMetrics.close();
            }
            throw e instanceof KafkaException ? e : new KafkaException("Failed to construct the Lanes consumer", e);
        }
    }

    // ---------------------------------------------------------------- assignment

    @Override
    public Set<TopicPartition> assignment() {
        acquireAndEnsureOpen();
        try {
            return Collections.unmodifiableSet(subscriptions.assignedPartitions());
        } finally {
            release();
        }
    }

    @Override
    public Set<String> subscription() {
        acquireAndEnsureOpen();
        try {
            return subscriptions.hasGroupSubscription() ? Set.copyOf(subscriptions.subscribedTopics()) : Set.of();
        } finally {
            release();
        }
    }

    @Override
    public void assign(Collection<TopicPartition> partitions) {
        acquireAndEnsureOpen();
        try {
            if (partitions == null) {
                throw new IllegalArgumentException("Topic partitions collection to assign to cannot be null");
            }
            for (TopicPartition partition : partitions) {
                if (partition == null || partition.topic() == null || partition.topic().isBlank()) {
                    throw new IllegalArgumentException("Topic partitions to assign to cannot have null or empty topic");
                }
            }
            Set<TopicPartition> removed = subscriptions.assignFromUser(new HashSet<>(partitions));
            collector.drop(removed);
            networkThread.wakeup();
        } finally {
            release();
        }
    }

    @Override
    public void unsubscribe() {
        acquireAndEnsureOpen();
        try {
            subscriptions.markConsumed();
            if (subscriptions.hasGroupSubscription()) {
                long deadlineMs = clock.deadlineAfter(defaultApiTimeoutMs);
                releaseGroupPartitions(deadlineMs);
                leaveGroup(deadlineMs);
            }
            collector.drop(subscriptions.unsubscribe());
            rebalanceListener.use(NO_OP_LISTENER);
        } finally {
            release();
        }
    }

    @Override
    public void subscribe(Collection<String> topics) {
        subscribe(topics, NO_OP_LISTENER);
    }

    @Override
    public void subscribe(Collection<String> topics, ConsumerRebalanceListener listener) {
        requireListener(listener);
        acquireAndEnsureOpen();
        try {
            requireGroup("subscribe to topics");
            if (topics == null) {
                throw new IllegalArgumentException("Topic collection to subscribe to cannot be null");
            }
            if (topics.isEmpty()) {
                release();
                try {
                    unsubscribe();
                } finally {
                    threadGuard.acquire();
                }
                return;
            }
            for (String topic : topics) {
                if (topic == null || topic.isBlank()) {
                    throw new IllegalArgumentException("Topic collection to subscribe to cannot contain null or empty topic");
                }
            }
            startSubscription(listener, () -> subscriptions.subscribe(new HashSet<>(topics)));
        } finally {
            release();
        }
    }

    @Override
    public void subscribe(Pattern pattern, ConsumerRebalanceListener listener) {
        requireListener(listener);
        acquireAndEnsureOpen();
        try {
            requireGroup("subscribe to topics");
            if (pattern == null || pattern.pattern().isEmpty()) {
                throw new IllegalArgumentException("Topic pattern to subscribe to cannot be " + (pattern == null ? "null" : "empty"));
            }
            startSubscription(listener, () -> subscriptions.subscribe(pattern));
        } finally {
            release();
        }
    }

    @Override
    public void subscribe(Pattern pattern) {
        subscribe(pattern, NO_OP_LISTENER);
    }

    @Override
    public void subscribe(SubscriptionPattern pattern, ConsumerRebalanceListener listener) {
        requireListener(listener);
        acquireAndEnsureOpen();
        try {
            requireGroup("subscribe to topics");
            if (pattern == null || pattern.pattern().isEmpty()) {
                throw new IllegalArgumentException("Topic pattern to subscribe to cannot be " + (pattern == null ? "null" : "empty"));
            }
            startSubscription(listener, () -> subscriptions.subscribeBrokerPattern(pattern.pattern()));
        } finally {
            release();
        }
    }

    @Override
    public void subscribe(SubscriptionPattern pattern) {
        subscribe(pattern, NO_OP_LISTENER);
    }

    /** The listener is checked first, then the group, then the topics or pattern, in KafkaConsumer's order. */
    private static void requireListener(ConsumerRebalanceListener listener) {
        if (listener == null) {
            throw new IllegalArgumentException("RebalanceListener cannot be null");
        }
    }

    private void startSubscription(ConsumerRebalanceListener listener, Runnable subscribe) {
        subscribe.run();
        rebalanceListener.use(listener);
        SubscriptionChangedEvent event = new SubscriptionChangedEvent(clock.deadlineAfter(defaultApiTimeoutMs));
        submitBlocking(event);
    }

    /**
     * Gives up the group's partitions before leaving (close, unsubscribe): commits what auto-commit owes,
     * then runs onPartitionsRevoked here on the application thread (or onPartitionsLost if the member was
     * fenced or left for a poll timeout).
     */
    private void releaseGroupPartitions(long deadlineMs) {
        rebalanceListener.runRequested();
        Set<TopicPartition> owned = subscriptions.assignedPartitions();
        MemberState state = membership.map(MembershipView::state).orElse(MemberState.UNSUBSCRIBED);
        if (owned.isEmpty()) {
            return;
        }
        if (state == MemberState.FENCED || state == MemberState.STALE || state == MemberState.FATAL) {
            rebalanceListener.invoke(RebalanceCallback.Kind.LOST, owned);
        } else {
            commitOnClose(deadlineMs);
            rebalanceListener.invoke(RebalanceCallback.Kind.REVOKED, owned);
        }
    }

    /** Sends the leave heartbeat and waits for it until the deadline, so others get the partitions at once. */
    private void leaveGroup(long deadlineMs) {
        LeaveGroupEvent event = new LeaveGroupEvent(deadlineMs);
        try {
            if (!systemLane.offer(event)) {
                log.warn("Could not leave the group: the system lane is full");
                return;
            }
        } finally {
            networkThread.wakeup();
        }
        awaitQuietly(event.future(), deadlineMs);
    }

    // ---------------------------------------------------------------- poll

    @Override
    public ConsumerRecords<K, V> poll(Duration timeout) {
        acquireAndEnsureOpen();
        try {
            long timeoutNanos = requireNonNegative(timeout, "timeout").toNanos();
            if (!subscriptions.hasGroupSubscription() && subscriptions.assignedPartitions().isEmpty()) {
                throw new IllegalStateException("Consumer is not subscribed to any topics or assigned any partitions");
            }
            long deadlineNanos = clock.nanoseconds() + timeoutNanos;
            lanesMetrics.consumerThread().pollStarted(clock.milliseconds());
            notePoll();
            try {
                return pollUntil(deadlineNanos);
            } finally {
                pollTracker.exit(clock.milliseconds());
                lanesMetrics.consumerThread().pollEnded(clock.milliseconds());
            }
        } finally {
            release();
        }
    }

    private ConsumerRecords<K, V> pollUntil(long deadlineNanos) {
        while (true) {
            clusterIdentity.tell(clusterListenerCandidates);
            asyncCommits.runCompletedCallbacks();
            ownCommits.drainTo(this::onCommit);
            rebalanceListener.runRequested();
            throwIfWakeupPending();
            throwIfBackgroundError();
            ensureOpen(); // the background thread may have died while this poll waited
            boolean held = holdWhileUnconfirmed();
            ConsumerRecords<K, V> records = held ? ConsumerRecords.empty() : collector.collect(maxPollRecords);
            if (!records.isEmpty()) {
                lanesMetrics.recordsConsumed(records.count());
                return onConsume(records);
            }
            long remaining = deadlineNanos - clock.nanoseconds();
            if (remaining <= 0) {
                return ConsumerRecords.empty();
            }
            long waitStart = clock.nanoseconds();
            try {
                if (held) {
                    fetchBuffer.awaitStateChange(remaining);
                } else {
                    fetchBuffer.await(remaining);
                }
            } catch (InterruptedException e) {
                throw new InterruptException(e);
            } finally {
                lanesMetrics.applicationPollIdle(clock.nanoseconds() - waitStart);
            }
        }
    }

    /**
     * Whether records are held back because the member's heartbeats have gone unanswered for too long: it may
     * have been fenced, and its partitions processed by another member (lanes.heartbeat.overdue.hold.ms). Logged
     * once per episode.
     */
    private boolean holdWhileUnconfirmed() {
        boolean hold = membership.isPresent()
                && membership.get().ownershipUnconfirmed(clock.milliseconds(), heartbeatOverdueHoldMs);
        if (hold && !holding) {
            log.warn("Consumer {} holds back records: no heartbeat answer for {} ms, so the group may have given its "
                    + "partitions to another member; records are returned again once an answer confirms the membership",
                    clientId, clock.milliseconds() - membership.get().lastConfirmedMs());
        } else if (!hold && holding) {
            log.info("Consumer {}: membership confirmed again, records are returned", clientId);
        }
        holding = hold;
        return hold;
    }

    /**
     * Tells the background thread the application is polling (max.poll.interval.ms, and positions of newly
     * assigned partitions may be looked up now); wakes it if it needs to act on that.
     */
    private void notePoll() {
        subscriptions.markConsumed();
        boolean awaited = pollTracker.enter(clock.milliseconds());
        if (subscriptions.requestPositions() || awaited) {
            networkThread.wakeup();
        }
        if (membership.isPresent() && membership.get().state() == MemberState.STALE) {
            networkThread.wakeup();
        }
    }

    private void throwIfBackgroundError() {
        Optional<RuntimeException> fatal = membership.flatMap(MembershipView::fatalError);
        if (fatal.isPresent()) {
            throw fatal.get();
        }
        RuntimeException error = fetchBuffer.takeError();
        if (error != null) {
            throw error;
        }
        for (TopicPartition partition : subscriptions.assignedPartitions()) {
            Optional<RuntimeException> positionError = subscriptions.positionError(partition);
            if (positionError.isPresent()) {
                throw positionError.get();
            }
        }
    }

    private ConsumerRecords<K, V> onConsume(ConsumerRecords<K, V> records) {
        ConsumerRecords<K, V> result = records;
        for (ConsumerInterceptor<K, V> interceptor : interceptors) {
            try {
                result = interceptor.onConsume(result);
            } catch (Exception e) {
                log.warn("Interceptor {} threw in onConsume; its result is ignored", interceptor.getClass().getName(), e);
            }
        }
        return result;
    }

    // ---------------------------------------------------------------- commits

    @Override
    public void commitSync() {
        commitSync(Duration.ofMillis(defaultApiTimeoutMs));
    }

    @Override
    public void commitSync(Duration timeout) {
        acquireAndEnsureOpen();
        try {
            commitSyncInternal(subscriptions.allConsumed(), timeout);
        } finally {
            release();
        }
    }

    @Override
    public void commitSync(Map<TopicPartition, OffsetAndMetadata> offsets) {
        commitSync(offsets, Duration.ofMillis(defaultApiTimeoutMs));
    }

    @Override
    public void commitSync(Map<TopicPartition, OffsetAndMetadata> offsets, Duration timeout) {
        acquireAndEnsureOpen();
        try {
            commitSyncInternal(new HashMap<>(offsets), timeout);
        } finally {
            release();
        }
    }

    private void commitSyncInternal(Map<TopicPartition, OffsetAndMetadata> offsets, Duration timeout) {
        long deadlineMs = clock.deadlineAfter(requireNonNegative(timeout, "timeout").toMillis());
        requireGroup("commit offsets");
        asyncCommits.runCompletedCallbacks();
        long startNanos = clock.nanoseconds();
        try {
            CommitEvent event = new CommitEvent(offsets, true, deadlineMs);
            submitBlocking(event);
            try {
                Map<TopicPartition, OffsetAndMetadata> committed = await(event, "commitSync");
                onCommit(committed);
            } finally {
                asyncCommits.runCompletedCallbacks();
            }
        } finally {
            lanesMetrics.consumerThread().commitSyncTime(clock.nanoseconds() - startNanos);
        }
    }

    @Override
    public void commitAsync() {
        commitAsync(null);
    }

    @Override
    public void commitAsync(OffsetCommitCallback callback) {
        acquireAndEnsureOpen();
        try {
            commitAsyncInternal(subscriptions.allConsumed(), callback);
        } finally {
            release();
        }
    }

    @Override
    public void commitAsync(Map<TopicPartition, OffsetAndMetadata> offsets, OffsetCommitCallback callback) {
        acquireAndEnsureOpen();
        try {
            commitAsyncInternal(new HashMap<>(offsets), callback);
        } finally {
            release();
        }
    }

    private void commitAsyncInternal(Map<TopicPartition, OffsetAndMetadata> offsets, OffsetCommitCallback callback) {
        requireGroup("commit offsets");
        asyncCommits.runCompletedCallbacks();
        CommitEvent event = new CommitEvent(offsets, false, clock.deadlineAfter(defaultApiTimeoutMs));
        submitNonBlocking(event);
        asyncCommits.add(offsets, event.future(), callback != null ? callback : LOG_FAILED_COMMIT);
    }

    private void onCommit(Map<TopicPartition, OffsetAndMetadata> committed) {
        for (ConsumerInterceptor<K, V> interceptor : interceptors) {
            try {
                interceptor.onCommit(committed);
            } catch (Exception e) {
                log.warn("Interceptor {} threw in onCommit", interceptor.getClass().getName(), e);
            }
        }
    }

    // ---------------------------------------------------------------- positions

    @Override
    public void seek(TopicPartition partition, long offset) {
        if (offset < 0) {
            throw new IllegalArgumentException("seek offset must not be a negative number");
        }
        seekInternal(partition, offset, Optional.empty());
    }

    @Override
    public void seek(TopicPartition partition, OffsetAndMetadata offsetAndMetadata) {
        long offset = offsetAndMetadata.offset();
        if (offset < 0) {
            throw new IllegalArgumentException("seek offset must not be a negative number");
        }
        seekInternal(partition, offset, offsetAndMetadata.leaderEpoch());
    }

    private void seekInternal(TopicPartition partition, long offset, Optional<Integer> leaderEpoch) {
        acquireAndEnsureOpen();
        try {
            subscriptions.seek(partition, offset, leaderEpoch);
            collector.drop(Set.of(partition));
            networkThread.wakeup();
        } finally {
            release();
        }
    }

    @Override
    public void seekToBeginning(Collection<TopicPartition> partitions) {
        reset(partitions, OffsetResetStrategy.EARLIEST);
    }

    @Override
    public void seekToEnd(Collection<TopicPartition> partitions) {
        reset(partitions, OffsetResetStrategy.LATEST);
    }

    private void reset(Collection<TopicPartition> partitions, OffsetResetStrategy strategy) {
        acquireAndEnsureOpen();
        try {
            if (partitions == null) {
                throw new IllegalArgumentException("Partitions collection cannot be null");
            }
            Collection<TopicPartition> targets = partitions.isEmpty() ? subscriptions.assignedPartitions() : partitions;
            subscriptions.requestReset(targets, strategy);
            collector.drop(targets);
            networkThread.wakeup();
        } finally {
            release();
        }
    }

    @Override
    public long position(TopicPartition partition) {
        return position(partition, Duration.ofMillis(defaultApiTimeoutMs));
    }

    @Override
    public long position(TopicPartition partition, Duration timeout) {
        acquireAndEnsureOpen();
        try {
            if (!subscriptions.isAssigned(partition)) {
                throw new IllegalStateException("You can only check the position for partitions assigned to this consumer.");
            }
            OptionalLong known = subscriptions.position(partition);
            if (known.isPresent()) {
                return known.getAsLong();
            }
            AwaitPositionsEvent event = new AwaitPositionsEvent(Set.of(partition),
                    clock.deadlineAfter(requireNonNegative(timeout, "timeout").toMillis()));
            submitBlocking(event);
            await(event, "position");
            return subscriptions.position(partition).orElseThrow(() -> new TimeoutException(
                    "Timeout of " + timeout.toMillis() + "ms expired before the position for partition " + partition
                            + " could be determined"));
        } finally {
            release();
        }
    }

    @Override
    public Map<TopicPartition, OffsetAndMetadata> committed(Set<TopicPartition> partitions) {
        return committed(partitions, Duration.ofMillis(defaultApiTimeoutMs));
    }

    @Override
    public Map<TopicPartition, OffsetAndMetadata> committed(Set<TopicPartition> partitions, Duration timeout) {
        acquireAndEnsureOpen();
        try {
            requireGroup("read committed offsets");
            if (partitions.isEmpty()) {
                return Map.of();
            }
            long startNanos = clock.nanoseconds();
            try {
                FetchCommittedOffsetsEvent event = new FetchCommittedOffsetsEvent(partitions,
                        clock.deadlineAfter(requireNonNegative(timeout, "timeout").toMillis()));
                submitBlocking(event);
                return await(event, "committed");
            } finally {
                lanesMetrics.consumerThread().committedTime(clock.nanoseconds() - startNanos);
            }
        } finally {
            release();
        }
    }

    @Override
    public Map<TopicPartition, Long> beginningOffsets(Collection<TopicPartition> partitions) {
        return beginningOffsets(partitions, Duration.ofMillis(defaultApiTimeoutMs));
    }

    @Override
    public Map<TopicPartition, Long> beginningOffsets(Collection<TopicPartition> partitions, Duration timeout) {
        return listOffsets(partitions, OffsetResetStrategy.EARLIEST_TIMESTAMP, timeout, "beginningOffsets");
    }

    @Override
    public Map<TopicPartition, Long> endOffsets(Collection<TopicPartition> partitions) {
        return endOffsets(partitions, Duration.ofMillis(defaultApiTimeoutMs));
    }

    @Override
    public Map<TopicPartition, Long> endOffsets(Collection<TopicPartition> partitions, Duration timeout) {
        return listOffsets(partitions, OffsetResetStrategy.LATEST_TIMESTAMP, timeout, "endOffsets");
    }

    private Map<TopicPartition, Long> listOffsets(Collection<TopicPartition> partitions, long timestamp, Duration timeout,
                                                  String operation) {
        acquireAndEnsureOpen();
        try {
            Map<TopicPartition, Long> timestamps = new HashMap<>();
            partitions.forEach(partition -> timestamps.put(partition, timestamp));
            Map<TopicPartition, ListedOffset> listed = lookupOffsets(timestamps, timeout, operation);
            Map<TopicPartition, Long> offsets = new HashMap<>();
            listed.forEach((partition, offset) -> {
                if (offset != null) {
                    offsets.put(partition, offset.offset());
                }
            });
            return offsets;
        } finally {
            release();
        }
    }

    @Override
    public Map<TopicPartition, OffsetAndTimestamp> offsetsForTimes(Map<TopicPartition, Long> timestampsToSearch) {
        return offsetsForTimes(timestampsToSearch, Duration.ofMillis(defaultApiTimeoutMs));
    }

    @Override
    public Map<TopicPartition, OffsetAndTimestamp> offsetsForTimes(Map<TopicPartition, Long> timestampsToSearch,
                                                                   Duration timeout) {
        acquireAndEnsureOpen();
        try {
            timestampsToSearch.forEach((partition, timestamp) -> {
                if (timestamp == null || timestamp < 0) {
                    throw new IllegalArgumentException("The target time for partition " + partition + " is "
                            + timestamp + ". The target time cannot be negative.");
                }
            });
            Map<TopicPartition, ListedOffset> listed = lookupOffsets(timestampsToSearch, timeout, "offsetsForTimes");
            Map<TopicPartition, OffsetAndTimestamp> result = new HashMap<>();
            timestampsToSearch.keySet().forEach(partition -> {
                ListedOffset offset = listed.get(partition);
                result.put(partition, offset == null ? null
                        : new OffsetAndTimestamp(offset.offset(), offset.timestamp(), offset.leaderEpoch()));
            });
            return result;
        } finally {
            release();
        }
    }

    /** Looks offsets up; with a zero timeout it looks nothing up and finds nothing, as KafkaConsumer does. */
    private Map<TopicPartition, ListedOffset> lookupOffsets(Map<TopicPartition, Long> timestamps, Duration timeout,
                                                            String operation) {
        if (timestamps.isEmpty() || requireNonNegative(timeout, "timeout").isZero()) {
            return Map.of();
        }
        ListOffsetsEvent event = new ListOffsetsEvent(timestamps,
                clock.deadlineAfter(requireNonNegative(timeout, "timeout").toMillis()));
        submitBlocking(event);
        return await(event, operation);
    }

    @Override
    public OptionalLong currentLag(TopicPartition partition) {
        acquireAndEnsureOpen();
        try {
            return subscriptions.lag(partition, readCommitted);
        } finally {
            release();
        }
    }

    // ---------------------------------------------------------------- metadata

    @Override
    public List<PartitionInfo> partitionsFor(String topic) {
        return partitionsFor(topic, Duration.ofMillis(defaultApiTimeoutMs));
    }

    @Override
    public List<PartitionInfo> partitionsFor(String topic, Duration timeout) {
        acquireAndEnsureOpen();
        try {
            if (topic == null || topic.isBlank()) {
                throw new IllegalArgumentException("Topic must not be null or empty");
            }
            TopicMetadataEvent event = new TopicMetadataEvent(Optional.of(topic),
                    clock.deadlineAfter(requireNonNegative(timeout, "timeout").toMillis()));
            submitBlocking(event);
            return await(event, "partitionsFor").getOrDefault(topic, List.of());
        } finally {
            release();
        }
    }

    @Override
    public Map<String, List<PartitionInfo>> listTopics() {
        return listTopics(Duration.ofMillis(defaultApiTimeoutMs));
    }

    @Override
    public Map<String, List<PartitionInfo>> listTopics(Duration timeout) {
        acquireAndEnsureOpen();
        try {
            TopicMetadataEvent event = new TopicMetadataEvent(Optional.empty(),
                    clock.deadlineAfter(requireNonNegative(timeout, "timeout").toMillis()));
            submitBlocking(event);
            return await(event, "listTopics");
        } finally {
            release();
        }
    }

    // ---------------------------------------------------------------- pause, metrics, group

    @Override
    public void pause(Collection<TopicPartition> partitions) {
        acquireAndEnsureOpen();
        try {
            subscriptions.pause(partitions);
        } finally {
            release();
        }
    }

    @Override
    public void resume(Collection<TopicPartition> partitions) {
        acquireAndEnsureOpen();
        try {
            subscriptions.resume(partitions);
            networkThread.wakeup();
        } finally {
            release();
        }
    }

    @Override
    public Set<TopicPartition> paused() {
        acquireAndEnsureOpen();
        try {
            return Collections.unmodifiableSet(subscriptions.pausedPartitions());
        } finally {
            release();
        }
    }

    @Override
    public Map<MetricName, ? extends Metric> metrics() {
        return Collections.unmodifiableMap(metrics.metrics());
    }

    @Override
    public void registerMetricForSubscription(KafkaMetric metric) {
        // Client telemetry (KIP-714) is not supported; like KafkaConsumer without it, this does nothing.
    }

    @Override
    public void unregisterMetricFromSubscription(KafkaMetric metric) {
        // See registerMetricForSubscription.
    }

    @Override
    public Uuid clientInstanceId(Duration timeout) {
        requireNonNegative(timeout, "timeout");
        return telemetry.clientInstanceId(timeout);
    }

    @Override
    public ConsumerGroupMetadata groupMetadata() {
        acquireAndEnsureOpen();
        try {
            requireGroup("get the group metadata");
            return membership.get().groupMetadata();
        } finally {
            release();
        }
    }

    @Override
    public void enforceRebalance() {
        enforceRebalance(null);
    }

    @Override
    public void enforceRebalance(String reason) {
        acquireAndEnsureOpen();
        try {
            if (!subscriptions.hasGroupSubscription()) {
                throw new IllegalStateException("Tried to force a rebalance but the consumer does not have a group subscription");
            }
            // The consumer group protocol (KIP-848) has no member-triggered rebalance: the coordinator
            // reassigns when the group or its subscriptions change.
            log.warn("enforceRebalance({}) has no effect with the consumer group protocol", reason == null ? "" : reason);
        } finally {
            release();
        }
    }

    // ---------------------------------------------------------------- wakeup and close

    @Override
    public void wakeup() {
        wakeupPending.set(true);
        CompletableFuture<?> current = awaiting.get();
        if (current != null) {
            current.completeExceptionally(new WakeupException());
        }
        fetchBuffer.wakeup();
    }

    @Override
    public void close() {
        close(CloseOptions.timeout(Duration.ofMillis(DEFAULT_CLOSE_TIMEOUT_MS)));
    }

    @Override
    @Deprecated
    public void close(Duration timeout) {
        close(CloseOptions.timeout(timeout));
    }

    @Override
    public void close(CloseOptions options) {
        Duration timeout = options.timeout().orElse(Duration.ofMillis(DEFAULT_CLOSE_TIMEOUT_MS));
        requireNonNegative(timeout, "timeout");
        threadGuard.acquire();
        try {
            if (closed || closing) {
                return;
            }
            closing = true;
            subscriptions.markConsumed();
            long deadlineMs = clock.deadlineAfter(timeout.toMillis());
            // The last part of the budget is kept for the background thread to discard what is left, log it and
            // release its sockets, so that all of that happens before close returns, even with the broker down.
            long workDeadlineMs = deadlineMs - Math.min(CLOSE_SHUTDOWN_RESERVE_MS, timeout.toMillis() / 4);
            asyncCommits.runCompletedCallbacks();
            boolean running = networkThread.state() == LoopState.RUNNING;
            try {
                // Still open here, as with KafkaConsumer: onPartitionsRevoked may commit, the usual place for a
                // manual commit. A close called from a callback returns at once (closing).
                if (running && subscriptions.hasGroupSubscription()) {
                    try {
                        releaseGroupPartitions(workDeadlineMs);
                    } catch (RuntimeException e) {
                        log.warn("A rebalance callback threw while the consumer was closing", e);
                    }
                    leaveGroup(workDeadlineMs);
                } else if (running) {
                    commitOnClose(workDeadlineMs);
                }
            } finally {
                closed = true;
            }
            telemetry.initiateClose(); // a last push of the metrics, while the background thread still runs
            if (running) {
                CloseEvent closeEvent = new CloseEvent(workDeadlineMs);
                if (systemLane.offer(closeEvent)) {
                    networkThread.wakeup();
                    awaitQuietly(closeEvent.future(), deadlineMs);
                }
            }
            try {
                networkThread.join(Math.max(1, deadlineMs - clock.milliseconds()));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            if (networkThread.isAlive()) {
                log.warn("The background thread of consumer {} did not stop within the close timeout; it is a daemon "
                        + "thread and will end on its own", clientId);
            }
            collector.clear();
            fetchBuffer.clear();
            // Commits the background thread did not finish (it may still be running at the deadline) fail
            // here, so that close runs every callback (R11).
            asyncCommits.failAll(new ConsumerClosedException("The consumer was closed before this commit completed", null));
            asyncCommits.runCompletedCallbacks();
            interceptors.forEach(interceptor -> Utils.closeQuietly(interceptor, "consumer interceptor"));
            Utils.closeQuietly(keyDeserializer, "key deserializer");
            Utils.closeQuietly(valueDeserializer, "value deserializer");
            ClientMetrics.unregisterAppInfo(clientId, metrics);
            Utils.closeQuietly(metrics, "consumer metrics");
            log.debug("Lanes consumer {} closed", clientId);
        } finally {
            threadGuard.release();
        }
    }

    /** Commits what auto-commit owes before leaving (R11); a failure is logged, not thrown. */
    private void commitOnClose(long deadlineMs) {
        if (!autoCommitEnabled) {
            return;
        }
        Map<TopicPartition, OffsetAndMetadata> offsets = subscriptions.allConsumed();
        if (offsets.isEmpty()) {
            return;
        }
        CommitEvent event = new CommitEvent(offsets, true, deadlineMs);
        try {
            if (!userLane.offer(event, deadlineMs)) {
                log.warn("Could not commit offsets {} on close: the user lane stayed full until the deadline", offsets);
                return;
            }
            networkThread.wakeup();
            event.future().get(Math.max(0, deadlineMs - clock.milliseconds()), TimeUnit.MILLISECONDS);
            ownCommits.drainTo(this::onCommit);
            onCommit(offsets);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (ExecutionException | java.util.concurrent.TimeoutException e) {
            log.warn("Committing offsets {} on close failed: {}", offsets,
                    String.valueOf(e.getCause() == null ? e : e.getCause()));
        }
    }

    private void awaitQuietly(CompletableFuture<?> future, long deadlineMs) {
        try {
            future.get(Math.max(0, deadlineMs - clock.milliseconds()), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (ExecutionException | java.util.concurrent.TimeoutException e) {
            // close goes on regardless; what was discarded has been logged by the background thread
        }
    }

    // ---------------------------------------------------------------- plumbing

    private static final long DEFAULT_CLOSE_TIMEOUT_MS = 30_000;
    private static final long CLOSE_SHUTDOWN_RESERVE_MS = 200;

    private void acquireAndEnsureOpen() {
        threadGuard.acquire();
        try {
            ensureOpen();
        } catch (RuntimeException e) {
            threadGuard.release();
            throw e;
        }
    }

    private void release() {
        threadGuard.release();
    }

    private void ensureOpen() {
        if (closed) {
            throw new IllegalStateException("This consumer has already been closed.");
        }
        Throwable failure = networkThread.failure();
        if (failure != null) {
            throw new ConsumerClosedException("The consumer " + clientId + " is closed because its background thread died: "
                    + failure, failure);
        }
    }

    private void requireGroup(String operation) {
        if (groupId.isEmpty()) {
            throw new InvalidGroupIdException("To " + operation + ", the consumer must be configured with a group.id");
        }
    }

    private void throwIfWakeupPending() {
        if (wakeupPending.getAndSet(false)) {
            throw new WakeupException();
        }
    }

    /** Puts an event on the user lane, waiting for room until the event's deadline (blocking calls). */
    private void submitBlocking(ApplicationEvent<?> event) {
        try {
            if (!userLane.offer(event, event.deadlineMs())) {
                lanesMetrics.backPressureRejection();
                throw new TimeoutException("The user lane stayed full (capacity " + userLane.capacity()
                        + ") until the call's deadline");
            }
        } catch (InterruptedException e) {
            throw new InterruptException(e);
        }
        networkThread.wakeup();
    }

    /** Puts an event on the user lane or refuses at once with BackPressureException (non-blocking calls, R9). */
    private void submitNonBlocking(ApplicationEvent<?> event) {
        if (!userLane.offer(event)) {
            lanesMetrics.backPressureRejection();
            throw new BackPressureException("The user lane of consumer " + clientId + " is full (capacity "
                    + userLane.capacity() + "); back off and retry, or raise " + LanesConsumerConfig.USER_LANE_CAPACITY_CONFIG);
        }
        networkThread.wakeup();
    }

    /** Waits for the event with the application thread's own timed wait (R12). */
    private <T> T await(ApplicationEvent<T> event, String operation) {
        CompletableFuture<T> future = event.future();
        awaiting.set(future);
        try {
            throwIfWakeupPending();
            long remainingMs = event.deadlineMs() - clock.milliseconds();
            return future.get(Math.max(0, remainingMs), TimeUnit.MILLISECONDS);
        } catch (java.util.concurrent.TimeoutException e) {
            future.completeExceptionally(new TimeoutException(operation + " timed out"));
            throw new TimeoutException(operation + " did not complete before its deadline");
        } catch (InterruptedException e) {
            throw new InterruptException(e);
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            if (cause instanceof WakeupException) {
                wakeupPending.set(false);
            }
            if (cause instanceof TimeoutException) {
                throw new TimeoutException(operation + " did not complete before its deadline: " + cause.getMessage(), cause);
            }
            if (cause instanceof RuntimeException) {
                throw (RuntimeException) cause;
            }
            throw new KafkaException(operation + " failed", cause);
        } finally {
            awaiting.set(null);
        }
    }

    private static Duration requireNonNegative(Duration timeout, String name) {
        if (timeout == null) {
            throw new IllegalArgumentException(name + " must not be null");
        }
        if (timeout.isNegative()) {
            throw new IllegalArgumentException(name + " must not be negative");
        }
        return timeout;
    }

    // ---------------------------------------------------------------- diagnostics (any thread)

    /** The name of this consumer's background thread. Any thread. */
    @Override
    public String networkThreadName() {
        return networkThread.threadName();
    }

    /** The client id, configured or generated. Any thread. */
    @Override
    public String clientId() {
        return clientId;
    }

    /** The group id, if one is configured. Any thread. */
    @Override
    public Optional<String> groupId() {
        return groupId;
    }

    /** Whether the background thread is running (false once closed or after it died). Any thread. */
    @Override
    public boolean isBackgroundThreadAlive() {
        return networkThread.isAlive();
    }

    /** Why the background thread died, if it did. Any thread. */
    @Override
    public Optional<Throwable> backgroundFailure() {
        return Optional.ofNullable(networkThread.failure());
    }

    /** The group member's state, or {@link MemberState#NONE} without a group.id. Any thread. */
    @Override
    public MemberState memberState() {
        return membership.map(MembershipView::state).orElse(MemberState.NONE);
    }

    /**
     * Adds an observer of every lane queue time (see {@link QueueTimeObserver}: it runs on the background
     * thread and must not block). Any thread.
     */
    @Override
    public void addQueueTimeObserver(QueueTimeObserver observer) {
        lanesMetrics.addQueueTimeObserver(observer);
    }

    @Override
    public void removeQueueTimeObserver(QueueTimeObserver observer) {
        lanesMetrics.removeQueueTimeObserver(observer);
    }

    /** The partitions assigned now, as a copy. Any thread (unlike {@link #assignment()}). */
    @Override
    public Set<TopicPartition> assignmentSnapshot() {
        return Set.copyOf(subscriptions.assignedPartitions());
    }

    /** The partitions paused now, as a copy. Any thread (unlike {@link #paused()}). */
    @Override
    public Set<TopicPartition> pausedSnapshot() {
        return Set.copyOf(subscriptions.pausedPartitions());
    }

    /** Whether this consumer was closed by the application. Any thread. */
    @Override
    public boolean isClosed() {
        return closed;
    }
}
