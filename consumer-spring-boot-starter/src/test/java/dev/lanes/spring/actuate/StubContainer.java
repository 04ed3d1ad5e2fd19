package dev.lanes.spring.actuate;

import dev.lanes.consumer.LanesConsumer;
import dev.lanes.spring.LanesListenerContainer;
import dev.lanes.spring.ListenerConsumer;

import java.util.Collection;
import java.util.List;

/** A listener container that only holds consumers the test made. */
final class StubContainer implements LanesListenerContainer {

    private final String id;
    private final String groupId;
    private final List<String> topics;
    private final List<ListenerConsumer<?, ?>> consumers;
    private volatile boolean paused;
    private volatile boolean running = true;

    StubContainer(String id, String groupId, List<String> topics, List<LanesConsumer<?, ?>> consumers) {
        this.id = id;
        this.groupId = groupId;
        this.topics = topics;
        this.consumers = consumers.stream().<ListenerConsumer<?, ?>>map(ListenerConsumer::of).toList();
    }

    @Override
    public String id() {
        return id;
    }

    @Override
    public String groupId() {
        return groupId;
    }

    @Override
    public Collection<String> topics() {
        return topics;
    }

    @Override
    public List<ListenerConsumer<?, ?>> consumers() {
        return consumers;
    }

    @Override
    public void pause() {
        paused = true;
    }

    @Override
    public void resume() {
        paused = false;
    }

    @Override
    public boolean isPaused() {
        return paused;
    }

    @Override
    public void start() {
        running = true;
    }

    @Override
    public void stop() {
        running = false;
    }

    @Override
    public boolean isRunning() {
        return running;
    }
}
