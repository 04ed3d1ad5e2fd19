package dev.lanes.consumer;

import dev.lanes.consumer.internals.adapter.ClientTelemetry;
import dev.lanes.consumer.internals.adapter.KafkaNetwork;
import dev.lanes.consumer.internals.app.BackgroundCalls;
import dev.lanes.consumer.internals.app.CallGate;
import dev.lanes.consumer.internals.app.Closer;
import dev.lanes.consumer.internals.app.Commits;
import dev.lanes.consumer.internals.app.FetchCollector;
import dev.lanes.consumer.internals.app.GroupExit;
import dev.lanes.consumer.internals.app.Lookups;
import dev.lanes.consumer.internals.app.PollLoop;
import dev.lanes.consumer.internals.app.RebalanceListenerInvoker;
import dev.lanes.consumer.internals.common.Clock;
import dev.lanes.consumer.internals.events.SubscriptionChangedEvent;
import dev.lanes.consumer.internals.metrics.LanesConsumerMetrics;
import dev.lanes.consumer.internals.shared.BackgroundHandle;
import dev.lanes.consumer.internals.shared.MembershipView;
import dev.lanes.consumer.internals.shared.OffsetResetStrategy;
import dev.lanes.consumer.internals.shared.SubscriptionState;
import org.apache.kafka.clients.consumer.CloseOptions;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerGroupMetadata;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.consumer.OffsetAndTimestamp;
import org.apache.kafka.clients.consumer.OffsetCommitCallback;
import org.apache.kafka.clients.consumer.SubscriptionPattern;
import org.apache.kafka.common.IsolationLevel;
import org.apache.kafka.common.Metric;
import org.apache.kafka.common.MetricName;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.config.ConfigException;
import org.apache.kafka.common.errors.InvalidConfigurationException;
import org.apache.kafka.common.errors.InvalidGroupIdException;
import org.apache.kafka.common.metrics.KafkaMetric;
import org.apache.kafka.common.metrics.Metrics;
import org.apache.kafka.common.serialization.Deserializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.Collection;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
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
 *
 * <p>This class checks the arguments of each call and hands it to the application-side parts in
 * {@code internals.app}: the {@link CallGate} every call passes, the {@link PollLoop}, the {@link Commits},
 * the {@link Lookups}, the {@link BackgroundCalls} that reach the background thread, and the {@link Closer}.
 */
public class LanesConsumer<K, V> implements Consumer<K, V>, ConsumerDiagnostics {

    private static final Logger log = LoggerFactory.getLogger(LanesConsumer.class);
    private static final AtomicInteger CLIENT_SEQUENCE = new AtomicInteger(1);
    private static final long DEFAULT_CLOSE_TIMEOUT_MS = 30_000;

    private final String clientId;
    private final Optional<String> groupId;
    private final Clock clock;
    private final Metrics metrics;
    private final ClientTelemetry telemetry;
    private final LanesConsumerMetrics lanesMetrics;
    private final SubscriptionState subscriptions;
    private final FetchCollector<K, V> collector;
    private final BackgroundHandle networkThread;
    private final Optional<MembershipView> membership;
    private final RebalanceListenerInvoker rebalanceListener;
    private final long defaultApiTimeoutMs;
    private final boolean readCommitted;
    private final CallGate gate;
    private final BackgroundCalls calls;
    private final Commits commits;
    private final GroupExit groupExit;
    private final PollLoop<K, V> pollLoop;
    private final Closer closer;
    private final Lookups lookups;

    public LanesConsumer(Map<String, Object> configs) {
        this(configs, null, null);
    }

    public LanesConsumer(Properties properties) {
        this(propertiesToMap(properties), null, null);
    }

    public LanesConsumer(Properties properties, Deserializer<K> keyDeserializer, Deserializer<V> valueDeserializer) {
        this(propertiesToMap(properties), keyDeserializer, valueDeserializer);
    }

    public LanesConsumer(Map<String, Object> configs, Deserializer<K> keyDeserializer, Deserializer<V> valueDeserializer) {
        this(configs, keyDeserializer, valueDeserializer, Clock.SYSTEM, KafkaNetwork::create);
    }

