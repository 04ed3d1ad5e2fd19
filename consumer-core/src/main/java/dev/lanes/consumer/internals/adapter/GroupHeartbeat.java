package dev.lanes.consumer.internals.adapter;

import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.message.ConsumerGroupHeartbeatRequestData;
import org.apache.kafka.common.message.ConsumerGroupHeartbeatResponseData;
import org.apache.kafka.common.protocol.Errors;
import org.apache.kafka.common.requests.ConsumerGroupHeartbeatRequest;
import org.apache.kafka.common.requests.ConsumerGroupHeartbeatResponse;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;

/**
 * The KIP-848 ConsumerGroupHeartbeat request and its answer, in Lanes' own terms. Every heartbeat
 * carries every field (a full heartbeat): the coordinator accepts that at any time, and it keeps the
 * member's view and the coordinator's from drifting after a lost response.
 */
public final class GroupHeartbeat {

    /** Epoch that asks to join. */
    public static final int JOIN_EPOCH = ConsumerGroupHeartbeatRequest.JOIN_GROUP_MEMBER_EPOCH;
    /** Epoch that leaves the group. */
    public static final int LEAVE_EPOCH = ConsumerGroupHeartbeatRequest.LEAVE_GROUP_MEMBER_EPOCH;
    /** Epoch that leaves the group for now but keeps a static member's assignment for its return. */
    public static final int LEAVE_STATIC_EPOCH = ConsumerGroupHeartbeatRequest.LEAVE_GROUP_STATIC_MEMBER_EPOCH;

    /** What the member tells the coordinator. */
    public record Request(String groupId, String memberId, int memberEpoch, Optional<String> instanceId,
                          Optional<String> rackId, int rebalanceTimeoutMs, Set<String> subscribedTopics,
                          Optional<String> subscribedRegex, Optional<String> serverAssignor,
                          Map<Uuid, Set<Integer>> ownedPartitions) {
    }

    /** The coordinator's answer; {@code assignment} is present when it sends a new target assignment. */
    public record Response(String memberId, int memberEpoch, int heartbeatIntervalMs,
                           Optional<Map<Uuid, Set<Integer>>> assignment) {
    }

    private GroupHeartbeat() {
    }

    public static OutboundRequest<Response> request(Request request) {
        ConsumerGroupHeartbeatRequestData data = new ConsumerGroupHeartbeatRequestData()
                .setGroupId(request.groupId())
                .setMemberId(request.memberId())
                .setMemberEpoch(request.memberEpoch())
                .setInstanceId(request.instanceId().orElse(null))
                .setRackId(request.rackId().orElse(null))
                .setRebalanceTimeoutMs(request.rebalanceTimeoutMs())
                .setServerAssignor(request.serverAssignor().orElse(null));
        if (request.subscribedRegex().isPresent()) {
            data.setSubscribedTopicRegex(request.subscribedRegex().get());
            data.setSubscribedTopicNames(List.of());
        } else {
            data.setSubscribedTopicNames(new ArrayList<>(new TreeSet<>(request.subscribedTopics())));
        }
        List<ConsumerGroupHeartbeatRequestData.TopicPartitions> owned = new ArrayList<>();
        request.ownedPartitions().forEach((topicId, partitions) -> owned.add(
                new ConsumerGroupHeartbeatRequestData.TopicPartitions()
                        .setTopicId(topicId)
                        .setPartitions(new ArrayList<>(new TreeSet<>(partitions)))));
        data.setTopicPartitions(owned);
        return new OutboundRequest<>("ConsumerGroupHeartbeat", new ConsumerGroupHeartbeatRequest.Builder(data),
                (response, version) -> {
                    ConsumerGroupHeartbeatResponseData answer = ((ConsumerGroupHeartbeatResponse) response).data();
                    Errors error = Errors.forCode(answer.errorCode());
                    if (error != Errors.NONE) {
                        String message = answer.errorMessage();
                        throw message == null || message.isEmpty() ? error.exception() : error.exception(message);
                    }
                    Optional<Map<Uuid, Set<Integer>>> assignment = Optional.empty();
                    if (answer.assignment() != null) {
                        Map<Uuid, Set<Integer>> target = new HashMap<>();
                        for (ConsumerGroupHeartbeatResponseData.TopicPartitions topic : answer.assignment().topicPartitions()) {
                            target.computeIfAbsent(topic.topicId(), id -> new TreeSet<>()).addAll(topic.partitions());
                        }
                        assignment = Optional.of(target);
                    }
                    return new Response(answer.memberId(), answer.memberEpoch(), answer.heartbeatIntervalMs(), assignment);
                });
    }

    /** Groups partitions by topic id, for the owned-partitions field; topics without a known id are left out. */
    public static Map<Uuid, Set<Integer>> byTopicId(Set<TopicPartition> partitions, Map<String, Uuid> topicIds) {
        Map<Uuid, Set<Integer>> owned = new HashMap<>();
        for (TopicPartition partition : partitions) {
            Uuid id = topicIds.get(partition.topic());
            if (id != null) {
                owned.computeIfAbsent(id, key -> new TreeSet<>()).add(partition.partition());
            }
        }
        return owned;
    }
}
