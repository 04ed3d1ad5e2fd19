package dev.lanes.consumer.internals.adapter;

import org.apache.kafka.clients.FetchSessionHandler;
import org.apache.kafka.clients.Metadata;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.IsolationLevel;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.message.FetchResponseData;
import org.apache.kafka.common.protocol.ApiKeys;
import org.apache.kafka.common.protocol.Errors;
import org.apache.kafka.common.requests.FetchRequest;
import org.apache.kafka.common.requests.FetchResponse;
import org.apache.kafka.common.utils.LogContext;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Builds Fetch requests over incremental fetch sessions (one per broker) and turns responses into
 * {@link FetchedPartition}s without decoding records. Background thread only.
 */
public final class FetchSessions {

    /**
     * What to fetch from one partition: the offset, the leader epoch metadata knows (so a stale leader is
     * fenced), and the leader epoch of the record before the offset, so that the leader can say where its log
     * diverges from what was read (KIP-320, as followers fetch).
     */
    public record PartitionFetch(long offset, Optional<Integer> leaderEpoch, Optional<Integer> lastFetchedEpoch) {

        public PartitionFetch(long offset, Optional<Integer> leaderEpoch) {
            this(offset, leaderEpoch, Optional.empty());
        }
    }

    /**
     * The leader's log diverges from what was read at {@code fetchOffset}: it ends {@code leaderEpoch} at
     * {@code endOffset} (both -1 when the leader knows no such epoch).
     */
    public record Divergence(long fetchOffset, int leaderEpoch, long endOffset) {
    }

    /** Limits of one Fetch request. */
    public record FetchLimits(int maxWaitMs, int minBytes, int maxBytes, int partitionMaxBytes,
                              IsolationLevel isolationLevel, String rackId) {
    }

    /**
     * What one Fetch response brought: data per partition, the partitions that failed (with the offset they were
     * fetched at), and the replicas the leader asked to be fetched from instead (KIP-392).
     */
    public record FetchResult(Map<TopicPartition, FetchedPartition> data, Map<TopicPartition, PartitionError> errors,
                              Map<TopicPartition, Integer> preferredReadReplicas, Map<TopicPartition, Divergence> divergences,
                              int throttleTimeMs) {

        public FetchResult(Map<TopicPartition, FetchedPartition> data, Map<TopicPartition, PartitionError> errors) {
            this(data, errors, Map.of(), Map.of());
        }

        public FetchResult(Map<TopicPartition, FetchedPartition> data, Map<TopicPartition, PartitionError> errors,
                           Map<TopicPartition, Integer> preferredReadReplicas, Map<TopicPartition, Divergence> divergences) {
            this(data, errors, preferredReadReplicas, divergences, 0);
        }
    }

    /** A partition's error in a Fetch response, and the offset the fetch asked for. */
    public record PartitionError(RuntimeException error, long fetchOffset) {
    }

    private final LogContext logContext;
    private final LanesMetadata metadata;
    private final Map<Integer, FetchSessionHandler> sessions = new HashMap<>();
    /** Learnt from every fetch of this consumer, so that each new fetch's first batch is decompressed once. */
    private final DecompressedSizes decompressedSizes = new DecompressedSizes();

    FetchSessions(LogContext logContext, LanesMetadata metadata) {
        this.logContext = logContext;
        this.metadata = metadata;
    }

    /** A Fetch request to {@code nodeId} for the given partitions, all led by that node. */
    public OutboundRequest<FetchResult> fetchRequest(int nodeId, Map<TopicPartition, PartitionFetch> partitions,
                                                     FetchLimits limits) {
        FetchSessionHandler session = sessions.computeIfAbsent(nodeId, id -> new FetchSessionHandler(logContext, id));
        FetchSessionHandler.Builder builder = session.newBuilder();
        Map<String, Uuid> topicIds = metadata.topicIds();
        Map<TopicPartition, Long> fetchOffsets = new HashMap<>();
        partitions.forEach((partition, fetch) -> {
            fetchOffsets.put(partition, fetch.offset());
            builder.add(partition, new FetchRequest.PartitionData(
                    topicIds.getOrDefault(partition.topic(), Uuid.ZERO_UUID),
                    fetch.offset(),
                    FetchRequest.INVALID_LOG_START_OFFSET,
                    limits.partitionMaxBytes(),
                    fetch.leaderEpoch(),
                    fetch.lastFetchedEpoch()));
        });
        FetchSessionHandler.FetchRequestData data = builder.build();
        short maxVersion = data.canUseTopicIds() ? ApiKeys.FETCH.latestVersion() : (short) 12;
        FetchRequest.Builder request = FetchRequest.Builder
                .forConsumer(maxVersion, limits.maxWaitMs(), limits.minBytes(), data.toSend())
                .isolationLevel(limits.isolationLevel())
                .setMaxBytes(limits.maxBytes())
                .metadata(data.metadata())
                .removed(data.toForget())
                .replaced(data.toReplace())
                .rackId(limits.rackId());
        return new OutboundRequest<>("Fetch", request,
                (response, version) -> toResult(session, (FetchResponse) response, version, fetchOffsets));
    }

