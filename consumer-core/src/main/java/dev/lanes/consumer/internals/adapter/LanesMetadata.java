package dev.lanes.consumer.internals.adapter;

import org.apache.kafka.clients.Metadata;
import org.apache.kafka.common.internals.ClusterResourceListeners;
import org.apache.kafka.common.requests.MetadataRequest;
import org.apache.kafka.common.utils.LogContext;

import java.util.ArrayList;
import java.util.Set;

/**
 * Cluster metadata limited to the topics the consumer is assigned, refreshed by the NetworkClient on
 * the background thread. With no topics it still learns the brokers (an empty topic list, not all topics).
 */
final class LanesMetadata extends Metadata {

    private volatile Set<String> topics = Set.of();
    private volatile boolean allTopics;
    private final boolean allowAutoTopicCreation;

    /** @param allowAutoTopicCreation {@code allow.auto.create.topics}: whether a topic asked for is created if missing */
    LanesMetadata(long refreshBackoffMs, long refreshBackoffMaxMs, long metadataExpireMs, boolean allowAutoTopicCreation,
                  LogContext logContext, ClusterResourceListeners clusterListeners) {
        super(refreshBackoffMs, refreshBackoffMaxMs, metadataExpireMs, logContext, clusterListeners);
        this.allowAutoTopicCreation = allowAutoTopicCreation;
    }

    /** Sets the topics to keep metadata for; asks for a refresh when new ones appear. */
    void topics(Set<String> wanted) {
        if (!topics.equals(wanted)) {
            boolean added = !topics.containsAll(wanted);
            topics = Set.copyOf(wanted);
            if (added) {
                requestUpdateForNewTopics();
            }
        }
    }

    /** Asks for every topic while true (a client-side pattern, or topic ids to resolve). */
    void allTopics(boolean all) {
        if (all != allTopics) {
            allTopics = all;
            if (all) {
                requestUpdate(false);
            }
        }
    }

    @Override
    protected MetadataRequest.Builder newMetadataRequestBuilder() {
        return allTopics ? MetadataRequest.Builder.allTopics() : new MetadataRequest.Builder(new ArrayList<>(topics), allowAutoTopicCreation);
    }

    @Override
    protected boolean retainTopic(String topic, boolean isInternal, long nowMs) {
        return allTopics || topics.contains(topic);
    }
}
