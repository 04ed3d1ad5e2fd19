package dev.lanes.consumer.internals.background;

import dev.lanes.consumer.internals.adapter.Network;
import dev.lanes.consumer.internals.background.managers.Priority;
import dev.lanes.consumer.internals.background.managers.UnsentRequest;
import dev.lanes.consumer.internals.metrics.LanesConsumerMetrics;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.errors.TimeoutException;

import java.util.ArrayDeque;
import java.util.Iterator;
import java.util.Optional;

/**
 * Holds requests until their broker is ready and sends them, system requests first (R7). A request whose
 * deadline passes while it waits is dropped unsent and completed with a TimeoutException (R5); a request
 * for a broker that cannot be reached fails at once. Background thread only.
 */
public final class RequestSender {

    private final Network network;
    private final LanesConsumerMetrics metrics;
    private final int requestTimeoutMs;
    private final ArrayDeque<UnsentRequest<?>> system = new ArrayDeque<>();
    private final ArrayDeque<UnsentRequest<?>> user = new ArrayDeque<>();
    /** Requests waiting to be sent, for a gauge read from any thread. */
    private volatile int unsent;

    public RequestSender(Network network, LanesConsumerMetrics metrics, int requestTimeoutMs) {
        this.network = network;
        this.metrics = metrics;
        this.requestTimeoutMs = requestTimeoutMs;
    }

    public void add(UnsentRequest<?> request) {
        (request.priority() == Priority.SYSTEM ? system : user).addLast(request);
        unsent = system.size() + user.size();
    }

    /** Requests waiting to be sent (a broker not ready yet); any thread. */
    public int unsentCount() {
        return unsent;
    }

    /**
     * Drops expired requests and sends the ready ones; returns how long until something changes for the
     * unsent ones (a deadline or a connection attempt).
     */
    public long sendReady(long nowMs) {
        long nextDeadline = Long.MAX_VALUE;
        for (ArrayDeque<UnsentRequest<?>> queue : java.util.List.of(system, user)) {
            for (Iterator<UnsentRequest<?>> iterator = queue.iterator(); iterator.hasNext(); ) {
                UnsentRequest<?> request = iterator.next();
                request.markQueued(nowMs);
                if (nowMs >= request.deadlineMs()) {
                    iterator.remove();
                    metrics.requestExpiredUnsent();
                    request.complete(null, new TimeoutException(request.request().name()
                            + " request was not sent because its deadline passed before a broker was ready"));
                    continue;
                }
                Optional<Node> node = request.destination().or(() -> network.leastLoadedNode(nowMs));
                if (node.isPresent() && network.ready(node.get(), nowMs)) {
                    iterator.remove();
                    send(request, node.get(), nowMs);
                    continue;
                }
                // A broker that cannot be reached fails what waits for it at once, with a retriable disconnect (or
                // its authentication failure), so the caller can retry elsewhere (a new coordinator, a new leader)
                // within its deadline instead of waiting for it here.
                Optional<RuntimeException> connectionFailure = node.flatMap(network::connectionFailure);
                if (connectionFailure.isPresent()) {
                    iterator.remove();
                    request.complete(null, connectionFailure.get());
                    continue;
                }
                nextDeadline = Math.min(nextDeadline, request.deadlineMs());
                if (node.isPresent()) {
                    // Wake up for the next connection attempt, not only for the deadline.
                    long delay = network.connectionDelay(node.get(), nowMs);
                    if (delay != Long.MAX_VALUE) {
                        nextDeadline = Math.min(nextDeadline, nowMs + Math.max(1, delay));
                    }
                }
            }
        }
        unsent = system.size() + user.size();
        return nextDeadline == Long.MAX_VALUE ? Long.MAX_VALUE : Math.max(0, nextDeadline - nowMs);
    }

    /**
     * A request in flight always gets the full {@code request.timeout.ms}: when it times out, the network layer
     * closes the broker's connection, and with it every other request on it (heartbeats, fetches). A caller
     * whose own deadline is shorter stops waiting at its deadline; the request is simply no longer awaited.
     */
    private <R> void send(UnsentRequest<R> request, Node node, long nowMs) {
        metrics.requestSent(request.request().name());
        metrics.consumerThread().unsentRequestSent(request.queuedMs(nowMs));
        network.send(node, request.request(), nowMs, requestTimeoutMs, request::complete);
    }

    public boolean isEmpty() {
        return system.isEmpty() && user.isEmpty();
    }

    /** Completes every unsent request with {@code reason}; returns how many there were. */
    public int discardAll(RuntimeException reason) {
        int discarded = system.size() + user.size();
        for (ArrayDeque<UnsentRequest<?>> queue : java.util.List.of(system, user)) {
            UnsentRequest<?> request;
            while ((request = queue.pollFirst()) != null) {
                request.complete(null, reason);
            }
        }
        unsent = 0;
        return discarded;
    }
}
