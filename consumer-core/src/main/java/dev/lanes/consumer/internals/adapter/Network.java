package dev.lanes.consumer.internals.adapter;

import org.apache.kafka.common.Node;
import org.apache.kafka.common.TopicPartition;

import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.BiConsumer;

/**
 * What the engine needs from the network, kept narrow so the implementation can be swapped (R13) and
 * the engine tested without sockets. {@link KafkaNetwork} is the real one. Background thread only,
 * except {@link #wakeup()}.
 */
public interface Network extends AutoCloseable {

    boolean ready(Node node, long nowMs);

    /**
     * Why the last connection attempt to {@code node} failed, if the node is disconnected now: its
     * authentication failure, or a retriable {@link org.apache.kafka.common.errors.DisconnectException}.
     */
    Optional<RuntimeException> connectionFailure(Node node);

    long connectionDelay(Node node, long nowMs);

    <R> void send(Node node, OutboundRequest<R> request, long nowMs, int timeoutMs, BiConsumer<R, Throwable> callback);

    void poll(long timeoutMs, long nowMs);

    void wakeup();

    Optional<Node> leastLoadedNode(long nowMs);

    Optional<Node> leader(TopicPartition partition);

    Optional<Integer> leaderEpoch(TopicPartition partition);

    /** A broker that metadata knows and that hosts a replica of the partition online, by its id. */
    Optional<Node> replicaIfOnline(TopicPartition partition, int nodeId);

    /** How long metadata is kept before it is refreshed ({@code metadata.max.age.ms}). */
    long metadataMaxAgeMs();

    void metadataTopics(Set<String> topics);

    /** Keeps metadata for every topic (client-side patterns, topic ids not yet known) while true. */
    void metadataAllTopics(boolean all);

    /** Topic ids of the topics in metadata. */
    Map<String, org.apache.kafka.common.Uuid> topicIds();

    /** Topic names by id, of the topics in metadata. */
    Map<org.apache.kafka.common.Uuid, String> topicNames();

    /** Names of every non-internal topic in metadata (meaningful with {@link #metadataAllTopics}). */
    Set<String> knownTopics();

    void requestMetadataUpdate();

    /** Hands a fatal metadata error (such as topic authorization) to {@code sink}, once. */
    void maybeThrowMetadataErrorInto(java.util.function.Consumer<RuntimeException> sink);

    OutboundRequest<FetchSessions.FetchResult> fetchRequest(int nodeId,
                                                           Map<TopicPartition, FetchSessions.PartitionFetch> partitions,
                                                           FetchSessions.FetchLimits limits);

    void fetchFailed(int nodeId, Throwable error);

    int inFlightRequestCount();

    @Override
    void close();
}
