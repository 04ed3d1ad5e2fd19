package dev.lanes.spring;

/**
 * Customizes every listener container when it is created, before it starts. Beans of this type are
 * applied in order ({@link org.springframework.core.Ordered} / {@link org.springframework.core.annotation.Order}).
 */
@FunctionalInterface
public interface LanesListenerContainerCustomizer {

    void customize(ConfigurableLanesListenerContainer container);
}
