package dev.lanes.spring.listener;

import dev.lanes.spring.ListenerConsumer;

import java.time.Duration;

/** What a {@link ConsumerSlot} asks of the container it belongs to: its lifecycle and its consumers. */
interface SlotOwner {

    /** The listener id. */
    String listenerId();

    /** Whether the container runs; false once a stop began. Any thread. */
    boolean isRunning();

    /** Whether the slot keeps its partitions paused: the container is paused, or its consumers are not balanced yet. */
    boolean holding(ConsumerSlot slot);

    /** How long a commit or a close may take now: what is left before the stop deadline, once a stop began. */
    Duration remaining();

    /** How many slots share the listener's explicitly assigned partitions. */
    int slotCount();

    /** A new consumer for the slot, with the container's settings and the slot's client id. */
    ListenerConsumer<Object, Object> createConsumer(int slotIndex);

    /**
     * Waits {@code backOff}, ended at once by a stop, then, if the container still runs, calls {@code replace}
     * excluding a concurrent stop (so a stop always finds, and wakes up, the consumer that replaced the failed one).
     *
     * @return false when the container stopped meanwhile
     * @throws InterruptedException when the slot's thread was interrupted while waiting
     */
    boolean replaceAfter(Duration backOff, Runnable replace) throws InterruptedException;

    /** Closes a consumer of the slot within {@code timeout}. */
    void closeConsumer(ListenerConsumer<Object, Object> consumer, Duration timeout);
}
