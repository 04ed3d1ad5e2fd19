package dev.lanes.spring.diagnostics;

import dev.lanes.consumer.LanesConsumerConfig;
import dev.lanes.spring.autoconfigure.ConsumerSettingCheck;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.common.config.ConfigException;
import org.springframework.boot.diagnostics.AbstractFailureAnalyzer;
import org.springframework.boot.diagnostics.FailureAnalysis;

import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Turns a Kafka {@link ConfigException} (a bad consumer or Lanes setting) into a start-up failure message
 * that names the Spring property to fix.
 */
public class LanesConfigurationFailureAnalyzer extends AbstractFailureAnalyzer<ConfigException> {

    private static final Pattern INVALID = Pattern.compile("^Invalid value (.*?) for configuration ([^\\s:]+?)(?:: (.*))?$", Pattern.DOTALL);
    private static final Pattern MISSING = Pattern.compile("Missing required configuration \"([^\"]+)\"");

    private static final Map<String, String> PROPERTIES = Map.ofEntries(
            Map.entry(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, "lanes.consumer.bootstrap-servers"),
            Map.entry(ConsumerConfig.GROUP_ID_CONFIG, "lanes.consumer.group-id"),
            Map.entry(ConsumerConfig.CLIENT_ID_CONFIG, "lanes.consumer.client-id"),
            Map.entry(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, "lanes.consumer.key-deserializer"),
            Map.entry(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, "lanes.consumer.value-deserializer"),
            Map.entry(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "lanes.consumer.auto-offset-reset"),
            Map.entry(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, "lanes.consumer.max-poll-records"),
            Map.entry(LanesConsumerConfig.USER_LANE_CAPACITY_CONFIG, "lanes.consumer.user-lane-capacity"),
            Map.entry(LanesConsumerConfig.FETCH_BUFFER_MAX_BYTES_CONFIG, "lanes.consumer.fetch-buffer-max-bytes"),
            Map.entry(LanesConsumerConfig.HEARTBEAT_OVERDUE_HOLD_MS_CONFIG, "lanes.consumer.heartbeat-overdue-hold"));

    @Override
    protected FailureAnalysis analyze(Throwable rootFailure, ConfigException cause) {
        String message = String.valueOf(cause.getMessage());
        String key = null;
        String value = null;
        String reason = null;
        Matcher invalid = INVALID.matcher(message);
        Matcher missing = MISSING.matcher(message);
        if (invalid.find()) {
            value = invalid.group(1);
            key = invalid.group(2);
            reason = invalid.group(3);
        } else if (missing.find()) {
            key = missing.group(1);
            reason = "it is required and has no default";
        }
        if (key == null) {
            return new FailureAnalysis("The Lanes consumer configuration is invalid: " + message,
                    "Check the lanes.consumer.* properties of your application.", cause);
        }
        // The lanes.consumer.* properties are checked one by one when they are bound, so a setting that fails here
        // was most likely added by a LanesConsumerCustomizer or a listener container customizer.
        String property = propertyFor(key);
        StringBuilder description = new StringBuilder("The Lanes consumer setting '").append(key).append('\'');
        description.append(value != null ? " has an invalid value '" + value + "'" : " is invalid");
        if (reason != null && !reason.isBlank()) {
            description.append(": ").append(reason.trim());
        }
        StringBuilder action = new StringBuilder("Update '").append(property)
                .append("' in your application's configuration, or the LanesConsumerCustomizer that sets '")
                .append(key).append('\'');
        String valid = ConsumerSettingCheck.validValues(key);
        if (valid != null) {
            action.append("; valid values: ").append(valid);
        }
        action.append('.');
        return new FailureAnalysis(description.toString(), action.toString(), cause);
    }

    /** The Spring property that sets consumer key {@code key}. */
    public static String propertyFor(String key) {
        String property = PROPERTIES.get(key);
        if (property != null) {
            return property;
        }
        return "lanes.consumer.properties[" + key + "]";
    }
}
