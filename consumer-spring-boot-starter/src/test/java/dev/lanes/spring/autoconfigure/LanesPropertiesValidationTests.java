package dev.lanes.spring.autoconfigure;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledForJreRange;
import org.junit.jupiter.api.condition.JRE;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.springframework.boot.WebApplicationType;
import org.springframework.boot.autoconfigure.ImportAutoConfiguration;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import org.springframework.context.annotation.Configuration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Every property of LanesProperties with a bad value stops start-up with a report naming that property. */
@ExtendWith(OutputCaptureExtension.class)
class LanesPropertiesValidationTests {

    @ParameterizedTest(name = "{0}={1}")
    @CsvSource(delimiter = '|', value = {
            "lanes.consumer.bootstrap-servers    | localhost             | lanes.consumer.bootstrap-servers     | is not host:port",
            "lanes.consumer.bootstrap-servers    | ''                    | lanes.consumer.bootstrap-servers     | at least one host:port",
            "lanes.consumer.key-deserializer     | java.lang.String      | lanes.consumer.key-deserializer      | does not implement org.apache.kafka.common.serialization.Deserializer",
            "lanes.consumer.value-deserializer   | java.lang.Integer     | lanes.consumer.value-deserializer    | does not implement",
            "lanes.consumer.auto-offset-reset    | sometimes             | lanes.consumer.auto-offset-reset     | by_duration",
            "lanes.consumer.max-poll-records     | 0                     | lanes.consumer.max-poll-records      | Value must be at least 1",
            "lanes.consumer.user-lane-capacity   | 0                     | lanes.consumer.user-lane-capacity    | Value must be at least 1",
            "lanes.consumer.fetch-buffer-max-bytes | 1B                  | lanes.consumer.fetch-buffer-max-bytes | Value must be at least",
            "lanes.consumer.poll-timeout         | -1s                   | lanes.consumer.poll-timeout          | must be longer than 0",
            "lanes.consumer.poll-timeout         | 0s                    | lanes.consumer.poll-timeout          | must be longer than 0",
            "lanes.consumer.shutdown-timeout     | -1s                   | lanes.consumer.shutdown-timeout      | must not be negative",
            "lanes.consumer.properties.max.poll.records | many           | lanes.consumer.properties[max.poll.records] | Not a number of type INT",
            "lanes.consumer.properties.auto.offset.reset | sometimes     | lanes.consumer.properties[auto.offset.reset] | by_duration",
            "lanes.consumer.properties.enable.auto.commit | true         | lanes.consumer.properties[enable.auto.commit] | commit the offsets of processed records themselves",
            "lanes.consumer.properties.group.protocol | classic        | lanes.consumer.properties[group.protocol] | Lanes speaks only the consumer group protocol",
            "lanes.consumer.properties.lanes.user.lane.capacity | -5     | lanes.consumer.properties[lanes.user.lane.capacity] | Value must be at least 1",
            "lanes.consumer.listener.concurrency | 0                     | lanes.consumer.listener.concurrency  | must be at least 1",
            "lanes.consumer.listener.retry.attempts | -1                 | lanes.consumer.listener.retry.attempts | must not be negative",
            "lanes.consumer.listener.retry.back-off | -100ms             | lanes.consumer.listener.retry.back-off | must not be negative",
            "lanes.consumer.listener.dead-letter.topic-suffix | ''      | lanes.consumer.listener.dead-letter.topic-suffix | must not be empty",
            "lanes.consumer.listener.replace-back-off | -1s             | lanes.consumer.listener.replace-back-off | must not be negative",
            "lanes.consumer.listener.start-balance-timeout | -1s        | lanes.consumer.listener.start-balance-timeout | must not be negative",
            "lanes.consumer.listener.retry.multiplier | 0.5             | lanes.consumer.listener.retry.multiplier | must be at least 1",
            "lanes.consumer.listener.retry.max-back-off | -1s           | lanes.consumer.listener.retry.max-back-off | must not be negative",
            "lanes.consumer.listener.retry.max-elapsed-time | -1s       | lanes.consumer.listener.retry.max-elapsed-time | must not be negative",
            "lanes.consumer.listener.retry.not-retryable-exceptions | java.lang.String | lanes.consumer.listener.retry.not-retryable-exceptions | java.lang.String is not an exception type",
            "lanes.consumer.listener.dead-letter.key-serializer | java.lang.String | lanes.consumer.listener.dead-letter.key-serializer | does not implement org.apache.kafka.common.serialization.Serializer",
            "lanes.consumer.listener.dead-letter.value-serializer | java.lang.Long | lanes.consumer.listener.dead-letter.value-serializer | does not implement",
            "lanes.consumer.listeners.orders.retry.attempts | -3        | lanes.consumer.listeners[orders].retry.attempts | must not be negative",
    })
    void aBadValueFailsStartupNamingTheProperty(String property, String value, String reported, String reason,
                                               CapturedOutput output) {
        assertThatThrownBy(() -> start(property + "=" + value)).isInstanceOf(Exception.class);
        assertThat(output).contains("APPLICATION FAILED TO START")
                .contains("Property: " + reported)
                .contains(reason);
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
            "lanes.consumer.listener.concurrency=many            | lanes.consumer.listener.concurrency",
            "lanes.consumer.listener.commit-mode=sometimes       | lanes.consumer.listener.commit-mode",
            "lanes.consumer.heartbeat-overdue-hold=soon          | lanes.consumer.heartbeat-overdue-hold",
            "lanes.consumer.listener.dead-letter.enabled=perhaps | lanes.consumer.listener.dead-letter.enabled",
            "lanes.consumer.listener.dead-letter.create-topic=perhaps | lanes.consumer.listener.dead-letter.create-topic",
            "lanes.consumer.listener.replace-failed-consumers=perhaps | lanes.consumer.listener.replace-failed-consumers",
            "lanes.consumer.listener.retry.not-retryable-exceptions=com.example.NoSuchException | lanes.consumer.listener.retry.not-retryable-exceptions",
            "lanes.consumer.value-deserializer=com.example.NoSuchDeserializer | lanes.consumer.value-deserializer",
            "lanes.consumer.kafka-client-metrics.enabled=perhaps | lanes.consumer.kafka-client-metrics.enabled",
    })
    void aValueOfTheWrongTypeNamesThePropertyToo(String setting, String property, CapturedOutput output) {
        assertThatThrownBy(() -> start(setting)).isInstanceOf(Exception.class);
        assertThat(output).contains("APPLICATION FAILED TO START").contains("Property: " + property);
    }

    @Test
    void everyProblemIsReportedAtOnce(CapturedOutput output) {
        assertThatThrownBy(() -> start("lanes.consumer.listener.concurrency=0", "lanes.consumer.poll-timeout=-1s",
                "lanes.consumer.auto-offset-reset=sometimes")).isInstanceOf(Exception.class);
        assertThat(output).contains("Property: lanes.consumer.listener.concurrency")
                .contains("Property: lanes.consumer.poll-timeout")
                .contains("Property: lanes.consumer.auto-offset-reset");
    }

    @Test
    @EnabledForJreRange(max = JRE.JAVA_20)
    void virtualThreadsBeforeJava21FailStartupNamingTheProperty(CapturedOutput output) {
        assertThatThrownBy(() -> start("lanes.consumer.listener.virtual-threads=true")).isInstanceOf(Exception.class);
        assertThat(output).contains("Property: lanes.consumer.listener.virtual-threads").contains("needs Java 21 or later");
    }

    @Test
    void goodValuesStart() {
        start("lanes.consumer.auto-offset-reset=by_duration:PT1H", "lanes.consumer.poll-timeout=100ms",
                "lanes.consumer.listener.retry.attempts=0", "lanes.consumer.properties.max.poll.records=10",
                "lanes.consumer.properties.enable.auto.commit=false").close();
    }

    private static org.springframework.context.ConfigurableApplicationContext start(String... properties) {
        return new SpringApplicationBuilder(App.class).web(WebApplicationType.NONE).properties(properties).run();
    }

    @Configuration(proxyBeanMethods = false)
    @ImportAutoConfiguration(LanesAutoConfiguration.class)
    static class App {
    }
}
