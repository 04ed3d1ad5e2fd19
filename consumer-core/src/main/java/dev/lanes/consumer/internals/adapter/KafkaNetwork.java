package dev.lanes.consumer.internals.adapter;

import dev.lanes.consumer.internals.common.Clock;
import org.apache.kafka.clients.ApiVersions;
import org.apache.kafka.clients.ClientRequest;
import org.apache.kafka.clients.ClientResponse;
import org.apache.kafka.clients.ClientUtils;
import org.apache.kafka.clients.LeastLoadedNode;
import org.apache.kafka.clients.Metadata;
import org.apache.kafka.clients.NetworkClient;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.common.Cluster;
import org.apache.kafka.common.ClusterResourceListener;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.errors.AuthenticationException;
import org.apache.kafka.common.errors.DisconnectException;
import org.apache.kafka.common.errors.TimeoutException;
import org.apache.kafka.common.internals.ClusterResourceListeners;
import org.apache.kafka.common.metrics.Metrics;
import org.apache.kafka.common.utils.LogContext;
import org.apache.kafka.common.utils.Time;
import org.apache.kafka.common.utils.Utils;

import java.net.InetSocketAddress;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.BiConsumer;
import java.util.function.Supplier;

/**
 * The network layer of one consumer: one kafka-clients {@link NetworkClient} with its cluster metadata
 * and fetch sessions, behind a narrow interface (so that it could be replaced, R13). Every method runs
 * on the background thread, except {@link #wakeup()}, which any thread may call.
 *
 * <p>One connection per broker (R6): coordinator requests go to the coordinator's own node id, so they
 * share the broker's connection, and the bootstrap connection is closed as soon as metadata names the
 * real brokers.
 */
public final class KafkaNetwork implements Network {

    /** Same limit as KafkaConsumer: enough for pipelining, small enough to notice a stuck broker. */
    private static final int MAX_IN_FLIGHT_PER_CONNECTION = 100;
    /** Metric group prefix of KafkaConsumer, so that the NetworkClient's metrics look the same. */
    private static final String METRIC_GROUP_PREFIX = "consumer";

    private final NetworkClient client;
    private final LanesMetadata metadata;
    private final FetchSessions fetchSessions;
    private final int bootstrapAddresses;
    private int closedBootstrapAtVersion = -1;

    private KafkaNetwork(NetworkClient client, LanesMetadata metadata, FetchSessions fetchSessions,
                         int bootstrapAddresses) {
        this.client = client;
        this.metadata = metadata;
        this.fetchSessions = fetchSessions;
        this.bootstrapAddresses = bootstrapAddresses;
    }

    /**
     * Creates the network layer from validated consumer settings (security settings included); {@code clusterListener}
     * hears the cluster's identity from every metadata update.
     */
    public static KafkaNetwork create(ConsumerConfig config, Metrics metrics, Clock clock,
                                      ClusterResourceListener clusterListener, ClientTelemetry telemetry) {
        ClusterResourceListeners clusterListeners = new ClusterResourceListeners();
        clusterListeners.maybeAdd(clusterListener);
        String clientId = config.getString(ConsumerConfig.CLIENT_ID_CONFIG);
        LogContext logContext = new LogContext("[Lanes consumer clientId=" + clientId + "] ");
        LanesMetadata metadata = new LanesMetadata(
                config.getLong(ConsumerConfig.RETRY_BACKOFF_MS_CONFIG),
                config.getLong(ConsumerConfig.RETRY_BACKOFF_MAX_MS_CONFIG),
                config.getLong(ConsumerConfig.METADATA_MAX_AGE_CONFIG),
                config.getBoolean(ConsumerConfig.ALLOW_AUTO_CREATE_TOPICS_CONFIG),
                logContext, clusterListeners);
        List<InetSocketAddress> addresses = ClientUtils.parseAndValidateAddresses(config);
        metadata.bootstrap(addresses);
        Time time = new ClockTime(clock);
        NetworkClient client = ClientUtils.createNetworkClient(config, metrics, METRIC_GROUP_PREFIX, logContext,
                new ApiVersions(), time, MAX_IN_FLIGHT_PER_CONNECTION, metadata, null, telemetry.sender());
        return new KafkaNetwork(client, metadata, new FetchSessions(logContext, metadata), addresses.size());
    }

    /** Whether a request can be sent to the node now; starts connecting when it cannot. */
    @Override
    public boolean ready(Node node, long nowMs) {
        return client.ready(node, nowMs);
    }

    @Override
    public Optional<RuntimeException> connectionFailure(Node node) {
        if (!client.connectionFailed(node)) {
            return Optional.empty();
        }
        AuthenticationException authentication = client.authenticationException(node);
        return Optional.of(authentication != null ? authentication
                : new DisconnectException("The connection to node " + node.id() + " (" + node.host() + ":" + node.port()
                        + ") failed; the request is retried after the reconnect back-off"));
    }

    /** How long until a connection attempt to {@code node} may be made (reconnect back-off). */
    @Override
    public long connectionDelay(Node node, long nowMs) {
        return client.connectionDelay(node, nowMs);
    }

    /**
     * Sends a request. The callback runs on this thread, inside a later {@link #poll}, with the parsed
     * result or the error (disconnect, timeout after {@code timeoutMs}, unsupported version, or the
     * request-level error the response carried).
     */
    @Override
    public <R> void send(Node node, OutboundRequest<R> request, long nowMs, int timeoutMs,
                         BiConsumer<R, Throwable> callback) {
        ClientRequest clientRequest = client.newClientRequest(Integer.toString(node.id()), request.builder(), nowMs,
                true, Math.max(1, timeoutMs), response -> complete(request, response, callback));
        client.send(clientRequest, nowMs);
    }

