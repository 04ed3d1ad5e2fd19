package dev.lanes.consumer.internals.adapter;

import org.apache.kafka.common.Node;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.requests.AbstractRequest;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.BiConsumer;
import java.util.function.Consumer;

/**
 * A {@link Network} for engine tests: records every send in order, lets the test decide which nodes are
 * ready, and lets it complete sent requests by invoking their stored callbacks.
 */
public final class FakeNetwork implements Network {

    public static final Node NODE_0 = new Node(0, "localhost", 9092);
    public static final Node NODE_1 = new Node(1, "localhost", 9093);

    /** One request handed to {@link #send}. */
    public static final class Sent<R> {
        public final Node node;
        public final OutboundRequest<R> request;
        public final int timeoutMs;
        private final BiConsumer<R, Throwable> callback;
        private boolean completed;

        Sent(Node node, OutboundRequest<R> request, int timeoutMs, BiConsumer<R, Throwable> callback) {
            this.node = node;
            this.request = request;
            this.timeoutMs = timeoutMs;
            this.callback = callback;
        }

        public String name() {
            return request.name();
        }

        @SuppressWarnings("unchecked")
        public void complete(Object result, Throwable error) {
            completed = true;
            callback.accept((R) result, error);
        }

        public boolean isCompleted() {
            return completed;
        }

        /** The Kafka request this would put on the wire, for assertions on its content. */
        public AbstractRequest build() {
            return FakeNetwork.build(request);
        }
    }

    private final List<Sent<?>> sent = new ArrayList<>();
    private final Set<Integer> readyNodes = new HashSet<>();
    private final Map<Integer, RuntimeException> failedConnections = new java.util.HashMap<>();
    private final List<Long> polls = new ArrayList<>();
    private volatile RuntimeException pollFailure;
    private Runnable onPoll = () -> { };
    private volatile boolean closed;
    private volatile int wakeups;
    private Optional<Node> leastLoaded = Optional.of(NODE_0);

    /** The Kafka request an OutboundRequest builds (its builder is package-private). */
    public static AbstractRequest build(OutboundRequest<?> request) {
        return request.builder().build();
    }

    public FakeNetwork ready(Node node, boolean ready) {
        if (ready) {
            readyNodes.add(node.id());
        } else {
            readyNodes.remove(node.id());
        }
        return this;
    }

    public void failPollWith(RuntimeException error) {
        this.pollFailure = error;
    }

    /** Runs {@code action} in every network poll, as a broker's answer or the passing of time would arrive there. */
    public FakeNetwork onPoll(Runnable action) {
        this.onPoll = action;
        return this;
    }

    public List<Sent<?>> sent() {
        return sent;
    }

    public List<String> sentNames() {
        return sent.stream().map(Sent::name).toList();
    }

    public List<Long> polls() {
        return polls;
    }

    public boolean isClosed() {
        return closed;
    }

    @Override
    public boolean ready(Node node, long nowMs) {
        return readyNodes.contains(node.id());
    }

    @Override
    public Optional<RuntimeException> connectionFailure(Node node) {
        return Optional.ofNullable(failedConnections.get(node.id()));
    }

    /** The next connection attempts to {@code nodeId} fail with {@code error} (null: they succeed again). */
    public FakeNetwork failConnections(int nodeId, RuntimeException error) {
        if (error == null) {
            failedConnections.remove(nodeId);
        } else {
            failedConnections.put(nodeId, error);
        }
        return this;
    }

    @Override
    public long connectionDelay(Node node, long nowMs) {
        return Long.MAX_VALUE;
    }

    @Override
    public <R> void send(Node node, OutboundRequest<R> request, long nowMs, int timeoutMs, BiConsumer<R, Throwable> callback) {
        sent.add(new Sent<>(node, request, timeoutMs, callback));
    }

    @Override
    public void poll(long timeoutMs, long nowMs) {
        RuntimeException failure = pollFailure;
        if (failure != null) {
            throw failure;
        }
        polls.add(timeoutMs);
        onPoll.run();
    }

    @Override
    public void wakeup() {
        wakeups++;
    }

    @Override
    public Optional<Node> leastLoadedNode(long nowMs) {
        return leastLoaded;
    }

