package dev.lanes.spring.autoconfigure;

import dev.lanes.consumer.LanesConsumer;
import dev.lanes.spring.LanesConsumerFactory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;

import java.time.Duration;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** The start-up log of a consumer shows the settings that apply, not the classic protocol's defaults. */
@ExtendWith(OutputCaptureExtension.class)
class ConsumerStartupLogTests {

    @Test
    void theStartupLogShowsTheGivenSettingsAndWarnsAboutThoseTheBrokerDecides(CapturedOutput output) {
        new ApplicationContextRunner().withConfiguration(AutoConfigurations.of(LanesAutoConfiguration.class))
                .withPropertyValues("lanes.consumer.bootstrap-servers=127.0.0.1:1", "lanes.consumer.group-id=g",
                        "lanes.consumer.properties.session.timeout.ms=30000",
                        "lanes.consumer.properties.ssl.key.password=very-secret")
                .run(context -> {
                    @SuppressWarnings("unchecked")
                    LanesConsumerFactory<Object, Object> factory = context.getBean(LanesConsumerFactory.class);
                    LanesConsumer<Object, Object> consumer = factory.createConsumer("log", Map.of("client.id", "log-0"));
                    consumer.close(Duration.ZERO);
                });
        assertThat(output).contains("Lanes consumer log-0 (consumer group protocol, KIP-848) starts with these settings")
                .contains("group.id = g")
                .contains("lanes.user.lane.capacity = ")
                .contains("ssl.key.password = [hidden]")
                .contains("session.timeout.ms has no effect: with the consumer group protocol the broker decides it")
                .doesNotContain("very-secret")
                .doesNotContain("group.protocol = classic")
                .doesNotContain("ConsumerConfig values");
    }
}
