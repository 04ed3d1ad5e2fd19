package dev.lanes.consumer;

import dev.lanes.consumer.internals.adapter.ClientMetrics;
import dev.lanes.consumer.internals.adapter.ClientTelemetry;
import dev.lanes.consumer.internals.adapter.Network;
import dev.lanes.consumer.internals.app.BackgroundCalls;
import dev.lanes.consumer.internals.app.BackgroundWakeup;
import dev.lanes.consumer.internals.app.CallGate;
import dev.lanes.consumer.internals.app.Closer;
import dev.lanes.consumer.internals.app.Commits;
import dev.lanes.consumer.internals.app.FetchCollector;
import dev.lanes.consumer.internals.app.GroupExit;
import dev.lanes.consumer.internals.app.Lookups;
import dev.lanes.consumer.internals.app.Interceptors;
import dev.lanes.consumer.internals.app.PollLoop;
import dev.lanes.consumer.internals.app.RebalanceListenerInvoker;
import dev.lanes.consumer.internals.background.BackgroundSide;
import dev.lanes.consumer.internals.common.Clock;
import dev.lanes.consumer.internals.common.Closeables;
import dev.lanes.consumer.internals.metrics.LanesConsumerMetrics;
import dev.lanes.consumer.internals.shared.BackgroundHandle;
import dev.lanes.consumer.internals.shared.ClusterIdentity;
import dev.lanes.consumer.internals.shared.FetchBuffer;
import dev.lanes.consumer.internals.shared.Lane;
import dev.lanes.consumer.internals.shared.LaneName;
import dev.lanes.consumer.internals.shared.MembershipView;
import dev.lanes.consumer.internals.shared.OffsetResetStrategy;
import dev.lanes.consumer.internals.shared.OwnCommits;
import dev.lanes.consumer.internals.shared.PollTracker;
import dev.lanes.consumer.internals.shared.RebalanceCallbackQueue;
import dev.lanes.consumer.internals.shared.SubscriptionState;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerInterceptor;
import org.apache.kafka.common.ClusterResourceListener;
import org.apache.kafka.common.IsolationLevel;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.metrics.Metrics;
import org.apache.kafka.common.serialization.Deserializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The parts of one {@link LanesConsumer}, built from its parsed configuration: the metrics, the state both
 * threads share (lanes, subscriptions, fetch buffer), the background side with its thread, and the
 * application-side parts the consumer hands its calls to. Built once, by the consumer's constructor, which
 * checked the configuration; the background thread is started last. If anything fails, what was built is
 * released and the failure is thrown as a KafkaException.
 */
final class ConsumerAssembly<K, V> {

    /** The consumer's own logger, under which it has always said that it started. */
    private static final Logger log = LoggerFactory.getLogger(LanesConsumer.class);

    /** Builds the consumer's network once its metrics exist: {@code KafkaNetwork::create}, or a fake in tests. */
    interface NetworkFactory {
        Network create(ConsumerConfig config, Metrics metrics, Clock clock, ClusterResourceListener clusterListener,
                       ClientTelemetry telemetry);
    }

    final Metrics metrics;
    final ClientTelemetry telemetry;
    final LanesConsumerMetrics lanesMetrics;
    final SubscriptionState subscriptions;
    final FetchCollector<K, V> collector;
    final BackgroundHandle networkThread;
    final Optional<MembershipView> membership;
    final RebalanceListenerInvoker rebalanceListener;
    final CallGate gate;
    final BackgroundCalls calls;
    final Commits commits;
    final Lookups lookups;
    final GroupExit groupExit;
    final PollLoop<K, V> pollLoop;
    final Closer closer;

