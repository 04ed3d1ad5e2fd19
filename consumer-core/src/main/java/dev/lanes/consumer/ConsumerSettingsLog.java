package dev.lanes.consumer;

import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.Map;
import java.util.Set;
import java.util.StringJoiner;
import java.util.TreeMap;

/**
 * Parses the consumer settings without kafka-clients' "ConsumerConfig values" dump, whose defaults would show
 * settings of the classic protocol ({@code group.protocol = classic}, {@code session.timeout.ms}) as if they
 * applied, and logs instead the settings that were given, with the protocol Lanes speaks; settings that the
 * consumer group protocol leaves to the broker get a warning.
 */
final class ConsumerSettingsLog {

    private static final Logger log = LoggerFactory.getLogger(LanesConsumer.class);

    /** Settings of the classic protocol that the consumer group protocol (KIP-848) leaves to the broker. */
    private static final Set<String> BROKER_DECIDES = Set.of(ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG,
            ConsumerConfig.HEARTBEAT_INTERVAL_MS_CONFIG, ConsumerConfig.PARTITION_ASSIGNMENT_STRATEGY_CONFIG);

    private ConsumerSettingsLog() {
    }

    static ConsumerConfig parse(Map<String, Object> settings, LanesConsumerConfig lanesConfig) {
        ConsumerConfig config = new ConsumerConfig(settings, false) {
        };
        Map<String, Object> given = new TreeMap<>();
        config.values().forEach((key, value) -> {
            if (settings.containsKey(key) && !key.equals(ConsumerConfig.GROUP_PROTOCOL_CONFIG)) {
                given.put(key, value); // parsed values: passwords print as [hidden]
            }
        });
        given.putAll(new TreeMap<>(lanesConfig.values()));
        StringJoiner lines = new StringJoiner("\n\t", "\n\t", "");
        given.forEach((key, value) -> lines.add(key + " = " + value));
        log.info("Lanes consumer {} (consumer group protocol, KIP-848) starts with these settings; others keep their "
                + "defaults:{}", config.getString(ConsumerConfig.CLIENT_ID_CONFIG), lines);
        for (String key : BROKER_DECIDES) {
            if (settings.containsKey(key)) {
                log.warn("{} has no effect: with the consumer group protocol the broker decides it "
                        + "(group.consumer.* broker settings)", key);
            }
        }
        Object protocol = settings.get(ConsumerConfig.GROUP_PROTOCOL_CONFIG);
        if (protocol != null && !"consumer".equalsIgnoreCase(protocol.toString().trim())) {
            log.warn("group.protocol={} has no effect: Lanes always uses the consumer group protocol (KIP-848)", protocol);
        }
        return config;
    }
}