    /** With the clock and the network injected, so that tests drive both. */
    LanesConsumer(Map<String, Object> configs, Deserializer<K> keyDeserializer, Deserializer<V> valueDeserializer,
                  Clock clock, ConsumerAssembly.NetworkFactory networkFactory) {
        this.clock = clock;
        LanesConsumerConfig lanesConfig = new LanesConsumerConfig(LanesConsumerConfig.lanesEntries(configs));
        Map<String, Object> consumerSettings = LanesConsumerConfig.consumerEntries(configs);
        Object configuredClientId = consumerSettings.get(ConsumerConfig.CLIENT_ID_CONFIG);
        if (configuredClientId == null || configuredClientId.toString().isEmpty()) {
            consumerSettings.put(ConsumerConfig.CLIENT_ID_CONFIG, "lanes-consumer-" + CLIENT_SEQUENCE.getAndIncrement());
        }
        consumerSettings.putIfAbsent(ConsumerConfig.RECEIVE_BUFFER_CONFIG, LanesConsumerConfig.DEFAULT_RECEIVE_BUFFER_BYTES);
        ConsumerConfig config = ConsumerSettingsLog.parse(
                ConsumerConfig.appendDeserializerToConfig(consumerSettings, keyDeserializer, valueDeserializer), lanesConfig);
        this.clientId = config.getString(ConsumerConfig.CLIENT_ID_CONFIG);
        this.groupId = Optional.ofNullable(config.getString(ConsumerConfig.GROUP_ID_CONFIG)).filter(id -> !id.isEmpty());
        boolean autoCommitAsked = config.getBoolean(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG);
        if (groupId.isEmpty() && autoCommitAsked && config.originals().containsKey(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG)) {
            throw new InvalidConfigurationException(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG
                    + " cannot be set to true when no group.id is configured");
        }
        boolean autoCommitEnabled = groupId.isPresent() && autoCommitAsked;
        this.defaultApiTimeoutMs = config.getInt(ConsumerConfig.DEFAULT_API_TIMEOUT_MS_CONFIG);
        IsolationLevel isolationLevel = IsolationLevel.valueOf(
                config.getString(ConsumerConfig.ISOLATION_LEVEL_CONFIG).toUpperCase(Locale.ROOT));
        this.readCommitted = isolationLevel == IsolationLevel.READ_COMMITTED;

        ConsumerAssembly<K, V> parts = new ConsumerAssembly<>(config, lanesConfig, clientId, groupId, autoCommitEnabled,
                isolationLevel, defaultApiTimeoutMs, keyDeserializer, valueDeserializer, clock, networkFactory);
        this.metrics = parts.metrics;
        this.telemetry = parts.telemetry;
        this.lanesMetrics = parts.lanesMetrics;
        this.subscriptions = parts.subscriptions;
        this.collector = parts.collector;
        this.networkThread = parts.networkThread;
        this.membership = parts.membership;
        this.rebalanceListener = parts.rebalanceListener;
        this.gate = parts.gate;
        this.calls = parts.calls;
        this.commits = parts.commits;
        this.groupExit = parts.groupExit;
        this.pollLoop = parts.pollLoop;
        this.closer = parts.closer;
        this.lookups = parts.lookups;
    }

    /** Properties as a configuration map; a key that is not a string is refused, as KafkaConsumer does. */
    private static Map<String, Object> propertiesToMap(Properties properties) {
        Map<String, Object> map = new HashMap<>(properties.size());
        for (Map.Entry<Object, Object> entry : properties.entrySet()) {
            if (!(entry.getKey() instanceof String key)) {
                throw new ConfigException(String.valueOf(entry.getKey()), entry.getValue(), "Key must be a string.");
            }
            map.put(key, entry.getValue());
        }
        return map;
    }

    // ---------------------------------------------------------------- assignment

    @Override
    public Set<TopicPartition> assignment() {
        return gate.call(() -> Collections.unmodifiableSet(subscriptions.assignedPartitions()));
    }

    @Override
    public Set<String> subscription() {
        return gate.call(() -> subscriptions.hasGroupSubscription() ? Set.copyOf(subscriptions.subscribedTopics()) : Set.of());
    }

    @Override
    public void assign(Collection<TopicPartition> partitions) {
        gate.run(() -> {
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
        });
    }

    @Override
    public void unsubscribe() {
        gate.run(() -> {
            subscriptions.markConsumed();
            if (subscriptions.hasGroupSubscription()) {
                long deadlineMs = clock.deadlineAfter(defaultApiTimeoutMs);
                groupExit.releasePartitions(deadlineMs);
                groupExit.leave(deadlineMs);
            }
            collector.drop(subscriptions.unsubscribe());
            rebalanceListener.use(NO_OP_LISTENER);
        });
    }

    @Override
    public void subscribe(Collection<String> topics) {
        subscribe(topics, NO_OP_LISTENER);
    }

