package dev.lanes.consumer.internals.background.managers;

import java.util.concurrent.ThreadLocalRandom;

/**
 * Exponential back-off between attempts of one kind of request, with jitter, as configured by
 * {@code retry.backoff.ms} and {@code retry.backoff.max.ms}. Also knows whether an attempt is in flight,
 * so a manager sends at most one at a time.
 */
public final class RetryBackoff {

    private final long initialMs;
    private final long maxMs;
    private int failures;
    private long nextAttemptMs;
    private boolean inFlight;

    public RetryBackoff(long initialMs, long maxMs) {
        this.initialMs = Math.max(0, initialMs);
        this.maxMs = Math.max(this.initialMs, maxMs);
    }

    public boolean canSend(long nowMs) {
        return !inFlight && nowMs >= nextAttemptMs;
    }

    public long remainingBackoffMs(long nowMs) {
        return inFlight ? Long.MAX_VALUE : Math.max(0, nextAttemptMs - nowMs);
    }

    public void onSend() {
        inFlight = true;
    }

    public void onSuccess() {
        inFlight = false;
        failures = 0;
        nextAttemptMs = 0;
    }

    public void onFailure(long nowMs) {
        inFlight = false;
        double exp = initialMs * Math.pow(2, Math.min(failures, 30));
        failures++;
        double jitter = 0.8 + ThreadLocalRandom.current().nextDouble() * 0.4;
        nextAttemptMs = nowMs + (long) Math.min(maxMs, exp * jitter);
    }

    /** The attempt in flight is no longer waited for (its answer will be ignored); the timing stays as it was. */
    public void abandonInFlight() {
        inFlight = false;
    }

    public boolean isInFlight() {
        return inFlight;
    }
}
