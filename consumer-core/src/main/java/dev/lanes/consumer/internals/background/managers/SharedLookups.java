package dev.lanes.consumer.internals.background.managers;

import dev.lanes.consumer.internals.metrics.LanesConsumerMetrics;
import org.apache.kafka.common.errors.RetriableException;
import org.apache.kafka.common.errors.TimeoutException;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

/**
 * Callers asking the same idempotent question share one request while it is pending or in flight (R4).
 * Each lookup keeps its callers' futures, the latest of their deadlines and its own retry back-off; a
 * lookup every caller gave up on is dropped before it is sent (R5). Background thread only.
 *
 * @param <K> the question (partitions, a topic, partitions with timestamps)
 * @param <T> the answer every caller gets
 */
final class SharedLookups<K, T> {

    /** One question and the callers waiting for its answer. */
    static final class Lookup<K, T> {
        private final K key;
        private final List<CompletableFuture<T>> callers = new ArrayList<>();
        private final RetryBackoff backoff;
        private long deadlineMs;

        private Lookup(K key, long deadlineMs, RetryBackoff backoff) {
            this.key = key;
            this.deadlineMs = deadlineMs;
            this.backoff = backoff;
        }

        K key() {
            return key;
        }

        RetryBackoff backoff() {
            return backoff;
        }

        long deadlineMs() {
            return deadlineMs;
        }

        private boolean abandoned() {
            return callers.stream().allMatch(CompletableFuture::isDone);
        }
    }

    private final Map<K, Lookup<K, T>> lookups = new LinkedHashMap<>();
    private final LanesConsumerMetrics metrics;
    private final long retryBackoffMs;
    private final long retryBackoffMaxMs;

    SharedLookups(LanesConsumerMetrics metrics, long retryBackoffMs, long retryBackoffMaxMs) {
        this.metrics = metrics;
        this.retryBackoffMs = retryBackoffMs;
        this.retryBackoffMaxMs = retryBackoffMaxMs;
    }

    /** Adds a caller: to the lookup of the same question if there is one (counted as coalesced), else a new one. */
    void join(K key, long deadlineMs, CompletableFuture<T> caller) {
        Lookup<K, T> lookup = lookups.get(key);
        if (lookup != null) {
            metrics.requestCoalesced();
            lookup.deadlineMs = Math.max(lookup.deadlineMs, deadlineMs);
        } else {
            lookup = new Lookup<>(key, deadlineMs, new RetryBackoff(retryBackoffMs, retryBackoffMaxMs));
            lookups.put(key, lookup);
        }
        lookup.callers.add(caller);
    }

    /** The lookups still wanted, after dropping those whose callers all gave up and that are not in flight. */
    List<Lookup<K, T>> active() {
        List<Lookup<K, T>> active = new ArrayList<>();
        for (Iterator<Lookup<K, T>> iterator = lookups.values().iterator(); iterator.hasNext(); ) {
            Lookup<K, T> lookup = iterator.next();
            if (lookup.abandoned() && !lookup.backoff.isInFlight()) {
                iterator.remove();
            } else {
                active.add(lookup);
            }
        }
        return active;
    }

    /** Answers every caller. */
    void complete(Lookup<K, T> lookup, T answer) {
        lookup.backoff.onSuccess();
        lookups.remove(lookup.key, lookup);
        lookup.callers.forEach(caller -> caller.complete(answer));
    }

    /**
     * An attempt failed. A retriable error before the deadline is retried after the back-off; otherwise
     * every caller fails, a retriable error that outlived the deadline as a TimeoutException. Returns
     * whether the lookup will be retried.
     */
    boolean failed(Lookup<K, T> lookup, Throwable error, long nowMs, String question) {
        lookup.backoff.onFailure(nowMs);
        if (error instanceof RetriableException && nowMs < lookup.deadlineMs) {
            return true;
        }
        lookups.remove(lookup.key, lookup);
        RuntimeException failure = error instanceof RetriableException
                ? new TimeoutException(question + " did not succeed before the deadline", error)
                : error instanceof RuntimeException ? (RuntimeException) error : new RuntimeException(error);
        lookup.callers.forEach(caller -> caller.completeExceptionally(failure));
        return false;
    }

    /** The questions pending or in flight. */
    Iterable<K> keys() {
        return lookups.keySet();
    }

    /** Fails every caller; returns how many lookups were discarded. */
    int discardAll(RuntimeException reason) {
        int discarded = lookups.size();
        lookups.values().forEach(lookup -> lookup.callers.forEach(caller -> caller.completeExceptionally(reason)));
        lookups.clear();
        return discarded;
    }
}