    /** The request to {@code nodeId} failed (disconnect, timeout): its session starts over. */
    public void fetchFailed(int nodeId, Throwable error) {
        FetchSessionHandler session = sessions.get(nodeId);
        if (session != null) {
            session.handleError(error);
        }
    }

    private FetchResult toResult(FetchSessionHandler session, FetchResponse response, short version,
                                 Map<TopicPartition, Long> fetchOffsets) {
        if (!session.handleResponse(response, version)) {
            // The session was reset or the response was for a stale session; the next request starts a
            // new one. A top-level error is reported so that the fetch backs off.
            Errors error = response.error();
            throw error == Errors.NONE ? Errors.FETCH_SESSION_ID_NOT_FOUND.exception() : error.exception();
        }
        Map<TopicPartition, FetchedPartition> data = new LinkedHashMap<>();
        Map<TopicPartition, PartitionError> errors = new LinkedHashMap<>();
        Map<TopicPartition, Integer> preferredReadReplicas = new LinkedHashMap<>();
        Map<TopicPartition, Divergence> divergences = new LinkedHashMap<>();
        Map<TopicPartition, Metadata.LeaderIdAndEpoch> newLeaders = new HashMap<>();
        Map<TopicPartition, FetchResponseData.PartitionData> byPartition =
                response.responseData(session.sessionTopicNames(), version);
        byPartition.forEach((partition, partitionData) -> {
            Long fetchOffset = fetchOffsets.get(partition);
            if (fetchOffset == null) {
                return; // an incremental response can name partitions this request did not ask about
            }
            Errors error = Errors.forCode(partitionData.errorCode());
            if ((error == Errors.NOT_LEADER_OR_FOLLOWER || error == Errors.FENCED_LEADER_EPOCH)
                    && partitionData.currentLeader().leaderId() >= 0 && partitionData.currentLeader().leaderEpoch() >= 0) {
                newLeaders.put(partition, new Metadata.LeaderIdAndEpoch(Optional.of(partitionData.currentLeader().leaderId()),
                        Optional.of(partitionData.currentLeader().leaderEpoch())));
            }
            if (error != Errors.NONE) {
                errors.put(partition, new PartitionError(error.exception(), fetchOffset));
                return;
            }
            if (FetchResponse.isPreferredReplica(partitionData)) {
                preferredReadReplicas.put(partition, partitionData.preferredReadReplica());
            }
            if (FetchResponse.isDivergingEpoch(partitionData)) {
                divergences.put(partition, new Divergence(fetchOffset, partitionData.divergingEpoch().epoch(),
                        partitionData.divergingEpoch().endOffset()));
                return;
            }
            data.put(partition, new FetchedPartition(partition, fetchOffset, partitionData.highWatermark(),
                    partitionData.lastStableOffset(), partitionData.logStartOffset(),
                    FetchResponse.recordsOrFail(partitionData), partitionData.abortedTransactions(), decompressedSizes));
        });
        if (!newLeaders.isEmpty()) {
            applyLeaderHints(response, newLeaders);
        }
        return new FetchResult(data, errors, preferredReadReplicas, divergences, response.throttleTimeMs());
    }

    /**
     * A broker that is no longer a partition's leader names the new one and its address in the response
     * (KIP-951): metadata takes it at once, so the next fetch goes to the new leader without a metadata round
     * trip.
     */
    private void applyLeaderHints(FetchResponse response, Map<TopicPartition, Metadata.LeaderIdAndEpoch> newLeaders) {
        List<Node> leaderNodes = new ArrayList<>();
        for (FetchResponseData.NodeEndpoint endpoint : response.data().nodeEndpoints()) {
            Node node = new Node(endpoint.nodeId(), endpoint.host(), endpoint.port(), endpoint.rack());
            if (!node.equals(Node.noNode())) {
                leaderNodes.add(node);
            }
        }
        metadata.updatePartitionLeadership(newLeaders, leaderNodes);
    }
}
