package dev.lanes.spring;

import java.util.Collection;
import java.util.Optional;

/** The listener containers of the application, started and stopped with the context. */
public interface LanesListenerContainerRegistry {

    Collection<LanesListenerContainer> containers();

    Optional<LanesListenerContainer> container(String id);
}
