package dev.lanes.consumer.internals.adapter;

import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.IsolationLevel;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.message.FindCoordinatorRequestData;
import org.apache.kafka.common.message.FindCoordinatorResponseData;
import org.apache.kafka.common.message.ListOffsetsRequestData;
import org.apache.kafka.common.message.ListOffsetsResponseData;
import org.apache.kafka.common.message.MetadataRequestData;
import org.apache.kafka.common.message.OffsetCommitRequestData;
import org.apache.kafka.common.message.OffsetCommitResponseData;
import org.apache.kafka.common.message.OffsetFetchRequestData;
import org.apache.kafka.common.message.OffsetFetchResponseData;
import org.apache.kafka.common.message.OffsetForLeaderEpochRequestData;
import org.apache.kafka.common.message.OffsetForLeaderEpochResponseData;
import org.apache.kafka.common.protocol.Errors;
import org.apache.kafka.common.record.RecordBatch;
import org.apache.kafka.common.requests.FindCoordinatorRequest;
import org.apache.kafka.common.requests.FindCoordinatorResponse;
import org.apache.kafka.common.requests.ListOffsetsRequest;
import org.apache.kafka.common.requests.ListOffsetsResponse;
import org.apache.kafka.common.requests.MetadataRequest;
import org.apache.kafka.common.requests.MetadataResponse;
import org.apache.kafka.common.requests.OffsetCommitRequest;
import org.apache.kafka.common.requests.OffsetCommitResponse;
import org.apache.kafka.common.requests.OffsetFetchRequest;
import org.apache.kafka.common.requests.OffsetFetchResponse;
import org.apache.kafka.common.requests.OffsetsForLeaderEpochRequest;
import org.apache.kafka.common.requests.OffsetsForLeaderEpochResponse;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;

/**
 * Builds the requests the request managers send and parses their responses into Lanes' own types.
 * Request-level errors come back as the matching Kafka exception (public API), thrown by the parser.
 */
public final class Requests {

    private Requests() {
    }

    /** FindCoordinator for a consumer group; yields the coordinator node. */
    public static OutboundRequest<Node> findCoordinator(String groupId) {
        FindCoordinatorRequestData data = new FindCoordinatorRequestData()
                .setKeyType(FindCoordinatorRequest.CoordinatorType.GROUP.id())
                .setCoordinatorKeys(List.of(groupId));
        return new OutboundRequest<>("FindCoordinator", new FindCoordinatorRequest.Builder(data), (response, version) -> {
            FindCoordinatorResponseData responseData = ((FindCoordinatorResponse) response).data();
            if (!responseData.coordinators().isEmpty()) {
                FindCoordinatorResponseData.Coordinator coordinator = responseData.coordinators().get(0);
                throwIfError(coordinator.errorCode(), coordinator.errorMessage());
                return new Node(coordinator.nodeId(), coordinator.host(), coordinator.port());
            }
            throwIfError(responseData.errorCode(), responseData.errorMessage());
            return new Node(responseData.nodeId(), responseData.host(), responseData.port());
        });
    }

    /**
     * OffsetCommit; yields the partitions that failed with their errors (empty when all succeeded).
     * A group-level error is thrown.
     */
    public static OutboundRequest<Map<TopicPartition, RuntimeException>> offsetCommit(
            String groupId, String memberId, int memberEpoch, Optional<String> groupInstanceId,
            Map<TopicPartition, OffsetAndMetadata> offsets) {
        Map<String, OffsetCommitRequestData.OffsetCommitRequestTopic> topics = new TreeMap<>();
        offsets.forEach((partition, offset) -> topics
                .computeIfAbsent(partition.topic(), name -> new OffsetCommitRequestData.OffsetCommitRequestTopic()
                        .setName(name))
                .partitions()
                .add(new OffsetCommitRequestData.OffsetCommitRequestPartition()
                        .setPartitionIndex(partition.partition())
                        .setCommittedOffset(offset.offset())
                        .setCommittedLeaderEpoch(offset.leaderEpoch().orElse(RecordBatch.NO_PARTITION_LEADER_EPOCH))
                        .setCommittedMetadata(offset.metadata())));
        OffsetCommitRequestData data = new OffsetCommitRequestData()
                .setGroupId(groupId)
                .setMemberId(memberId)
                .setGenerationIdOrMemberEpoch(memberEpoch)
                .setGroupInstanceId(groupInstanceId.orElse(null))
                .setTopics(new ArrayList<>(topics.values()));
        return new OutboundRequest<>("OffsetCommit", OffsetCommitRequest.Builder.forTopicNames(data), (response, version) -> {
            OffsetCommitResponseData responseData = ((OffsetCommitResponse) response).data();
            Map<TopicPartition, RuntimeException> failed = new LinkedHashMap<>();
            for (OffsetCommitResponseData.OffsetCommitResponseTopic topic : responseData.topics()) {
                for (OffsetCommitResponseData.OffsetCommitResponsePartition partition : topic.partitions()) {
                    Errors error = Errors.forCode(partition.errorCode());
                    if (error != Errors.NONE) {
                        failed.put(new TopicPartition(topic.name(), partition.partitionIndex()), error.exception());
                    }
                }
            }
            return failed;
        });
    }

