package dev.lanes.spring.actuate;

import dev.lanes.spring.ListenerConsumer;
import dev.lanes.spring.LanesListenerContainer;
import dev.lanes.spring.LanesListenerContainerRegistry;
import org.springframework.boot.health.contributor.AbstractHealthIndicator;
import org.springframework.boot.health.contributor.Health;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * DOWN when a consumer of a listener container is broken: its background thread died while it was open
 * (details: listener id, client id, cause) or its group member state is FATAL; UP otherwise. Details
 * list every consumer's member state, back-pressure figures and lane depths, keyed by client id.
 */
public class LanesHealthIndicator extends AbstractHealthIndicator {

    private final LanesListenerContainerRegistry registry;

    public LanesHealthIndicator(LanesListenerContainerRegistry registry) {
        super("Lanes health check failed");
        this.registry = registry;
    }

    @Override
    protected void doHealthCheck(Health.Builder builder) {
        Map<String, Object> consumers = new LinkedHashMap<>();
        List<Map<String, Object>> failures = new ArrayList<>();
        for (LanesListenerContainer container : registry.containers()) {
            for (ListenerConsumer<?, ?> consumer : container.consumers()) {
                ConsumerDescriptor descriptor = ConsumerDescriptor.of(consumer);
                Map<String, Object> details = new LinkedHashMap<>();
                details.put("listenerId", container.id());
                details.put("memberState", descriptor.memberState());
                details.put("backgroundThreadAlive", descriptor.backgroundThreadAlive());
                details.put("backPressure", descriptor.backPressure());
                details.put("lanes", descriptor.lanes());
                consumers.put(descriptor.clientId(), details);
                if (ConsumerDescriptor.isBroken(consumer)) {
                    Map<String, Object> failure = new LinkedHashMap<>();
                    failure.put("listenerId", container.id());
                    failure.put("clientId", descriptor.clientId());
                    failure.put("memberState", descriptor.memberState());
                    failure.put("cause", descriptor.backgroundFailure() != null ? descriptor.backgroundFailure()
                            : descriptor.backgroundThreadAlive() ? "member state FATAL" : "background thread stopped");
                    failures.add(failure);
                }
            }
        }
        if (failures.isEmpty()) {
            builder.up();
        } else {
            builder.down().withDetail("failures", failures);
        }
        builder.withDetail("consumers", consumers);
    }
}
