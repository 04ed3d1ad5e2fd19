package dev.lanes.consumer.internals.managers;

import dev.lanes.consumer.internals.adapter.Requests;
import dev.lanes.consumer.internals.engine.Clock;
import dev.lanes.consumer.internals.metrics.LanesConsumerMetrics;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.errors.RetriableException;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;

/**
 * Topic metadata for partitionsFor and listTopics. Identical lookups in flight share one request (R4);
 * retriable errors are retried until the callers' deadline. Background thread only.
 */
public final class TopicMetadataRequestManager implements RequestManager {

    private static final class PendingTopicLookup {
        final Optional<String> topic;
        final List<CompletableFuture<Map<String, List<PartitionInfo>>>> callers = new ArrayList<>();
        final RetryBackoff backoff;
        long deadlineMs;

        PendingTopicLookup(Optional<String> topic, long deadlineMs, RetryBackoff backoff) {
            this.topic = topic;
            this.deadlineMs = deadlineMs;
            this.backoff = backoff;
        }
    }

    private final Clock clock;
    private final LanesConsumerMetrics metrics;
    private final long retryBackoffMs;
    private final long retryBackoffMaxMs;
    private final Map<Optional<String>, PendingTopicLookup> lookups = new LinkedHashMap<>();

    public TopicMetadataRequestManager(Clock clock, LanesConsumerMetrics metrics, long retryBackoffMs, long retryBackoffMaxMs) {
        this.clock = clock;
        this.metrics = metrics;
        this.retryBackoffMs = retryBackoffMs;
        this.retryBackoffMaxMs = retryBackoffMaxMs;
    }

    /** Looks up one topic, or all topics when {@code topic} is empty. */
    public void lookup(Optional<String> topic, long deadlineMs, CompletableFuture<Map<String, List<PartitionInfo>>> future) {
        PendingTopicLookup pending = lookups.get(topic);
        if (pending != null) {
            metrics.requestCoalesced();
            pending.deadlineMs = Math.max(pending.deadlineMs, deadlineMs);
        } else {
            pending = new PendingTopicLookup(topic, deadlineMs, new RetryBackoff(retryBackoffMs, retryBackoffMaxMs));
            lookups.put(topic, pending);
        }
        pending.callers.add(future);
    }

    @Override
    public PollResult poll(long nowMs) {
        List<UnsentRequest<?>> requests = new ArrayList<>();
        long wait = Long.MAX_VALUE;
        for (Iterator<PendingTopicLookup> iterator = lookups.values().iterator(); iterator.hasNext(); ) {
            PendingTopicLookup pending = iterator.next();
            if (pending.callers.stream().allMatch(CompletableFuture::isDone) && !pending.backoff.isInFlight()) {
                iterator.remove();
                continue;
            }
            if (!pending.backoff.canSend(nowMs)) {
                wait = Math.min(wait, pending.backoff.remainingBackoffMs(nowMs));
                continue;
            }
            pending.backoff.onSend();
            requests.add(new UnsentRequest<>(Requests.topicMetadata(pending.topic.map(List::of)), Optional.empty(),
                    Priority.USER, pending.deadlineMs, (topics, error) -> onResponse(pending, topics, error)));
        }
        return new PollResult(wait, requests);
    }

    private void onResponse(PendingTopicLookup pending, Map<String, List<PartitionInfo>> topics, Throwable error) {
        long nowMs = clock.milliseconds();
        if (error == null) {
            lookups.remove(pending.topic, pending);
            pending.callers.forEach(caller -> caller.complete(topics));
        } else if (error instanceof RetriableException && nowMs < pending.deadlineMs) {
            pending.backoff.onFailure(nowMs);
        } else {
            lookups.remove(pending.topic, pending);
            RuntimeException failure = error instanceof RetriableException
                    ? new org.apache.kafka.common.errors.TimeoutException("Topic metadata lookup did not succeed before the deadline", error)
                    : error instanceof RuntimeException ? (RuntimeException) error : new RuntimeException(error);
            pending.callers.forEach(caller -> caller.completeExceptionally(failure));
        }
    }

    /** Fails every pending lookup; returns how many were discarded. */
    public int discardAll(RuntimeException reason) {
        int discarded = lookups.size();
        lookups.values().forEach(lookup -> lookup.callers.forEach(caller -> caller.completeExceptionally(reason)));
        lookups.clear();
        return discarded;
    }
}
