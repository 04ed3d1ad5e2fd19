package dev.lanes.spring.kafka.diagnostics;

import dev.lanes.consumer.LanesConsumerConfig;
import dev.lanes.spring.kafka.LanesKafkaConsumerFactory;
import org.apache.kafka.clients.CommonClientConfigs;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.common.config.ConfigException;
import org.springframework.boot.diagnostics.AbstractFailureAnalyzer;
import org.springframework.boot.diagnostics.FailureAnalysis;
import org.springframework.core.Ordered;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Explains a {@link ConfigException} thrown by a {@link LanesKafkaConsumerFactory} (a bad setting, the classic
 * group protocol, a classic-only setting) in terms of the {@code spring.kafka.*} properties that gave it.
 * Other ConfigExceptions are left to the other analyzers (the starter's names {@code lanes.consumer.*}).
 */
public class LanesKafkaConfigurationFailureAnalyzer extends AbstractFailureAnalyzer<ConfigException> implements Ordered {

    private static final Pattern INVALID = Pattern.compile("Invalid value (.*?) for configuration ([^\\s:]+)(?::\\s*(.*))?", Pattern.DOTALL);
    private static final Pattern MISSING = Pattern.compile("Missing required configuration \"([^\"]+)\"");
    private static final Pattern CLASSIC_ONLY = Pattern.compile("^([\\w.]+(?:, [\\w.]+)*) cannot be set with Lanes");

    private static final Map<String, String> PROPERTIES = Map.ofEntries(
            Map.entry(CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG, "spring.kafka.consumer.bootstrap-servers"),
            Map.entry(CommonClientConfigs.SECURITY_PROTOCOL_CONFIG, "spring.kafka.consumer.security.protocol"),
            Map.entry(ConsumerConfig.GROUP_ID_CONFIG, "spring.kafka.consumer.group-id"),
            Map.entry(ConsumerConfig.CLIENT_ID_CONFIG, "spring.kafka.consumer.client-id"),
            Map.entry(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "spring.kafka.consumer.auto-offset-reset"),
            Map.entry(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "spring.kafka.consumer.enable-auto-commit"),
            Map.entry(ConsumerConfig.AUTO_COMMIT_INTERVAL_MS_CONFIG, "spring.kafka.consumer.auto-commit-interval"),
            Map.entry(ConsumerConfig.FETCH_MAX_WAIT_MS_CONFIG, "spring.kafka.consumer.fetch-max-wait"),
            Map.entry(ConsumerConfig.FETCH_MIN_BYTES_CONFIG, "spring.kafka.consumer.fetch-min-size"),
            Map.entry(ConsumerConfig.HEARTBEAT_INTERVAL_MS_CONFIG, "spring.kafka.consumer.heartbeat-interval"),
            Map.entry(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "spring.kafka.consumer.isolation-level"),
            Map.entry(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, "spring.kafka.consumer.key-deserializer"),
            Map.entry(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, "spring.kafka.consumer.value-deserializer"),
            Map.entry(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, "spring.kafka.consumer.max-poll-records"),
            Map.entry(LanesConsumerConfig.USER_LANE_CAPACITY_CONFIG, "lanes.consumer.user-lane-capacity"),
            Map.entry(LanesConsumerConfig.FETCH_BUFFER_MAX_BYTES_CONFIG, "lanes.consumer.fetch-buffer-max-bytes"),
            Map.entry(LanesConsumerConfig.HEARTBEAT_OVERDUE_HOLD_MS_CONFIG, "lanes.consumer.heartbeat-overdue-hold"));

    @Override
    protected FailureAnalysis analyze(Throwable rootFailure, ConfigException cause) {
        if (!thrownByLanesKafkaConsumerFactory(cause)) {
            return null;
        }
        String message = String.valueOf(cause.getMessage());
        Matcher classicOnly = CLASSIC_ONLY.matcher(message);
        Matcher invalid = INVALID.matcher(message);
        Matcher missing = MISSING.matcher(message);
        if (classicOnly.find()) {
            List<String> properties = new ArrayList<>();
            Arrays.stream(classicOnly.group(1).split(", ")).forEach(key -> properties.add(describe(key)));
            return new FailureAnalysis("Lanes cannot run the spring-kafka consumers: " + message,
                    "Remove " + String.join(", ", properties) + " from your application's configuration (and from any"
                            + " @KafkaListener properties). With the consumer group protocol the broker sets the session"
                            + " timeout and heartbeat interval (group.consumer.* broker settings or the group config"
                            + " consumer.session.timeout.ms), and group.remote.assignor picks the assignor.", cause);
        }
        if (invalid.find()) {
            String key = invalid.group(2);
            String reason = invalid.group(3);
            return new FailureAnalysis("The spring-kafka consumer setting " + describe(key) + " has an invalid value '"
                    + invalid.group(1) + "' for Lanes" + (reason == null || reason.isBlank() ? "" : ": " + reason.trim()),
                    "Update " + describe(key) + " in your application's configuration (or the @KafkaListener"
                            + " properties that set it).", cause);
        }
        if (missing.find()) {
            String key = missing.group(1);
            return new FailureAnalysis("The spring-kafka consumer setting " + describe(key) + " is missing: it is"
                    + " required and has no default", "Set " + describe(key) + " in your application's configuration.", cause);
        }
        return new FailureAnalysis("The spring-kafka consumer configuration is invalid for Lanes: " + message,
                "Check the spring.kafka.consumer.* and lanes.consumer.* properties of your application.", cause);
    }

    /** "'spring.kafka.consumer.group-id' (consumer key 'group.id')", or the properties map entry for other keys. */
    static String describe(String key) {
        String property = PROPERTIES.getOrDefault(key, "spring.kafka.consumer.properties[" + key + "]");
        return "'" + property + "' (consumer key '" + key + "')";
    }

    private static boolean thrownByLanesKafkaConsumerFactory(Throwable failure) {
        for (StackTraceElement frame : failure.getStackTrace()) {
            if (frame.getClassName().startsWith(LanesKafkaConsumerFactory.class.getName())) {
                return true;
            }
        }
        return false;
    }

    /** Ahead of the starter's analyzer, which would name {@code lanes.consumer.*} properties. */
    @Override
    public int getOrder() {
        return Ordered.HIGHEST_PRECEDENCE + 100;
    }
}
