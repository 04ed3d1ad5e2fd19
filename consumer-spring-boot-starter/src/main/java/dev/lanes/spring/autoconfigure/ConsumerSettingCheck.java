package dev.lanes.spring.autoconfigure;

import dev.lanes.consumer.LanesConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.common.config.ConfigDef;
import org.apache.kafka.common.config.ConfigException;

/**
 * Checks one consumer setting (a {@code ConsumerConfig} or {@code lanes.} key) on its own, with the type and
 * validator kafka-clients and Lanes declare for it, so that a bad value is reported against the Spring
 * property or annotation attribute that set it instead of the consumer key.
 */
public final class ConsumerSettingCheck {

    private ConsumerSettingCheck() {
    }

    /** Why {@code value} is not a valid value of consumer setting {@code key}; null when it is valid or the key is unknown. */
    public static String problem(String key, Object value) {
        ConfigDef.ConfigKey configKey = LanesConsumerConfig.configDef().configKeys().get(key);
        if (configKey == null) {
            configKey = ConsumerConfig.configDef().configKeys().get(key);
        }
        if (configKey == null) {
            return null;
        }
        try {
            Object parsed = ConfigDef.parseType(key, value, configKey.type);
            if (configKey.validator != null) {
                configKey.validator.ensureValid(key, parsed);
            }
            return null;
        } catch (ConfigException e) {
            return reason(e, key, value);
        }
    }

    /** The valid values of consumer setting {@code key} as its validator describes them; null when unknown. */
    public static String validValues(String key) {
        ConfigDef.ConfigKey configKey = LanesConsumerConfig.configDef().configKeys().get(key);
        if (configKey == null) {
            configKey = ConsumerConfig.configDef().configKeys().get(key);
        }
        return configKey == null || configKey.validator == null ? null : configKey.validator.toString();
    }

    /** The message of a ConfigException without the "Invalid value v for configuration k: " prefix it repeats. */
    private static String reason(ConfigException e, String key, Object value) {
        String message = String.valueOf(e.getMessage());
        String prefix = "Invalid value " + value + " for configuration " + key;
        if (message.startsWith(prefix)) {
            message = message.substring(prefix.length());
            if (message.startsWith(":")) {
                message = message.substring(1);
            }
            message = message.trim();
        }
        // Some validators repeat the value and the key in their own sentence first.
        int sentence = message.indexOf(". ");
        if (message.startsWith("Invalid value") && sentence > 0) {
            message = message.substring(sentence + 2).trim();
        }
        if (message.isEmpty()) {
            message = "invalid value";
        }
        String valid = validValues(key);
        return valid == null || message.contains(valid) ? message : message + " (valid values: " + valid + ")";
    }
}
