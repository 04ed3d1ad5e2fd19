package dev.lanes.spring.listener;

import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.common.TopicPartition;

import java.time.Duration;
import java.util.Collection;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

/**
 * Keeps a slot's progress in step with its consumer's assignment: commits the processed offsets of partitions
 * before they go, pauses new partitions while the slot holds back, then calls the user's rebalance listener.
 * Called on the slot's thread, inside {@code poll}.
 */
final class SlotRebalanceListener implements ConsumerRebalanceListener {

    private final SlotConsumer consumer;
    private final Runnable joined;
    private final BooleanSupplier holding;
    private final Supplier<Duration> commitTimeout;
    private final ConsumerRebalanceListener delegate;

    /**
     * @param joined        told of every assignment, before the slot is asked whether it holds back
     * @param holding       whether the slot keeps its partitions paused
     * @param commitTimeout how long the commit before a revocation may take
     * @param delegate      the user's listener, or null
     */
    SlotRebalanceListener(SlotConsumer consumer, Runnable joined, BooleanSupplier holding, Supplier<Duration> commitTimeout,
                          ConsumerRebalanceListener delegate) {
        this.consumer = consumer;
        this.joined = joined;
        this.holding = holding;
        this.commitTimeout = commitTimeout;
        this.delegate = delegate;
    }

    @Override
    public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
        consumer.committer().commitSync(consumer.progress().revoked(partitions), commitTimeout.get());
        if (delegate != null) {
            delegate.onPartitionsRevoked(partitions);
        }
    }

    @Override
    public void onPartitionsAssigned(Collection<TopicPartition> partitions) {
        consumer.progress().assigned(partitions);
        joined.run();
        if (holding.getAsBoolean() && !partitions.isEmpty()) {
            consumer.consumer().pause(partitions);
        }
        if (delegate != null) {
            delegate.onPartitionsAssigned(partitions);
        }
    }

    @Override
    public void onPartitionsLost(Collection<TopicPartition> partitions) {
        consumer.progress().lost(partitions);
        if (delegate != null) {
            delegate.onPartitionsLost(partitions);
        }
    }
}
