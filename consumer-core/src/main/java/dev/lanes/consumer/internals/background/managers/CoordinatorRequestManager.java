package dev.lanes.consumer.internals.background.managers;

import dev.lanes.consumer.internals.adapter.Requests;
import dev.lanes.consumer.internals.common.Clock;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.errors.RetriableException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.List;
import java.util.Optional;

/**
 * Finds the group coordinator, only when some operation needs it (R14): a manager that has group work
 * calls {@link #coordinator(long)}; that both answers and, when unknown, asks for a lookup. A lost
 * coordinator (NOT_COORDINATOR, COORDINATOR_NOT_AVAILABLE, a disconnect) is forgotten and looked up again.
 * The coordinator is addressed by its own node id, so its requests share the broker's connection (R6).
 */
public final class CoordinatorRequestManager implements RequestManager {

    private static final Logger log = LoggerFactory.getLogger(CoordinatorRequestManager.class);

    private final String groupId;
    private final Clock clock;
    private final RetryBackoff backoff;
    private final long requestTimeoutMs;
    private Node coordinator;
    /** Changes whenever the coordinator is found or forgotten, so a late answer of an older one is recognised. */
    private int generation;
    private boolean wanted;
    private RuntimeException fatalError;

    public CoordinatorRequestManager(String groupId, Clock clock, long retryBackoffMs, long retryBackoffMaxMs,
                                     long requestTimeoutMs) {
        this.groupId = groupId;
        this.clock = clock;
        this.backoff = new RetryBackoff(retryBackoffMs, retryBackoffMaxMs);
        this.requestTimeoutMs = requestTimeoutMs;
    }

    /** The coordinator if known; if not, a lookup will be sent on the next poll. */
    public Optional<Node> coordinator() {
        if (coordinator == null) {
            wanted = true;
        }
        return Optional.ofNullable(coordinator);
    }

    /** The coordinator's node id if it is known, else -1; unlike {@link #coordinator()}, never asks for a lookup. */
    public int knownNodeId() {
        Node known = coordinator;
        return known == null ? -1 : known.id();
    }

    /** A non-retriable lookup failure (for example group authorization), to fail the waiting operations. */
    public Optional<RuntimeException> fatalError() {
        return Optional.ofNullable(fatalError);
    }

    /** Which coordinator a request goes to: pass it back to {@link #markUnknown} with that request's error. */
    public int generation() {
        return generation;
    }

    /**
     * Forgets the coordinator after an error that says it moved or is gone, unless the request that failed went
     * to an earlier coordinator ({@code sentToGeneration} is older): a late failure from a broker that was left
     * behind says nothing about the one found since.
     */
    public void markUnknown(int sentToGeneration, String reason) {
        if (coordinator != null && sentToGeneration == generation) {
            log.info("Group coordinator {} of group {} is unavailable or invalid ({}); it will be looked up again",
                    coordinator, groupId, reason);
            coordinator = null;
            generation++;
        }
    }

    @Override
    public PollResult poll(long nowMs) {
        if (!wanted || coordinator != null) {
            return PollResult.NOTHING;
        }
        if (!backoff.canSend(nowMs)) {
            return PollResult.waitFor(backoff.remainingBackoffMs(nowMs));
        }
        backoff.onSend();
        UnsentRequest<Node> request = new UnsentRequest<>(Requests.findCoordinator(groupId), Optional.empty(),
                Priority.SYSTEM, nowMs + requestTimeoutMs, (node, error) -> onResponse(node, error));
        return new PollResult(Long.MAX_VALUE, List.of(request));
    }

    private void onResponse(Node node, Throwable error) {
        if (error == null) {
            backoff.onSuccess();
            coordinator = node;
            generation++;
            wanted = false;
            fatalError = null;
            log.debug("Found group coordinator {} for group {}", node, groupId);
        } else {
            backoff.onFailure(clock.milliseconds());
            if (error instanceof dev.lanes.consumer.ConsumerClosedException) {
                return; // discarded at close: nothing failed
            }
            if (!(error instanceof RetriableException)) {
                // Authorization or an unsupported broker: retrying cannot help, the waiting operations fail.
                log.warn("FindCoordinator for group {} failed: {}", groupId, error.toString());
                fatalError = error instanceof RuntimeException ? (RuntimeException) error : new RuntimeException(error);
            }
        }
    }
}