    @SuppressWarnings("unchecked")
    ConsumerAssembly(ConsumerConfig config, LanesConsumerConfig lanesConfig, String clientId, Optional<String> groupId,
                     boolean autoCommitEnabled, IsolationLevel isolationLevel, long defaultApiTimeoutMs,
                     Deserializer<K> keyDeserializer, Deserializer<V> valueDeserializer, Clock clock,
                     NetworkFactory networkFactory) {
        Metrics createdMetrics = null;
        Network network = null;
        try {
            if (keyDeserializer == null) {
                keyDeserializer = config.getConfiguredInstance(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, Deserializer.class);
                keyDeserializer.configure(config.originals(Map.of(ConsumerConfig.CLIENT_ID_CONFIG, clientId)), true);
            }
            if (valueDeserializer == null) {
                valueDeserializer = config.getConfiguredInstance(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, Deserializer.class);
                valueDeserializer.configure(config.originals(Map.of(ConsumerConfig.CLIENT_ID_CONFIG, clientId)), false);
            }
            Interceptors<K, V> interceptors = new Interceptors<>((List<ConsumerInterceptor<K, V>>) (List<?>)
                    config.getConfiguredInstances(ConsumerConfig.INTERCEPTOR_CLASSES_CONFIG, ConsumerInterceptor.class,
                            Map.of(ConsumerConfig.CLIENT_ID_CONFIG, clientId)));

            this.telemetry = ClientTelemetry.create(config, clientId);
            createdMetrics = ClientMetrics.create(config, clientId, telemetry);
            ClientMetrics.registerAppInfo(clientId, createdMetrics, clock.milliseconds());
            this.metrics = createdMetrics;
            this.lanesMetrics = new LanesConsumerMetrics(metrics, clientId);
            this.subscriptions = new SubscriptionState(
                    OffsetResetStrategy.parse(config.getString(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG)));
            Lane systemLane = new Lane(LaneName.SYSTEM, lanesConfig.getInt(LanesConsumerConfig.SYSTEM_LANE_CAPACITY_CONFIG), clock);
            Lane userLane = new Lane(LaneName.USER, lanesConfig.getInt(LanesConsumerConfig.USER_LANE_CAPACITY_CONFIG), clock);
            lanesMetrics.registerLane(LaneName.SYSTEM, systemLane::size, systemLane.capacity());
            lanesMetrics.registerLane(LaneName.USER, userLane::size, userLane.capacity());
            lanesMetrics.registerLag(() -> subscriptions.totalLag(isolationLevel == IsolationLevel.READ_COMMITTED));

            ClusterIdentity clusterIdentity = new ClusterIdentity();
            network = networkFactory.create(config, metrics, clock, clusterIdentity, telemetry);
            // The fetch buffer wakes the background thread when room is freed, and that thread is built with it.
            BackgroundWakeup wakeBackground = new BackgroundWakeup();
            FetchBuffer fetchBuffer = new FetchBuffer(lanesConfig.getLong(LanesConsumerConfig.FETCH_BUFFER_MAX_BYTES_CONFIG),
                    lanesConfig.getBoolean(LanesConsumerConfig.DECODE_AHEAD_CONFIG),
                    wakeBackground);
            lanesMetrics.registerFetchBuffer(fetchBuffer::bytes, fetchBuffer.maxBytes());
            this.collector = new FetchCollector<>(fetchBuffer, subscriptions, isolationLevel,
                    config.getBoolean(ConsumerConfig.CHECK_CRCS_CONFIG), keyDeserializer, valueDeserializer,
                    lanesMetrics.fetchManager());

            PollTracker pollTracker = new PollTracker(clock.milliseconds());
            RebalanceCallbackQueue rebalanceCallbacks = new RebalanceCallbackQueue(fetchBuffer, clock);
            OwnCommits ownCommits = new OwnCommits();
            BackgroundSide background = BackgroundSide.assemble(config,
                    lanesConfig.getInt(LanesConsumerConfig.USER_LANE_DRAIN_BUDGET_CONFIG), groupId, autoCommitEnabled,
                    isolationLevel, clock, network, lanesMetrics, subscriptions, systemLane, userLane, fetchBuffer,
                    lanesConfig.getBoolean(LanesConsumerConfig.DECODE_AHEAD_CONFIG), pollTracker, rebalanceCallbacks,
                    interceptors.isEmpty() ? offsets -> { } : ownCommits::add);
            this.membership = background.membership();
            this.networkThread = background.networkThread();
            wakeBackground.bind(networkThread);
            this.rebalanceListener = new RebalanceListenerInvoker(rebalanceCallbacks, systemLane, networkThread::wakeup,
                    collector::drop, clock, lanesMetrics);
            lanesMetrics.consumerThread().registerQueues(() -> systemLane.size() + userLane.size(),
                    rebalanceCallbacks::size, networkThread::unsentRequests);

            this.gate = new CallGate(clientId, networkThread, fetchBuffer::wakeup);
            this.calls = new BackgroundCalls(clientId, clock, userLane, networkThread, gate, lanesMetrics);
            this.commits = new Commits(clock, subscriptions, userLane, networkThread, calls, ownCommits,
                    interceptors::onCommit, lanesMetrics, defaultApiTimeoutMs, autoCommitEnabled);
            this.lookups = new Lookups(clock, subscriptions, calls);
            this.groupExit = new GroupExit(subscriptions, membership, rebalanceListener, commits, systemLane,
                    networkThread, calls);
            List<Object> clusterListenerCandidates = new ArrayList<>(List.of(keyDeserializer, valueDeserializer));
            clusterListenerCandidates.addAll(interceptors.all());
            clusterListenerCandidates.addAll(metrics.reporters());
            this.pollLoop = new PollLoop<>(clientId, clock, lanesMetrics, gate, networkThread, membership, subscriptions,
                    pollTracker, fetchBuffer, collector, commits, rebalanceListener, interceptors, clusterIdentity,
                    clusterListenerCandidates, config.getInt(ConsumerConfig.MAX_POLL_RECORDS_CONFIG),
                    lanesConfig.getLong(LanesConsumerConfig.HEARTBEAT_OVERDUE_HOLD_MS_CONFIG));
            Deserializer<K> keys = keyDeserializer;
            Deserializer<V> values = valueDeserializer;
            Runnable releaseResources = () -> {
                interceptors.closeQuietly();
                Closeables.closeQuietly(keys, "key deserializer");
                Closeables.closeQuietly(values, "value deserializer");
                ClientMetrics.unregisterAppInfo(clientId, metrics);
                Closeables.closeQuietly(metrics, "consumer metrics");
            };
            this.closer = new Closer(clientId, clock, gate, subscriptions, groupExit, commits, calls, systemLane,
                    networkThread, telemetry::initiateClose, () -> {
                        collector.clear();
                        fetchBuffer.clear();
                    }, releaseResources);
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
}
