package dev.lanes.spring;

import java.util.Map;

/**
 * Customizes the settings every Lanes consumer of the application starts from (after the
 * {@code lanes.consumer.*} properties are applied). Beans of this type are applied in order
 * ({@link org.springframework.core.Ordered} / {@link org.springframework.core.annotation.Order}).
 */
@FunctionalInterface
public interface LanesConsumerCustomizer {

    /** Changes {@code configuration}, a mutable map of consumer and {@code lanes.} settings. */
    void customize(Map<String, Object> configuration);
}