    @Override
    public Optional<Node> leader(TopicPartition partition) {
        onLeaderLookup.accept(partition);
        return Optional.of(NODE_0);
    }

    private java.util.function.Consumer<TopicPartition> onLeaderLookup = partition -> { };

    /**
     * Runs {@code action} each time a partition's leader is looked up: lets a test act as the application thread does,
     * between the moment a request manager reads the positions and the moment it builds a request from them.
     */
    public FakeNetwork onLeaderLookup(java.util.function.Consumer<TopicPartition> action) {
        onLeaderLookup = action;
        return this;
    }

    @Override
    public Optional<Integer> leaderEpoch(TopicPartition partition) {
        return Optional.ofNullable(leaderEpochs.get(partition));
    }

    private final Map<TopicPartition, Integer> leaderEpochs = new java.util.HashMap<>();

    /** The epoch of the partition's leader, as metadata would name it (none unless set). */
    public FakeNetwork leaderEpoch(TopicPartition partition, int epoch) {
        leaderEpochs.put(partition, epoch);
        return this;
    }

    @Override
    public Optional<Node> replicaIfOnline(TopicPartition partition, int nodeId) {
        return Optional.ofNullable(replicas.get(nodeId));
    }

    @Override
    public long metadataMaxAgeMs() {
        return 300_000;
    }

    private final Map<Integer, Node> replicas = new java.util.HashMap<>();

    /** A follower that metadata lists online for every partition. */
    public FakeNetwork replica(Node node) {
        replicas.put(node.id(), node);
        return this;
    }

    @Override
    public void metadataTopics(Set<String> topics) {
    }

    @Override
    public void metadataAllTopics(boolean all) {
    }

    private volatile java.util.Map<String, org.apache.kafka.common.Uuid> topicIds = java.util.Map.of();

    /** Sets the topic ids (and so the names by id) that metadata knows; group tests need them. */
    public FakeNetwork topicIds(java.util.Map<String, org.apache.kafka.common.Uuid> topicIds) {
        this.topicIds = java.util.Map.copyOf(topicIds);
        return this;
    }

    @Override
    public java.util.Map<String, org.apache.kafka.common.Uuid> topicIds() {
        return topicIds;
    }

    @Override
    public java.util.Map<org.apache.kafka.common.Uuid, String> topicNames() {
        java.util.Map<org.apache.kafka.common.Uuid, String> names = new java.util.HashMap<>();
        topicIds.forEach((name, id) -> names.put(id, name));
        return names;
    }

    @Override
    public Set<String> knownTopics() {
        return Set.of();
    }

    @Override
    public void requestMetadataUpdate() {
        metadataUpdatesRequested++;
    }

    private int metadataUpdatesRequested;

    /** How many times a metadata refresh was asked for. */
    public int metadataUpdatesRequested() {
        return metadataUpdatesRequested;
    }

    @Override
    public void maybeThrowMetadataErrorInto(Consumer<RuntimeException> sink) {
    }

    @Override
    public OutboundRequest<FetchSessions.FetchResult> fetchRequest(int nodeId,
                                                                  Map<TopicPartition, FetchSessions.PartitionFetch> partitions,
                                                                  FetchSessions.FetchLimits limits) {
        fetches.add(new java.util.LinkedHashMap<>(partitions));
        fetchLimits.add(limits);
        return new OutboundRequest<>("Fetch", null, (response, version) -> {
            throw new UnsupportedOperationException("fake fetches are completed by the test");
        });
    }

    private final List<Map<TopicPartition, FetchSessions.PartitionFetch>> fetches = new java.util.ArrayList<>();
    private final List<FetchSessions.FetchLimits> fetchLimits = new java.util.ArrayList<>();

    /** The limits (wait, sizes) of every Fetch request built, in order. */
    public List<FetchSessions.FetchLimits> fetchLimits() {
        return fetchLimits;
    }

    /** The partitions and offsets of every Fetch request built, in order. */
    public List<Map<TopicPartition, FetchSessions.PartitionFetch>> fetches() {
        return fetches;
    }

    @Override
    public void fetchFailed(int nodeId, Throwable error) {
    }

    @Override
    public int inFlightRequestCount() {
        return (int) sent.stream().filter(s -> !s.isCompleted()).count();
    }

    @Override
    public void close() {
        closed = true;
    }
}
