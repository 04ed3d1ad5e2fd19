package dev.lanes.spring.kafka.actuate;

import dev.lanes.consumer.LanesConsumer;
import dev.lanes.spring.actuate.ConsumerDescriptor;
import dev.lanes.spring.kafka.LanesContainerConsumers;
import org.jspecify.annotations.Nullable;
import org.springframework.boot.health.contributor.AbstractHealthIndicator;
import org.springframework.boot.health.contributor.Health;
import org.springframework.boot.health.contributor.HealthIndicator;
import org.springframework.boot.health.contributor.Status;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The {@code lanes} health of the Lanes consumers of spring-kafka listener containers: DOWN when one is
 * broken (its background thread died, or its member state is FATAL), UP otherwise. Details list every
 * consumer by client id with its listener id, member state, back-pressure figures and lane depths. When the
 * application also has {@code @LanesListener} containers, their health (the starter's indicator, given as
 * {@code alsoReport}) is merged in, so that {@code lanes} still covers every Lanes consumer.
 */
public class LanesKafkaHealthIndicator extends AbstractHealthIndicator {

    private final LanesContainerConsumers consumers;
    private final @Nullable HealthIndicator alsoReport;

    public LanesKafkaHealthIndicator(LanesContainerConsumers consumers, @Nullable HealthIndicator alsoReport) {
        super("Lanes health check failed");
        this.consumers = consumers;
        this.alsoReport = alsoReport;
    }

    @Override
    protected void doHealthCheck(Health.Builder builder) {
        Map<String, Object> details = new LinkedHashMap<>();
        List<Object> failures = new ArrayList<>();
        consumers.consumers().forEach((consumer, listenerId) -> describe(consumer, listenerId, details, failures));
        if (alsoReport != null) {
            merge(alsoReport.health(), details, failures);
        }
        if (failures.isEmpty()) {
            builder.up();
        } else {
            builder.down().withDetail("failures", failures);
        }
        builder.withDetail("consumers", details);
    }

    private static void describe(LanesConsumer<?, ?> consumer, @Nullable String listenerId, Map<String, Object> details,
                                 List<Object> failures) {
        ConsumerDescriptor descriptor = ConsumerDescriptor.of(consumer);
        Map<String, Object> detail = new LinkedHashMap<>();
        detail.put("listenerId", listenerId == null ? "none" : listenerId);
        detail.put("memberState", descriptor.memberState());
        detail.put("backgroundThreadAlive", descriptor.backgroundThreadAlive());
        detail.put("backPressure", descriptor.backPressure());
        detail.put("lanes", descriptor.lanes());
        details.put(descriptor.clientId(), detail);
        if (ConsumerDescriptor.isBroken(consumer)) {
            Map<String, Object> failure = new LinkedHashMap<>();
            failure.put("listenerId", listenerId == null ? "none" : listenerId);
            failure.put("clientId", descriptor.clientId());
            failure.put("memberState", descriptor.memberState());
            failure.put("cause", descriptor.backgroundFailure() != null ? descriptor.backgroundFailure()
                    : descriptor.backgroundThreadAlive() ? "member state FATAL" : "background thread stopped");
            failures.add(failure);
        }
    }

    private static void merge(@Nullable Health other, Map<String, Object> details, List<Object> failures) {
        if (other == null) {
            return;
        }
        if (other.getDetails().get("consumers") instanceof Map<?, ?> otherConsumers) {
            otherConsumers.forEach((clientId, detail) -> details.put(String.valueOf(clientId), detail));
        }
        if (other.getDetails().get("failures") instanceof List<?> otherFailures) {
            failures.addAll(otherFailures);
        } else if (Status.DOWN.equals(other.getStatus())) {
            failures.add(Map.of("cause", "@LanesListener containers: " + other.getDetails()));
        }
    }
}
