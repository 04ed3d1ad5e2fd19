package dev.lanes.spring.kafka.diagnostics;

import dev.lanes.spring.kafka.LanesKafkaConsumerFactory;
import org.apache.kafka.common.config.ConfigException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.springframework.boot.SpringBootConfiguration;
import org.springframework.boot.WebApplicationType;
import org.springframework.boot.autoconfigure.EnableAutoConfiguration;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.boot.diagnostics.FailureAnalysis;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;

import java.util.HashMap;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

@ExtendWith(OutputCaptureExtension.class)
class LanesKafkaConfigurationFailureAnalyzerTest {

    private final LanesKafkaConfigurationFailureAnalyzer analyzer = new LanesKafkaConfigurationFailureAnalyzer();

    private static ConfigException failureOf(Map<String, Object> settings) {
        Map<String, Object> configs = new HashMap<>(Map.of("bootstrap.servers", "127.0.0.1:9"));
        configs.putAll(settings);
        return catchThrowableOfType(ConfigException.class, () -> new LanesKafkaConsumerFactory<String, String>(configs));
    }

    @Test
    void classicOnlySettingsAreNamedAsSpringKafkaProperties() {
        FailureAnalysis analysis = analyzer.analyze(failureOf(Map.of("heartbeat.interval.ms", "3000",
                "session.timeout.ms", "10000")));
        assertThat(analysis.getDescription()).contains("session.timeout.ms, heartbeat.interval.ms cannot be set with Lanes");
        assertThat(analysis.getAction()).contains("'spring.kafka.consumer.heartbeat-interval' (consumer key 'heartbeat.interval.ms')")
                .contains("'spring.kafka.consumer.properties[session.timeout.ms]' (consumer key 'session.timeout.ms')");
    }

    @Test
    void classicGroupProtocolIsNamedAsItsPropertiesEntry() {
        FailureAnalysis analysis = analyzer.analyze(failureOf(Map.of("group.protocol", "classic")));
        assertThat(analysis.getDescription())
                .startsWith("The spring-kafka consumer setting 'spring.kafka.consumer.properties[group.protocol]'")
                .contains("invalid value 'classic'").contains("consumer group protocol (KIP-848)");
    }

    @Test
    void aBadValueNamesTheSpringKafkaProperty() {
        FailureAnalysis analysis = analyzer.analyze(failureOf(Map.of("max.poll.records", "many")));
        assertThat(analysis.getDescription()).contains("'spring.kafka.consumer.max-poll-records' (consumer key 'max.poll.records')");
    }

    @Test
    void otherConfigExceptionsAreLeftToTheOtherAnalyzers() {
        assertThat(analyzer.analyze(new ConfigException("max.poll.records", "many", "not a number"))).isNull();
    }

    @Test
    void startUpFailsWithTheSpringKafkaExplanation(CapturedOutput output) {
        assertThatThrownBy(() -> new SpringApplicationBuilder(App.class).web(WebApplicationType.NONE)
                .properties("lanes.spring-kafka.enabled=true", "spring.kafka.bootstrap-servers=127.0.0.1:9",
                        "spring.kafka.consumer.heartbeat-interval=3s")
                .run()).hasRootCauseInstanceOf(ConfigException.class);
        assertThat(output).contains("APPLICATION FAILED TO START")
                .contains("Remove 'spring.kafka.consumer.heartbeat-interval' (consumer key 'heartbeat.interval.ms')");
    }

    @SpringBootConfiguration
    @EnableAutoConfiguration
    static class App {
    }
}
