package dev.lanes.consumer.internals.app;

import dev.lanes.consumer.internals.common.Clock;
import dev.lanes.consumer.internals.shared.Lane;
import dev.lanes.consumer.internals.shared.RebalanceCallbackQueue;
import dev.lanes.consumer.internals.events.RebalanceCallback;
import dev.lanes.consumer.internals.events.RebalanceCallbackCompletedEvent;
import dev.lanes.consumer.internals.metrics.LanesConsumerMetrics;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;

import java.util.Collection;
import java.util.Optional;
import java.util.Set;
import java.util.function.Consumer;

/**
 * Runs the application's {@link ConsumerRebalanceListener} on the application thread (R3, R15): the
 * callbacks the background thread asked for, each acknowledged on the system lane, and those the consumer
 * runs itself when it gives up its partitions (close, unsubscribe).
 *
 * <p>Application thread only: the consumer's thread guard keeps other threads out.
 */
public final class RebalanceListenerInvoker {

    /** The listener of a subscription made without one. */
    public static final ConsumerRebalanceListener NO_OP_LISTENER = new ConsumerRebalanceListener() {
        @Override
        public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
        }

        @Override
        public void onPartitionsAssigned(Collection<TopicPartition> partitions) {
        }
    };

    private final RebalanceCallbackQueue requested;
    private final Lane systemLane;
    private final Runnable wakeBackground;
    private final Consumer<Set<TopicPartition>> dropBuffered;
    private final Clock clock;
    private final LanesConsumerMetrics metrics;
    private ConsumerRebalanceListener listener = NO_OP_LISTENER;

    /**
     * @param requested      the callbacks the background thread asks for
     * @param systemLane     where acknowledgements go
     * @param wakeBackground wakes the background thread after an acknowledgement
     * @param dropBuffered   drops fetched records of partitions given up, so that none is returned after the
     *                       revocation callback
     * @param clock          times the callbacks and their wait
     * @param metrics        where those times go
     */
    public RebalanceListenerInvoker(RebalanceCallbackQueue requested, Lane systemLane, Runnable wakeBackground,
                                    Consumer<Set<TopicPartition>> dropBuffered, Clock clock, LanesConsumerMetrics metrics) {
        this.clock = clock;
        this.metrics = metrics;
        this.requested = requested;
        this.systemLane = systemLane;
        this.wakeBackground = wakeBackground;
        this.dropBuffered = dropBuffered;
    }

    /** The listener of the current subscription; {@link #NO_OP_LISTENER} when there is none. */
    public void use(ConsumerRebalanceListener listener) {
        this.listener = listener;
    }

    /**
     * Runs every callback the background thread asked for and acknowledges each, with what the listener
     * threw, if anything. Every callback runs even if an earlier one throws; the first exception is
     * rethrown once all are acknowledged.
     */
    public void runRequested() {
        RebalanceCallback callback;
        RuntimeException firstError = null;
        long startNanos = clock.nanoseconds();
        boolean ran = false;
        while ((callback = requested.next()) != null) {
            ran = true;
            long callbackStart = clock.nanoseconds();
            metrics.consumerThread().backgroundEventQueued(callbackStart - callback.requestedNanos());
            Optional<Exception> error = Optional.empty();
            try {
                invoke(callback.kind(), callback.partitions());
            } catch (RuntimeException e) {
                error = Optional.of(e);
                if (firstError == null) {
                    firstError = e;
                }
            }
            metrics.callbackRan(callback.kind(), clock.nanoseconds() - callbackStart);
            if (callback.kind() != RebalanceCallback.Kind.ASSIGNED) {
                dropBuffered.accept(callback.partitions());
            }
            if (!systemLane.offer(new RebalanceCallbackCompletedEvent(callback.id(), error))) {
                throw new IllegalStateException("The system lane is full; rebalance callback " + callback.id()
                        + " cannot be acknowledged");
            }
            wakeBackground.run();
        }
        if (ran) {
            metrics.consumerThread().backgroundEventsProcessed(clock.nanoseconds() - startNanos);
        }
        if (firstError != null) {
            // As KafkaConsumer reports it: a KafkaException as is, anything else wrapped with this message.
            throw firstError instanceof KafkaException ? firstError
                    : new KafkaException("User rebalance callback throws an error", firstError);
        }
    }

    /** Runs one method of the listener. */
    public void invoke(RebalanceCallback.Kind kind, Set<TopicPartition> partitions) {
        switch (kind) {
            case REVOKED:
                listener.onPartitionsRevoked(partitions);
                break;
            case ASSIGNED:
                listener.onPartitionsAssigned(partitions);
                break;
            case LOST:
                listener.onPartitionsLost(partitions);
                break;
            default:
                throw new IllegalStateException("Unknown rebalance callback " + kind);
        }
    }
}
