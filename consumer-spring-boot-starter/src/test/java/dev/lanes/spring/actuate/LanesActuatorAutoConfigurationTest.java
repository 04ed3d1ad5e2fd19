package dev.lanes.spring.actuate;

import dev.lanes.spring.LanesListenerContainerRegistry;
import org.junit.jupiter.api.Test;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.health.contributor.HealthIndicator;
import org.springframework.boot.test.context.FilteredClassLoader;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;

import static org.assertj.core.api.Assertions.assertThat;

class LanesActuatorAutoConfigurationTest {

    private final ApplicationContextRunner runner = new ApplicationContextRunner()
            .withConfiguration(AutoConfigurations.of(LanesActuatorAutoConfiguration.class));

    private final ApplicationContextRunner withRegistry = runner
            .withBean(LanesListenerContainerRegistry.class, StubContainerRegistry::new);

    @Test
    void withoutAContainerRegistryThereIsNothing() {
        runner.withPropertyValues("management.endpoints.web.exposure.include=lanes").run(context -> {
            assertThat(context).doesNotHaveBean(LanesHealthIndicator.class);
            assertThat(context).doesNotHaveBean(LanesEndpoint.class);
        });
    }

    @Test
    void healthIndicatorIsThereByDefault() {
        withRegistry.run(context -> {
            assertThat(context).hasSingleBean(LanesHealthIndicator.class);
            assertThat(context).hasBean("lanesHealthIndicator");
        });
    }

    @Test
    void healthIndicatorCanBeDisabled() {
        withRegistry.withPropertyValues("management.health.lanes.enabled=false")
                .run(context -> assertThat(context).doesNotHaveBean(LanesHealthIndicator.class));
    }

    @Test
    void withoutSpringBootHealthThereIsNoHealthIndicatorButTheEndpointStays() {
        withRegistry.withClassLoader(new FilteredClassLoader(HealthIndicator.class))
                .withPropertyValues("management.endpoints.web.exposure.include=lanes")
                .run(context -> {
                    assertThat(context).doesNotHaveBean(LanesHealthIndicator.class);
                    assertThat(context).hasSingleBean(LanesEndpoint.class);
                });
    }

    @Test
    void endpointOnlyWhenExposed() {
        withRegistry.run(context -> assertThat(context).doesNotHaveBean(LanesEndpoint.class));
        withRegistry.withPropertyValues("management.endpoints.web.exposure.include=lanes")
                .run(context -> assertThat(context).hasSingleBean(LanesEndpoint.class));
    }

    @Test
    void endpointCanBeTurnedOff() {
        withRegistry.withPropertyValues("management.endpoints.web.exposure.include=lanes",
                        "management.endpoint.lanes.access=NONE")
                .run(context -> assertThat(context).doesNotHaveBean(LanesEndpoint.class));
    }

    @Test
    void withoutActuatorThereIsNothing() {
        withRegistry.withClassLoader(new FilteredClassLoader("org.springframework.boot.actuate"))
                .run(context -> {
                    assertThat(context).doesNotHaveBean(LanesHealthIndicator.class);
                    assertThat(context).doesNotHaveBean(LanesEndpoint.class);
                });
    }

    @Test
    void userBeansReplaceTheDefaults() {
        LanesListenerContainerRegistry other = new StubContainerRegistry();
        withRegistry.withPropertyValues("management.endpoints.web.exposure.include=lanes")
                .withBean("myHealth", LanesHealthIndicator.class, () -> new LanesHealthIndicator(other))
                .withBean("myEndpoint", LanesEndpoint.class, () -> new LanesEndpoint(other))
                .run(context -> {
                    assertThat(context).hasSingleBean(LanesHealthIndicator.class).hasBean("myHealth");
                    assertThat(context).hasSingleBean(LanesEndpoint.class).hasBean("myEndpoint");
                });
    }
}