    private static <R> void complete(OutboundRequest<R> request, ClientResponse response, BiConsumer<R, Throwable> callback) {
        Throwable error = null;
        R result = null;
        if (response.authenticationException() != null) {
            error = response.authenticationException();
        } else if (response.versionMismatch() != null) {
            error = response.versionMismatch();
        } else if (response.wasTimedOut()) {
            error = new TimeoutException(request.name() + " request to node " + response.destination() + " timed out");
        } else if (response.wasDisconnected()) {
            error = new DisconnectException("Connection to node " + response.destination() + " was lost while "
                    + request.name() + " was in flight");
        } else {
            try {
                result = request.parse(response.responseBody(), response.requestHeader().apiVersion());
            } catch (RuntimeException e) {
                error = e;
            }
        }
        callback.accept(result, error);
    }

    /**
     * Does network I/O, blocking up to {@code timeoutMs} unless woken up, and runs the callbacks of
     * completed requests. Then closes the bootstrap connection if metadata has named the real brokers.
     */
    @Override
    public void poll(long timeoutMs, long nowMs) {
        client.poll(Math.max(0, timeoutMs), nowMs);
        closeBootstrapConnections();
    }

    private void closeBootstrapConnections() {
        int version = metadata.updateVersion();
        if (version == closedBootstrapAtVersion || metadata.fetch().isBootstrapConfigured()) {
            return;
        }
        // Bootstrap addresses carry node ids -1, -2, ...; once real node ids are known, a connection under a
        // bootstrap id is a second socket to a broker that is also reached by its real id.
        boolean allClosed = true;
        for (int id = -1; id >= -bootstrapAddresses; id--) {
            String nodeId = Integer.toString(id);
            if (client.inFlightRequestCount(nodeId) > 0) {
                allClosed = false;
            } else {
                client.close(nodeId);
            }
        }
        if (allClosed) {
            closedBootstrapAtVersion = version;
        }
    }

    /** Wakes a blocked {@link #poll}. Any thread. */
    @Override
    public void wakeup() {
        client.wakeup();
    }

    /** The broker with the fewest requests in flight, preferring connected ones; empty if none is known. */
    @Override
    public Optional<Node> leastLoadedNode(long nowMs) {
        LeastLoadedNode node = client.leastLoadedNode(nowMs);
        return Optional.ofNullable(node.node());
    }

    /** The current leader of a partition, if metadata knows it. */
    @Override
    public Optional<Node> leader(TopicPartition partition) {
        Metadata.LeaderAndEpoch leaderAndEpoch = metadata.currentLeader(partition);
        return leaderAndEpoch.leader;
    }

    @Override
    public Optional<Node> replicaIfOnline(TopicPartition partition, int nodeId) {
        return metadata.fetch().nodeIfOnline(partition, nodeId);
    }

    @Override
    public long metadataMaxAgeMs() {
        return metadata.metadataExpireMs();
    }

    @Override
    public Optional<Integer> leaderEpoch(TopicPartition partition) {
        return metadata.currentLeader(partition).epoch;
    }

    /** Keeps metadata for these topics (the assigned ones). */
    @Override
    public void metadataTopics(Set<String> topics) {
        metadata.topics(topics);
    }

    /** Asks for a metadata refresh (a leader moved or a topic is unknown). */
    @Override
    public void metadataAllTopics(boolean all) {
        metadata.allTopics(all);
    }

    @Override
    public Map<String, Uuid> topicIds() {
        return metadata.topicIds();
    }

    @Override
    public Map<Uuid, String> topicNames() {
        return metadata.topicNames();
    }

    @Override
    public Set<String> knownTopics() {
        Cluster cluster = metadata.fetch();
        Set<String> topics = new java.util.HashSet<>(cluster.topics());
        topics.removeAll(cluster.internalTopics());
        return topics;
    }

    @Override
    public void requestMetadataUpdate() {
        metadata.requestUpdate(false);
    }

        @Override
    public void maybeThrowMetadataErrorInto(java.util.function.Consumer<RuntimeException> sink) {
        try {
            metadata.maybeThrowAnyException();
        } catch (RuntimeException e) {
            sink.accept(e);
        }
    }

    @Override
    public OutboundRequest<FetchSessions.FetchResult> fetchRequest(int nodeId,
                                                                  Map<TopicPartition, FetchSessions.PartitionFetch> partitions,
                                                                  FetchSessions.FetchLimits limits) {
        return fetchSessions.fetchRequest(nodeId, partitions, limits);
    }

    @Override
    public void fetchFailed(int nodeId, Throwable error) {
        fetchSessions.fetchFailed(nodeId, error);
    }

    @Override
    public int inFlightRequestCount() {
        return client.inFlightRequestCount();
    }

    @Override
    public void close() {
        Utils.closeQuietly(client, "NetworkClient");
        Utils.closeQuietly(metadata, "Metadata");
    }

    /** Kafka's {@link Time} over the engine's clock, so tests that control the clock control the network too. */
    private static final class ClockTime implements Time {
        private final Clock clock;

        ClockTime(Clock clock) {
            this.clock = clock;
        }

        @Override
        public long milliseconds() {
            return clock.milliseconds();
        }

        @Override
        public long nanoseconds() {
            return clock.nanoseconds();
        }

        @Override
        public void sleep(long ms) {
            Utils.sleep(ms);
        }

        @Override
        public void waitObject(Object obj, Supplier<Boolean> condition, long deadlineMs) throws InterruptedException {
            Time.SYSTEM.waitObject(obj, condition, deadlineMs);
        }
    }
}
