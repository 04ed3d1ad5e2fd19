package dev.lanes.spring;

import org.springframework.context.SmartLifecycle;

import java.util.Collection;
import java.util.List;

/**
 * Runs the consumers of one {@link LanesListener} endpoint, each on its own application thread, and
 * hands their records to the listener method.
 */
public interface LanesListenerContainer extends SmartLifecycle {

    /** The listener id. */
    String id();

    /** The consumer group. */
    String groupId();

    /** The topics (or the pattern, as one entry) the container subscribes to. */
    Collection<String> topics();

    /**
     * The consumers running now (one per concurrency slot), each with its any-thread diagnostics. Only the
     * container's threads call their {@code Consumer} API; other code reads their diagnostics and metrics.
     */
    List<ListenerConsumer<?, ?>> consumers();

    /** Stops fetching for every assigned partition until {@link #resume()}. */
    void pause();

    void resume();

    boolean isPaused();
}
