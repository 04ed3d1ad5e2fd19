package dev.lanes.consumer.internals.background.managers;

import dev.lanes.consumer.internals.adapter.Requests;
import dev.lanes.consumer.internals.common.Clock;
import dev.lanes.consumer.internals.metrics.LanesConsumerMetrics;
import org.apache.kafka.common.PartitionInfo;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;

/**
 * Topic metadata for partitionsFor and listTopics. Identical lookups in flight share one request (R4);
 * retriable errors are retried until the callers' deadline. Background thread only.
 */
public final class TopicMetadataRequestManager implements RequestManager {

    private final Clock clock;
    private final SharedLookups<Optional<String>, Map<String, List<PartitionInfo>>> lookups;

    private final boolean allowAutoTopicCreation;

    /** @param allowAutoTopicCreation {@code allow.auto.create.topics}: partitionsFor creates a missing topic */
    public TopicMetadataRequestManager(Clock clock, LanesConsumerMetrics metrics, long retryBackoffMs, long retryBackoffMaxMs,
                                       boolean allowAutoTopicCreation) {
        this.clock = clock;
        this.allowAutoTopicCreation = allowAutoTopicCreation;
        this.lookups = new SharedLookups<>(metrics, retryBackoffMs, retryBackoffMaxMs);
    }

    /** Looks up one topic, or all topics when {@code topic} is empty. */
    public void lookup(Optional<String> topic, long deadlineMs, CompletableFuture<Map<String, List<PartitionInfo>>> future) {
        lookups.join(topic, deadlineMs, future);
    }

    @Override
    public PollResult poll(long nowMs) {
        List<UnsentRequest<?>> requests = new ArrayList<>();
        long wait = Long.MAX_VALUE;
        for (SharedLookups.Lookup<Optional<String>, Map<String, List<PartitionInfo>>> lookup : lookups.active()) {
            if (!lookup.backoff().canSend(nowMs)) {
                wait = Math.min(wait, lookup.backoff().remainingBackoffMs(nowMs));
                continue;
            }
            lookup.backoff().onSend();
            requests.add(new UnsentRequest<>(Requests.topicMetadata(lookup.key().map(List::of), allowAutoTopicCreation), Optional.empty(),
                    Priority.USER, lookup.deadlineMs(), (topics, error) -> {
                        if (error == null) {
                            lookups.complete(lookup, topics);
                        } else {
                            lookups.failed(lookup, error, clock.milliseconds(), "Topic metadata lookup");
                        }
                    }));
        }
        return new PollResult(wait, requests);
    }

    /** Fails every pending lookup; returns how many were discarded. */
    public int discardAll(RuntimeException reason) {
        return lookups.discardAll(reason);
    }
}
