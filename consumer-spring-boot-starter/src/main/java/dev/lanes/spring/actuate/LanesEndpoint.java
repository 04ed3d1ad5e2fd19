package dev.lanes.spring.actuate;

import dev.lanes.spring.LanesListenerContainer;
import dev.lanes.spring.LanesListenerContainerRegistry;
import org.springframework.boot.actuate.endpoint.annotation.Endpoint;
import org.springframework.boot.actuate.endpoint.annotation.ReadOperation;
import org.springframework.boot.actuate.endpoint.annotation.Selector;

import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The {@code lanes} endpoint: the listener containers and, for each consumer, its member state, number
 * of assigned partitions, lane depths and back-pressure figures. Reads only what any thread may read.
 */
@Endpoint(id = "lanes")
public class LanesEndpoint {

    private final LanesListenerContainerRegistry registry;

    public LanesEndpoint(LanesListenerContainerRegistry registry) {
        this.registry = registry;
    }

    @ReadOperation
    public LanesDescriptor lanes() {
        Map<String, ContainerDescriptor> containers = new LinkedHashMap<>();
        for (LanesListenerContainer container : registry.containers()) {
            containers.put(container.id(), ContainerDescriptor.of(container));
        }
        return new LanesDescriptor(containers);
    }

    /** One container, or null (404) when there is none with that id. */
    @ReadOperation
    public ContainerDescriptor container(@Selector String id) {
        return registry.container(id).map(ContainerDescriptor::of).orElse(null);
    }

    /** @param containers the listener containers by listener id */
    public record LanesDescriptor(Map<String, ContainerDescriptor> containers) {
    }

    /**
     * @param groupId   the consumer group
     * @param topics    the topics (or pattern) subscribed to
     * @param running   whether the container runs
     * @param paused    whether the container paused fetching
     * @param consumers its consumers
     */
    public record ContainerDescriptor(String groupId, Collection<String> topics, boolean running, boolean paused,
                                      List<ConsumerDescriptor> consumers) {

        static ContainerDescriptor of(LanesListenerContainer container) {
            List<ConsumerDescriptor> consumers = container.consumers().stream()
                    .map(ConsumerDescriptor::of)
                    .toList();
            return new ContainerDescriptor(container.groupId(), List.copyOf(container.topics()), container.isRunning(),
                    container.isPaused(), consumers);
        }
    }
}
