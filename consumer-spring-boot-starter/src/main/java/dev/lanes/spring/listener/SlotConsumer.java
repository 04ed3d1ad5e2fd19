package dev.lanes.spring.listener;

import dev.lanes.spring.ListenerConsumer;
import org.apache.kafka.clients.consumer.Consumer;

/**
 * One consumer of a slot with its progress and its committer. A replacement consumer starts with new ones, so
 * nothing of the failed consumer's work carries over.
 */
final class SlotConsumer {

    private final ListenerConsumer<Object, Object> consumer;
    private final PartitionProgress progress = new PartitionProgress();
    private final OffsetCommitter committer;
    private final Consumer<Object, Object> listenerView;

    SlotConsumer(String listenerId, ListenerConsumer<Object, Object> consumer) {
        this.consumer = consumer;
        this.committer = new OffsetCommitter(listenerId, consumer.consumer());
        this.listenerView = ReadOnlyConsumer.of(consumer::consumer);
    }

    ListenerConsumer<Object, Object> listenerConsumer() {
        return consumer;
    }

    /** The consumer's API; only the slot's thread calls it. */
    Consumer<Object, Object> consumer() {
        return consumer.consumer();
    }

    String clientId() {
        return consumer.clientId();
    }

    PartitionProgress progress() {
        return progress;
    }

    OffsetCommitter committer() {
        return committer;
    }

    /** What a listener method that takes a {@link Consumer} gets: the reads only. */
    Consumer<Object, Object> listenerView() {
        return listenerView;
    }
}