    /**
     * OffsetFetch for one group; yields the committed offset of each partition (null when there is
     * none). Group-level and partition-level errors are thrown.
     */
    public static OutboundRequest<Map<TopicPartition, OffsetAndMetadata>> offsetFetch(
            String groupId, Set<TopicPartition> partitions, boolean requireStable) {
        Map<String, OffsetFetchRequestData.OffsetFetchRequestTopics> topics = new TreeMap<>();
        for (TopicPartition partition : partitions) {
            topics.computeIfAbsent(partition.topic(), name -> new OffsetFetchRequestData.OffsetFetchRequestTopics()
                            .setName(name))
                    .partitionIndexes().add(partition.partition());
        }
        OffsetFetchRequestData data = new OffsetFetchRequestData()
                .setRequireStable(requireStable)
                .setGroups(List.of(new OffsetFetchRequestData.OffsetFetchRequestGroup()
                        .setGroupId(groupId)
                        .setTopics(new ArrayList<>(topics.values()))));
        return new OutboundRequest<>("OffsetFetch", OffsetFetchRequest.Builder.forTopicNames(data, false), (response, version) -> {
            OffsetFetchResponseData.OffsetFetchResponseGroup group = ((OffsetFetchResponse) response).group(groupId);
            throwIfError(group.errorCode(), null);
            Map<TopicPartition, OffsetAndMetadata> committed = new HashMap<>();
            for (TopicPartition partition : partitions) {
                committed.put(partition, null);
            }
            for (OffsetFetchResponseData.OffsetFetchResponseTopics topic : group.topics()) {
                for (OffsetFetchResponseData.OffsetFetchResponsePartitions partition : topic.partitions()) {
                    throwIfError(partition.errorCode(), null);
                    if (partition.committedOffset() >= 0) {
                        Optional<Integer> epoch = partition.committedLeaderEpoch() == RecordBatch.NO_PARTITION_LEADER_EPOCH
                                ? Optional.empty() : Optional.of(partition.committedLeaderEpoch());
                        committed.put(new TopicPartition(topic.name(), partition.partitionIndex()),
                                new OffsetAndMetadata(partition.committedOffset(), epoch, partition.metadata()));
                    }
                }
            }
            return committed;
        });
    }

    /** The answer of ListOffsets: offsets found, and partitions that failed with their errors. */
    public record ListedOffsets(Map<TopicPartition, ListedOffset> offsets, Map<TopicPartition, RuntimeException> errors) {
    }

    /** ListOffsets for partitions led by one broker, by timestamp or the earliest/latest sentinels. */
    public static OutboundRequest<ListedOffsets> listOffsets(Map<TopicPartition, Long> timestamps,
                                                             IsolationLevel isolationLevel) {
        Map<String, ListOffsetsRequestData.ListOffsetsTopic> topics = new TreeMap<>();
        boolean requireTimestamp = false;
        for (Map.Entry<TopicPartition, Long> entry : timestamps.entrySet()) {
            requireTimestamp |= entry.getValue() >= 0;
            topics.computeIfAbsent(entry.getKey().topic(), name -> new ListOffsetsRequestData.ListOffsetsTopic()
                            .setName(name))
                    .partitions().add(new ListOffsetsRequestData.ListOffsetsPartition()
                            .setPartitionIndex(entry.getKey().partition())
                            .setTimestamp(entry.getValue())
                            .setCurrentLeaderEpoch(RecordBatch.NO_PARTITION_LEADER_EPOCH));
        }
        ListOffsetsRequest.Builder builder = ListOffsetsRequest.Builder
                .forConsumer(requireTimestamp, isolationLevel)
                .setTargetTimes(new ArrayList<>(topics.values()));
        return new OutboundRequest<>("ListOffsets", builder, (response, version) -> {
            ListOffsetsResponseData responseData = ((ListOffsetsResponse) response).data();
            Map<TopicPartition, ListedOffset> offsets = new HashMap<>();
            Map<TopicPartition, RuntimeException> errors = new HashMap<>();
            for (ListOffsetsResponseData.ListOffsetsTopicResponse topic : responseData.topics()) {
                for (ListOffsetsResponseData.ListOffsetsPartitionResponse partition : topic.partitions()) {
                    TopicPartition tp = new TopicPartition(topic.name(), partition.partitionIndex());
                    Errors error = Errors.forCode(partition.errorCode());
                    if (error != Errors.NONE) {
                        errors.put(tp, error.exception());
                    } else if (partition.offset() >= 0) {
                        Optional<Integer> epoch = partition.leaderEpoch() == RecordBatch.NO_PARTITION_LEADER_EPOCH
                                ? Optional.empty() : Optional.of(partition.leaderEpoch());
                        offsets.put(tp, new ListedOffset(partition.offset(), partition.timestamp(), epoch));
                    }
                }
            }
            return new ListedOffsets(offsets, errors);
        });
    }

