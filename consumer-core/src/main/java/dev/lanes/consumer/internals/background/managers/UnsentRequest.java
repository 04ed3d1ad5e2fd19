package dev.lanes.consumer.internals.background.managers;

import dev.lanes.consumer.internals.adapter.OutboundRequest;
import org.apache.kafka.common.Node;

import java.util.Optional;
import java.util.function.BiConsumer;

/**
 * A request waiting to be sent, with where it goes, its priority, the absolute deadline after which
 * it must not be sent (R5), and what to do with its result. The handler runs on the background thread.
 */
public final class UnsentRequest<R> {

    private final OutboundRequest<R> request;
    private final Optional<Node> destination;
    private final Priority priority;
    private final long deadlineMs;
    private final BiConsumer<R, Throwable> handler;
    private boolean completed;
    /** When the sender first saw it waiting, or -1. */
    private long queuedAtMs = -1;

    public UnsentRequest(OutboundRequest<R> request, Optional<Node> destination, Priority priority, long deadlineMs,
                         BiConsumer<R, Throwable> handler) {
        this.request = request;
        this.destination = destination;
        this.priority = priority;
        this.deadlineMs = deadlineMs;
        this.handler = handler;
    }

    /** Background thread: records when the request started waiting to be sent, once. */
    public void markQueued(long nowMs) {
        if (queuedAtMs < 0) {
            queuedAtMs = nowMs;
        }
    }

    /** How long it has waited to be sent, as of {@code nowMs}. */
    public long queuedMs(long nowMs) {
        return queuedAtMs < 0 ? 0 : Math.max(0, nowMs - queuedAtMs);
    }

    public OutboundRequest<R> request() {
        return request;
    }

    /** The broker to send to; empty means any broker (the least loaded one). */
    public Optional<Node> destination() {
        return destination;
    }

    public Priority priority() {
        return priority;
    }

    public long deadlineMs() {
        return deadlineMs;
    }

    /** Delivers the result once; later calls are ignored. */
    public void complete(R result, Throwable error) {
        if (!completed) {
            completed = true;
            handler.accept(result, error);
        }
    }

    @Override
    public String toString() {
        return request.name() + "(to=" + destination.map(Node::idString).orElse("any") + ", " + priority
                + ", deadlineMs=" + deadlineMs + ")";
    }
}