    @Override
    public void subscribe(Collection<String> topics, ConsumerRebalanceListener listener) {
        requireListener(listener);
        gate.enter();
        try {
            requireGroup("subscribe to topics");
            if (topics == null) {
                throw new IllegalArgumentException("Topic collection to subscribe to cannot be null");
            }
            if (topics.isEmpty()) {
                gate.exit();
                try {
                    unsubscribe();
                } finally {
                    gate.enterEvenIfClosed();
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
            gate.exit();
        }
    }

    @Override
    public void subscribe(Pattern pattern, ConsumerRebalanceListener listener) {
        requireListener(listener);
        gate.enter();
        try {
            requireGroup("subscribe to topics");
            if (pattern == null || pattern.pattern().isEmpty()) {
                throw new IllegalArgumentException("Topic pattern to subscribe to cannot be " + (pattern == null ? "null" : "empty"));
            }
            startSubscription(listener, () -> subscriptions.subscribe(pattern));
        } finally {
            gate.exit();
        }
    }

    @Override
    public void subscribe(Pattern pattern) {
        subscribe(pattern, NO_OP_LISTENER);
    }

    @Override
    public void subscribe(SubscriptionPattern pattern, ConsumerRebalanceListener listener) {
        requireListener(listener);
        gate.enter();
        try {
            requireGroup("subscribe to topics");
            if (pattern == null || pattern.pattern().isEmpty()) {
                throw new IllegalArgumentException("Topic pattern to subscribe to cannot be " + (pattern == null ? "null" : "empty"));
            }
            startSubscription(listener, () -> subscriptions.subscribeBrokerPattern(pattern.pattern()));
        } finally {
            gate.exit();
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
        calls.submitBlocking(event);
    }

    // ---------------------------------------------------------------- poll

    @Override
    public ConsumerRecords<K, V> poll(Duration timeout) {
        gate.enter();
        try {
            long timeoutNanos = requireNonNegative(timeout, "timeout").toNanos();
            if (!subscriptions.hasGroupSubscription() && subscriptions.assignedPartitions().isEmpty()) {
                throw new IllegalStateException("Consumer is not subscribed to any topics or assigned any partitions");
            }
            return pollLoop.poll(timeoutNanos);
        } finally {
            gate.exit();
        }
    }

    // ---------------------------------------------------------------- commits

    @Override
    public void commitSync() {
        commitSync(Duration.ofMillis(defaultApiTimeoutMs));
    }

    @Override
    public void commitSync(Duration timeout) {
        gate.run(() -> commitSyncChecked(subscriptions.allConsumed(), timeout));
    }

    @Override
    public void commitSync(Map<TopicPartition, OffsetAndMetadata> offsets) {
        commitSync(offsets, Duration.ofMillis(defaultApiTimeoutMs));
    }

    @Override
    public void commitSync(Map<TopicPartition, OffsetAndMetadata> offsets, Duration timeout) {
        gate.run(() -> commitSyncChecked(new HashMap<>(offsets), timeout));
    }

    /** The checks of every commitSync, in KafkaConsumer's order, then the commit. */
    private void commitSyncChecked(Map<TopicPartition, OffsetAndMetadata> offsets, Duration timeout) {
        long deadlineMs = clock.deadlineAfter(requireNonNegative(timeout, "timeout").toMillis());
        requireGroup("commit offsets");
        commits.commitSync(offsets, deadlineMs);
    }

    @Override
    public void commitAsync() {
        commitAsync(null);
    }

    @Override
    public void commitAsync(OffsetCommitCallback callback) {
        gate.run(() -> {
            Map<TopicPartition, OffsetAndMetadata> offsets = subscriptions.allConsumed();
            requireGroup("commit offsets");
            commits.commitAsync(offsets, callback);
        });
    }

    @Override
    public void commitAsync(Map<TopicPartition, OffsetAndMetadata> offsets, OffsetCommitCallback callback) {
        gate.run(() -> {
            Map<TopicPartition, OffsetAndMetadata> copy = new HashMap<>(offsets);
            requireGroup("commit offsets");
            commits.commitAsync(copy, callback);
        });
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
        gate.run(() -> {
            subscriptions.seek(partition, offset, leaderEpoch);
            collector.drop(Set.of(partition));
            networkThread.wakeup();
        });
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
        gate.run(() -> {
            if (partitions == null) {
                throw new IllegalArgumentException("Partitions collection cannot be null");
            }
            Collection<TopicPartition> targets = partitions.isEmpty() ? subscriptions.assignedPartitions() : partitions;
            subscriptions.requestReset(targets, strategy);
            collector.drop(targets);
            networkThread.wakeup();
        });
    }

    @Override
    public long position(TopicPartition partition) {
        return position(partition, Duration.ofMillis(defaultApiTimeoutMs));
    }

    @Override
    public long position(TopicPartition partition, Duration timeout) {
        return gate.call(() -> {
            if (!subscriptions.isAssigned(partition)) {
                throw new IllegalStateException("You can only check the position for partitions assigned to this consumer.");
            }
            OptionalLong known = subscriptions.position(partition);
            return known.isPresent() ? known.getAsLong()
                    : lookups.position(partition, requireNonNegative(timeout, "timeout").toMillis());
        });
    }

    @Override
    public Map<TopicPartition, OffsetAndMetadata> committed(Set<TopicPartition> partitions) {
        return committed(partitions, Duration.ofMillis(defaultApiTimeoutMs));
    }

    @Override
    public Map<TopicPartition, OffsetAndMetadata> committed(Set<TopicPartition> partitions, Duration timeout) {
        return gate.call(() -> {
            requireGroup("read committed offsets");
            if (partitions.isEmpty()) {
                return Map.of();
            }
            long startNanos = clock.nanoseconds();
            try {
                return lookups.committed(partitions, requireNonNegative(timeout, "timeout").toMillis());
            } finally {
                lanesMetrics.consumerThread().committedTime(clock.nanoseconds() - startNanos);
            }
        });
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
        return gate.call(() -> {
            if (partitions.isEmpty()) {
                return new HashMap<>(); // nothing to look up needs no valid timeout, as with KafkaConsumer
            }
            return lookups.offsets(partitions, timestamp, requireNonNegative(timeout, "timeout").toMillis(), operation);
        });
    }

    @Override
    public Map<TopicPartition, OffsetAndTimestamp> offsetsForTimes(Map<TopicPartition, Long> timestampsToSearch) {
        return offsetsForTimes(timestampsToSearch, Duration.ofMillis(defaultApiTimeoutMs));
    }

    @Override
    public Map<TopicPartition, OffsetAndTimestamp> offsetsForTimes(Map<TopicPartition, Long> timestampsToSearch,
                                                                   Duration timeout) {
        return gate.call(() -> {
            timestampsToSearch.forEach((partition, timestamp) -> {
                if (timestamp == null || timestamp < 0) {
                    throw new IllegalArgumentException("The target time for partition " + partition + " is "
                            + timestamp + ". The target time cannot be negative.");
                }
            });
            if (timestampsToSearch.isEmpty()) {
                return new HashMap<>(); // nothing to look up needs no valid timeout, as with KafkaConsumer
            }
            return lookups.offsetsForTimes(timestampsToSearch, requireNonNegative(timeout, "timeout").toMillis());
        });
    }

    @Override
    public OptionalLong currentLag(TopicPartition partition) {
        return gate.call(() -> subscriptions.lag(partition, readCommitted));
    }

    // ---------------------------------------------------------------- metadata

    @Override
    public List<PartitionInfo> partitionsFor(String topic) {
        return partitionsFor(topic, Duration.ofMillis(defaultApiTimeoutMs));
    }

    @Override
    public List<PartitionInfo> partitionsFor(String topic, Duration timeout) {
        return gate.call(() -> {
            if (topic == null || topic.isBlank()) {
                throw new IllegalArgumentException("Topic must not be null or empty");
            }
            return lookups.topics(Optional.of(topic), requireNonNegative(timeout, "timeout").toMillis(), "partitionsFor")
                    .getOrDefault(topic, List.of());
        });
    }

    @Override
    public Map<String, List<PartitionInfo>> listTopics() {
        return listTopics(Duration.ofMillis(defaultApiTimeoutMs));
    }

    @Override
    public Map<String, List<PartitionInfo>> listTopics(Duration timeout) {
        return gate.call(() -> lookups.topics(Optional.empty(), requireNonNegative(timeout, "timeout").toMillis(), "listTopics"));
    }

    // ---------------------------------------------------------------- pause, metrics, group

    @Override
    public void pause(Collection<TopicPartition> partitions) {
        gate.run(() -> subscriptions.pause(partitions));
    }

    @Override
    public void resume(Collection<TopicPartition> partitions) {
        gate.run(() -> {
            subscriptions.resume(partitions);
            networkThread.wakeup();
        });
    }

    @Override
    public Set<TopicPartition> paused() {
        return gate.call(() -> Collections.unmodifiableSet(subscriptions.pausedPartitions()));
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
        return gate.call(() -> {
            requireGroup("get the group metadata");
            return membership.get().groupMetadata();
        });
    }

    @Override
    public void enforceRebalance() {
        enforceRebalance(null);
    }

    @Override
    public void enforceRebalance(String reason) {
        gate.run(() -> {
            if (!subscriptions.hasGroupSubscription()) {
                throw new IllegalStateException("Tried to force a rebalance but the consumer does not have a group subscription");
            }
            // The consumer group protocol (KIP-848) has no member-triggered rebalance: the coordinator
            // reassigns when the group or its subscriptions change.
            log.warn("enforceRebalance({}) has no effect with the consumer group protocol", reason == null ? "" : reason);
        });
    }

    // ---------------------------------------------------------------- wakeup and close

    @Override
    public void wakeup() {
        gate.wakeup();
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
        closer.close(timeout.toMillis());
    }

    // ---------------------------------------------------------------- argument checks

    private void requireGroup(String operation) {
        if (groupId.isEmpty()) {
            throw new InvalidGroupIdException("To " + operation + ", the consumer must be configured with a group.id");
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
        return gate.isClosed();
    }
}
