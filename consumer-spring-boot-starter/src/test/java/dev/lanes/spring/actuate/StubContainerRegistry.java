package dev.lanes.spring.actuate;

import dev.lanes.spring.LanesListenerContainer;
import dev.lanes.spring.LanesListenerContainerRegistry;

import java.util.Collection;
import java.util.List;
import java.util.Optional;

/** A registry of the containers the test made. */
final class StubContainerRegistry implements LanesListenerContainerRegistry {

    private final List<LanesListenerContainer> containers;

    StubContainerRegistry(LanesListenerContainer... containers) {
        this.containers = List.of(containers);
    }

    @Override
    public Collection<LanesListenerContainer> containers() {
        return containers;
    }

    @Override
    public Optional<LanesListenerContainer> container(String id) {
        return containers.stream().filter(container -> container.id().equals(id)).findFirst();
    }
}