    /** What a position is checked against: the leader epoch metadata names now, and the epoch of the record before the position. */
    public record EpochQuery(int currentLeaderEpoch, int leaderEpoch) {
    }

    /**
     * Where the leader's log ends for an epoch: the largest epoch at or below the one asked for that the leader
     * knows, and the offset that follows its last record; -1 for both when the leader knows no such epoch.
     */
    public record EpochEndOffset(int leaderEpoch, long endOffset) {

        public boolean undefined() {
            return leaderEpoch == OffsetsForLeaderEpochResponse.UNDEFINED_EPOCH
                    || endOffset == OffsetsForLeaderEpochResponse.UNDEFINED_EPOCH_OFFSET;
        }
    }

    /** The answer of OffsetsForLeaderEpoch: end offsets found, and partitions that failed with their errors. */
    public record EpochEndOffsets(Map<TopicPartition, EpochEndOffset> endOffsets, Map<TopicPartition, RuntimeException> errors) {
    }

    /**
     * OffsetsForLeaderEpoch (KIP-320) for partitions led by one broker, as a consumer asks it (version 3 and up,
     * which needs only Describe on the topics): the end offset of each position's epoch on the current leader.
     */
    public static OutboundRequest<EpochEndOffsets> offsetsForLeaderEpoch(Map<TopicPartition, EpochQuery> queries) {
        OffsetForLeaderEpochRequestData.OffsetForLeaderTopicCollection topics =
                new OffsetForLeaderEpochRequestData.OffsetForLeaderTopicCollection();
        queries.forEach((partition, query) -> {
            OffsetForLeaderEpochRequestData.OffsetForLeaderTopic topic = topics.find(partition.topic());
            if (topic == null) {
                topic = new OffsetForLeaderEpochRequestData.OffsetForLeaderTopic().setTopic(partition.topic());
                topics.add(topic);
            }
            topic.partitions().add(new OffsetForLeaderEpochRequestData.OffsetForLeaderPartition()
                    .setPartition(partition.partition())
                    .setCurrentLeaderEpoch(query.currentLeaderEpoch())
                    .setLeaderEpoch(query.leaderEpoch()));
        });
        return new OutboundRequest<>("OffsetsForLeaderEpoch", OffsetsForLeaderEpochRequest.Builder.forConsumer(topics),
                (response, version) -> {
                    OffsetForLeaderEpochResponseData responseData = ((OffsetsForLeaderEpochResponse) response).data();
                    Map<TopicPartition, EpochEndOffset> endOffsets = new HashMap<>();
                    Map<TopicPartition, RuntimeException> errors = new HashMap<>();
                    for (OffsetForLeaderEpochResponseData.OffsetForLeaderTopicResult topic : responseData.topics()) {
                        for (OffsetForLeaderEpochResponseData.EpochEndOffset partition : topic.partitions()) {
                            TopicPartition tp = new TopicPartition(topic.topic(), partition.partition());
                            Errors error = Errors.forCode(partition.errorCode());
                            if (error != Errors.NONE) {
                                errors.put(tp, error.exception());
                            } else {
                                endOffsets.put(tp, new EpochEndOffset(partition.leaderEpoch(), partition.endOffset()));
                            }
                        }
                    }
                    return new EpochEndOffsets(endOffsets, errors);
                });
    }

    /**
     * Metadata for the named topics, or for all topics when {@code topics} is empty; yields the
     * partitions of each topic that exists. Internal topics are left out of the all-topics answer.
     */
    public static OutboundRequest<Map<String, List<PartitionInfo>>> topicMetadata(Optional<List<String>> topics,
                                                                                 boolean allowAutoTopicCreation) {
        MetadataRequest.Builder builder = topics
                .map(names -> new MetadataRequest.Builder(new MetadataRequestData()
                        .setTopics(names.stream().map(name -> new MetadataRequestData.MetadataRequestTopic().setName(name)).toList())
                        .setAllowAutoTopicCreation(allowAutoTopicCreation)))
                .orElseGet(MetadataRequest.Builder::allTopics);
        return new OutboundRequest<>("Metadata", builder, (response, version) -> {
            MetadataResponse metadata = (MetadataResponse) response;
            Map<String, List<PartitionInfo>> partitions = new HashMap<>();
            for (MetadataResponse.TopicMetadata topic : metadata.topicMetadata()) {
                if (topic.error() == Errors.UNKNOWN_TOPIC_OR_PARTITION) {
                    continue;
                }
                if (topic.error() != Errors.NONE) {
                    throw topic.error().exception("Cannot describe topic " + topic.topic() + ": " + topic.error().message());
                }
                List<PartitionInfo> infos = new ArrayList<>();
                for (MetadataResponse.PartitionMetadata partition : topic.partitionMetadata()) {
                    infos.add(MetadataResponse.toPartitionInfo(partition, metadata.brokersById()));
                }
                partitions.put(topic.topic(), infos);
            }
            return partitions;
        });
    }

    private static void throwIfError(short code, String message) {
        Errors error = Errors.forCode(code);
        if (error != Errors.NONE) {
            throw message == null || message.isEmpty() ? error.exception() : error.exception(message);
        }
    }
}
