package dev.lanes.spring.autoconfigure;

import dev.lanes.consumer.LanesConsumerConfig;
import dev.lanes.spring.CommitMode;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.Serializer;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.util.backoff.BackOff;
import org.springframework.util.backoff.ExponentialBackOff;
import org.springframework.util.backoff.FixedBackOff;
import org.springframework.util.unit.DataSize;
import org.springframework.validation.Errors;
import org.springframework.validation.Validator;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Settings of the Lanes consumers and their listener containers, under {@code lanes.consumer}. The class checks
 * itself once bound (Spring Boot runs a {@link Validator} that is the bound object), so a bad value fails start-up
 * with a message naming the property as the user wrote it.
 */
@ConfigurationProperties("lanes.consumer")
public class LanesProperties implements Validator {

    /** Kafka brokers to bootstrap from, as host:port entries. */
    private List<String> bootstrapServers = new ArrayList<>(List.of("localhost:9092"));

    /** Consumer group of the listeners that name none themselves. */
    private String groupId;

    /** Client id prefix of the consumers; each consumer appends its listener id and slot. */
    private String clientId;

    /** Deserializer class for record keys. */
    private Class<?> keyDeserializer = StringDeserializer.class;

    /** Deserializer class for record values. */
    private Class<?> valueDeserializer = StringDeserializer.class;

    /** Where to start when a group has no committed offset: earliest, latest or none. */
    private String autoOffsetReset;

    /** Maximum number of records a single poll returns. */
    private Integer maxPollRecords;

    /** How many application calls (commits, lookups) may wait for the background thread (lanes.user.lane.capacity). */
    private Integer userLaneCapacity;

    /** Upper bound on fetched bytes held for the application, counted after decompression, before fetching pauses (lanes.fetch.buffer.max.bytes). */
    private DataSize fetchBufferMaxBytes;

    /**
     * How long past one heartbeat interval heartbeat answers may be missing before poll holds back records until
     * the membership is confirmed (lanes.heartbeat.overdue.hold.ms); negative never holds.
     */
    private Duration heartbeatOverdueHold;

    /** How long a listener container's poll waits for records. */
    private Duration pollTimeout = Duration.ofSeconds(1);

    /** How long stopping a listener container may take: finishing the current work, committing and closing. */
    private Duration shutdownTimeout = Duration.ofSeconds(10);

    /** Further consumer settings, passed straight to the consumer; they win over the settings above. */
    private Map<String, String> properties = new HashMap<>();

    /** Settings of the listener containers. */
    private final Listener listener = new Listener();

    /**
     * Settings of single listeners by listener id ({@code lanes.consumer.listeners.<id>.*}): each one set here wins
     * over the same setting under {@code lanes.consumer.listener}, and over the listener's own concurrency attribute.
     */
    private final Map<String, Listener> listeners = new LinkedHashMap<>();

    /** The standard Kafka consumer metrics as Micrometer's KafkaClientMetrics binds them ({@code kafka.consumer.*}). */
    private final KafkaClientMetrics kafkaClientMetrics = new KafkaClientMetrics();

    /** The consumer settings (ConsumerConfig and LanesConsumerConfig keys) these properties describe. */
    public Map<String, Object> buildConsumerProperties() {
        Map<String, Object> config = new HashMap<>();
        if (bootstrapServers != null && !bootstrapServers.isEmpty()) {
            config.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, String.join(",", bootstrapServers));
        }
        putIfSet(config, ConsumerConfig.GROUP_ID_CONFIG, groupId);
        putIfSet(config, ConsumerConfig.CLIENT_ID_CONFIG, clientId);
        putIfSet(config, ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, keyDeserializer);
        putIfSet(config, ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, valueDeserializer);
        putIfSet(config, ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, autoOffsetReset);
        putIfSet(config, ConsumerConfig.MAX_POLL_RECORDS_CONFIG, maxPollRecords);
        putIfSet(config, LanesConsumerConfig.USER_LANE_CAPACITY_CONFIG, userLaneCapacity);
        putIfSet(config, LanesConsumerConfig.FETCH_BUFFER_MAX_BYTES_CONFIG,
                fetchBufferMaxBytes == null ? null : fetchBufferMaxBytes.toBytes());
        putIfSet(config, LanesConsumerConfig.HEARTBEAT_OVERDUE_HOLD_MS_CONFIG, heartbeatOverdueHold == null ? null
                : heartbeatOverdueHold.isNegative() ? -1L : heartbeatOverdueHold.toMillis());
        // The containers commit processed offsets themselves (at-least-once).
        config.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        if (properties != null) {
            config.putAll(properties);
        }
        return config;
    }

    @Override
    public boolean supports(Class<?> type) {
        return LanesProperties.class.isAssignableFrom(type);
    }

    @Override
    public void validate(Object target, Errors errors) {
        LanesProperties properties = (LanesProperties) target;
        properties.check(errors);
    }

    private void check(Errors errors) {
        if (bootstrapServers == null || bootstrapServers.isEmpty()) {
            errors.rejectValue("bootstrap-servers", "required", "at least one host:port is required");
        } else {
            for (int i = 0; i < bootstrapServers.size(); i++) {
                String server = bootstrapServers.get(i);
                if (server == null || !server.trim().matches("\\[?[^\\s\\[\\]]*\\]?:[0-9]{1,5}")) {
                    errors.rejectValue("bootstrap-servers", "invalid", "'" + server + "' is not host:port");
                }
            }
        }
        checkDeserializer(errors, "key-deserializer", keyDeserializer);
        checkDeserializer(errors, "value-deserializer", valueDeserializer);
        checkSetting(errors, "auto-offset-reset", ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, autoOffsetReset);
        checkSetting(errors, "max-poll-records", ConsumerConfig.MAX_POLL_RECORDS_CONFIG, maxPollRecords);
        checkSetting(errors, "user-lane-capacity", LanesConsumerConfig.USER_LANE_CAPACITY_CONFIG, userLaneCapacity);
        checkSetting(errors, "fetch-buffer-max-bytes", LanesConsumerConfig.FETCH_BUFFER_MAX_BYTES_CONFIG,
                fetchBufferMaxBytes == null ? null : fetchBufferMaxBytes.toBytes());
        if (pollTimeout == null || pollTimeout.isNegative() || pollTimeout.isZero()) {
            errors.rejectValue("poll-timeout", "invalid", "must be longer than 0");
        }
        checkNotNegative(errors, "shutdown-timeout", shutdownTimeout);
        if (properties != null) {
            properties.forEach((key, value) -> {
                String field = "properties[" + key + "]";
                if (ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG.equals(key) && Boolean.parseBoolean(String.valueOf(value).trim())) {
                    errors.rejectValue(field, "unsupported", "the listener containers commit the offsets of processed "
                            + "records themselves (see lanes.consumer.listener.commit-mode); auto-commit would commit "
                            + "records before they are processed, so it cannot be turned on");
                    return;
                }
                if (ConsumerConfig.GROUP_PROTOCOL_CONFIG.equals(key) && !"consumer".equalsIgnoreCase(String.valueOf(value).trim())) {
                    errors.rejectValue(field, "unsupported", "Lanes speaks only the consumer group protocol (KIP-848, "
                            + "group.protocol=consumer); remove the setting");
                    return;
                }
                String problem = ConsumerSettingCheck.problem(key, value);
                if (problem != null) {
                    errors.rejectValue(field, "invalid", problem);
                }
            });
        }
        listener.check(errors, "listener.");
        listeners.forEach((id, settings) -> settings.check(errors, "listeners[" + id + "]."));
    }

    private static void checkSetting(Errors errors, String field, String key, Object value) {
        if (value == null || value instanceof String text && text.isEmpty()) {
            return;
        }
        String problem = ConsumerSettingCheck.problem(key, value);
        if (problem != null) {
            errors.rejectValue(field, "invalid", problem);
        }
    }

    private static void checkDeserializer(Errors errors, String field, Class<?> type) {
        if (type != null && !Deserializer.class.isAssignableFrom(type)) {
            errors.rejectValue(field, "invalid", type.getName() + " does not implement " + Deserializer.class.getName());
        }
    }

    static void checkSerializer(Errors errors, String field, Class<?> type) {
        if (type != null && !Serializer.class.isAssignableFrom(type)) {
            errors.rejectValue(field, "invalid", type.getName() + " does not implement " + Serializer.class.getName());
        }
    }

    static void checkNotNegative(Errors errors, String field, Duration value) {
        if (value == null || value.isNegative()) {
            errors.rejectValue(field, "invalid", "must not be negative");
        }
    }

    private static void putIfSet(Map<String, Object> config, String key, Object value) {
        if (value != null && !(value instanceof String text && text.isEmpty())) {
            config.put(key, value);
        }
    }

    public List<String> getBootstrapServers() {
        return bootstrapServers;
    }

    public void setBootstrapServers(List<String> bootstrapServers) {
        this.bootstrapServers = bootstrapServers;
    }

    public String getGroupId() {
        return groupId;
    }

    public void setGroupId(String groupId) {
        this.groupId = groupId;
    }

    public String getClientId() {
        return clientId;
    }

    public void setClientId(String clientId) {
        this.clientId = clientId;
    }

    public Class<?> getKeyDeserializer() {
        return keyDeserializer;
    }

    public void setKeyDeserializer(Class<?> keyDeserializer) {
        this.keyDeserializer = keyDeserializer;
    }

    public Class<?> getValueDeserializer() {
        return valueDeserializer;
    }

    public void setValueDeserializer(Class<?> valueDeserializer) {
        this.valueDeserializer = valueDeserializer;
    }

    public String getAutoOffsetReset() {
        return autoOffsetReset;
    }

    public void setAutoOffsetReset(String autoOffsetReset) {
        this.autoOffsetReset = autoOffsetReset;
    }

    public Integer getMaxPollRecords() {
        return maxPollRecords;
    }

    public void setMaxPollRecords(Integer maxPollRecords) {
        this.maxPollRecords = maxPollRecords;
    }

    public Integer getUserLaneCapacity() {
        return userLaneCapacity;
    }

    public void setUserLaneCapacity(Integer userLaneCapacity) {
        this.userLaneCapacity = userLaneCapacity;
    }

    public DataSize getFetchBufferMaxBytes() {
        return fetchBufferMaxBytes;
    }

    public void setFetchBufferMaxBytes(DataSize fetchBufferMaxBytes) {
        this.fetchBufferMaxBytes = fetchBufferMaxBytes;
    }

    public Duration getHeartbeatOverdueHold() {
        return heartbeatOverdueHold;
    }

    public void setHeartbeatOverdueHold(Duration heartbeatOverdueHold) {
        this.heartbeatOverdueHold = heartbeatOverdueHold;
    }

    public Duration getPollTimeout() {
        return pollTimeout;
    }

    public void setPollTimeout(Duration pollTimeout) {
        this.pollTimeout = pollTimeout;
    }

    public Duration getShutdownTimeout() {
        return shutdownTimeout;
    }

    public void setShutdownTimeout(Duration shutdownTimeout) {
        this.shutdownTimeout = shutdownTimeout;
    }

    public Map<String, String> getProperties() {
        return properties;
    }

    public void setProperties(Map<String, String> properties) {
        this.properties = properties;
    }

    public Listener getListener() {
        return listener;
    }

    public Map<String, Listener> getListeners() {
        return listeners;
    }

    public KafkaClientMetrics getKafkaClientMetrics() {
        return kafkaClientMetrics;
    }

    /** Whether each consumer's standard Kafka metrics are also meters, as Spring Boot binds them for spring-kafka. */
    public static class KafkaClientMetrics {

        /**
         * Whether each consumer's standard Kafka metrics are bound with Micrometer's KafkaClientMetrics (meters named
         * kafka.consumer.*, tagged listener.id); Lanes' own meters (lanes.consumer.*) are bound either way.
         */
        private boolean enabled = true;

        public boolean isEnabled() {
            return enabled;
        }

        public void setEnabled(boolean enabled) {
            this.enabled = enabled;
        }
    }

    /** Settings of the listener containers. */
    public static class Listener {

        /** How many consumers, each on its own thread, a listener container runs unless the listener says otherwise. */
        private int concurrency = 1;

        /** When processed offsets are committed: after each poll's records (batch), after each record, or when the listener acknowledges them (manual, manual-immediate). */
        private CommitMode commitMode = CommitMode.BATCH;

        /** Retries of a failing record before it is skipped or dead-lettered. */
        private final Retry retry = new Retry();

        /** Dead-letter publishing of records that failed after their retries. */
        private final DeadLetter deadLetter = new DeadLetter();

        /** Whether a listener container replaces a consumer whose background thread died with a fresh one (resuming from the group's committed offsets); when false, the failed consumer's slot stays dead and health stays DOWN. */
        private boolean replaceFailedConsumers = true;

        /** How long a listener container waits after a consumer failed before creating its replacement; health is DOWN meanwhile. */
        private Duration replaceBackOff = Duration.ofSeconds(5);

        /** How long, at most, the consumers of a container with concurrency above 1 hold back records when it starts, until the group has shared the partitions out among them (so that a waiting backlog is shared); 0 starts each consumer at once. */
        private Duration startBalanceTimeout = Duration.ofSeconds(30);

        /** Whether each consumer of a listener container runs on a virtual thread (Java 21 or later) instead of a platform thread of its own; a task executor set by a LanesListenerContainerCustomizer wins over it. */
        private boolean virtualThreads;

        public Duration getStartBalanceTimeout() {
            return startBalanceTimeout;
        }

        public void setStartBalanceTimeout(Duration startBalanceTimeout) {
            this.startBalanceTimeout = startBalanceTimeout;
        }

        void check(Errors errors, String path) {
            if (concurrency < 1) {
                errors.rejectValue(path + "concurrency", "invalid", "must be at least 1");
            }
            if (commitMode == null) {
                errors.rejectValue(path + "commit-mode", "required", "is required");
            }
            retry.check(errors, path + "retry.");
            deadLetter.check(errors, path + "dead-letter.");
            checkNotNegative(errors, path + "replace-back-off", replaceBackOff);
            checkNotNegative(errors, path + "start-balance-timeout", startBalanceTimeout);
            if (virtualThreads && Runtime.version().feature() < 21) {
                errors.rejectValue(path + "virtual-threads", "unsupported",
                        "needs Java 21 or later (this is Java " + Runtime.version().feature() + ")");
            }
        }

        public int getConcurrency() {
            return concurrency;
        }

        public void setConcurrency(int concurrency) {
            this.concurrency = concurrency;
        }

        public CommitMode getCommitMode() {
            return commitMode;
        }

        public void setCommitMode(CommitMode commitMode) {
            this.commitMode = commitMode;
        }

        public Retry getRetry() {
            return retry;
        }

        public boolean isReplaceFailedConsumers() {
            return replaceFailedConsumers;
        }

        public void setReplaceFailedConsumers(boolean replaceFailedConsumers) {
            this.replaceFailedConsumers = replaceFailedConsumers;
        }

        public Duration getReplaceBackOff() {
            return replaceBackOff;
        }

        public void setReplaceBackOff(Duration replaceBackOff) {
            this.replaceBackOff = replaceBackOff;
        }

        public boolean isVirtualThreads() {
            return virtualThreads;
        }

        public void setVirtualThreads(boolean virtualThreads) {
            this.virtualThreads = virtualThreads;
        }

        public DeadLetter getDeadLetter() {
            return deadLetter;
        }
    }

    /** Retries of a failing listener invocation. */
    public static class Retry {

        /** How many times a failing record (or batch) is retried after its first failure; 0 disables retries. */
        private int attempts = 2;

        /** How long to wait before the first retry (and before every retry when the multiplier is 1). */
        private Duration backOff = Duration.ofMillis(500);

        /** By how much each wait grows over the one before; 1 keeps it fixed. */
        private double multiplier = 1.0;

        /** Upper bound of one wait when the multiplier makes it grow. */
        private Duration maxBackOff = Duration.ofSeconds(30);

        /** Upper bound of the sum of the waits for one failing record, after which it is given up; unbounded when not set. */
        private Duration maxElapsedTime;

        /** Exception types that are never retried (matched anywhere in the cause chain), besides deserialization and conversion failures and ClassCastException. */
        private List<Class<? extends Throwable>> notRetryableExceptions = new ArrayList<>();

        /** The Spring BackOff these settings describe: fixed, or exponential when the multiplier is above 1 or a maximum elapsed time is set. */
        public BackOff toBackOff() {
            if (multiplier == 1.0 && maxElapsedTime == null) {
                return new FixedBackOff(backOff.toMillis(), attempts);
            }
            ExponentialBackOff exponential = new ExponentialBackOff(backOff.toMillis(), multiplier);
            exponential.setMaxInterval(Math.max(backOff.toMillis(), maxBackOff.toMillis()));
            exponential.setMaxAttempts(attempts);
            if (maxElapsedTime != null) {
                exponential.setMaxElapsedTime(maxElapsedTime.toMillis());
            }
            return exponential;
        }

        void check(Errors errors, String path) {
            if (attempts < 0) {
                errors.rejectValue(path + "attempts", "invalid", "must not be negative (0 disables retries)");
            }
            checkNotNegative(errors, path + "back-off", backOff);
            if (!(multiplier >= 1.0)) {
                errors.rejectValue(path + "multiplier", "invalid", "must be at least 1");
            }
            checkNotNegative(errors, path + "max-back-off", maxBackOff);
            if (maxElapsedTime != null) {
                checkNotNegative(errors, path + "max-elapsed-time", maxElapsedTime);
            }
            if (notRetryableExceptions != null) {
                for (int i = 0; i < notRetryableExceptions.size(); i++) {
                    Class<?> type = notRetryableExceptions.get(i);
                    if (type == null || !Throwable.class.isAssignableFrom(type)) {
                        errors.rejectValue(path + "not-retryable-exceptions", "invalid",
                                (type == null ? "null" : type.getName()) + " is not an exception type");
                    }
                }
            }
        }

        public double getMultiplier() {
            return multiplier;
        }

        public void setMultiplier(double multiplier) {
            this.multiplier = multiplier;
        }

        public Duration getMaxBackOff() {
            return maxBackOff;
        }

        public void setMaxBackOff(Duration maxBackOff) {
            this.maxBackOff = maxBackOff;
        }

        public Duration getMaxElapsedTime() {
            return maxElapsedTime;
        }

        public void setMaxElapsedTime(Duration maxElapsedTime) {
            this.maxElapsedTime = maxElapsedTime;
        }

        public List<Class<? extends Throwable>> getNotRetryableExceptions() {
            return notRetryableExceptions;
        }

        public void setNotRetryableExceptions(List<Class<? extends Throwable>> notRetryableExceptions) {
            this.notRetryableExceptions = notRetryableExceptions;
        }

        public int getAttempts() {
            return attempts;
        }

        public void setAttempts(int attempts) {
            this.attempts = attempts;
        }

        public Duration getBackOff() {
            return backOff;
        }

        public void setBackOff(Duration backOff) {
            this.backOff = backOff;
        }
    }

    /** Dead-letter topic publishing. */
    public static class DeadLetter {

        /** Whether records that still fail after their retries (or cannot be deserialized) are published to a dead-letter topic instead of being logged and skipped. */
        private boolean enabled;

        /** Suffix appended to a record's topic to name its dead-letter topic. */
        private String topicSuffix = ".DLT";

        /** Whether a missing dead-letter topic is created (with as many partitions as the original topic) before the first record goes to it. */
        private boolean createTopic = true;

        /** Serializer class for keys that are not bytes; by default strings, numbers and UUIDs are written as Kafka's serializers write them and other types are refused. */
        private Class<?> keySerializer;

        /** Serializer class for values that are not bytes; by default strings, numbers and UUIDs are written as Kafka's serializers write them and other types are refused. */
        private Class<?> valueSerializer;

        public boolean isCreateTopic() {
            return createTopic;
        }

        public void setCreateTopic(boolean createTopic) {
            this.createTopic = createTopic;
        }

        public Class<?> getKeySerializer() {
            return keySerializer;
        }

        public void setKeySerializer(Class<?> keySerializer) {
            this.keySerializer = keySerializer;
        }

        public Class<?> getValueSerializer() {
            return valueSerializer;
        }

        public void setValueSerializer(Class<?> valueSerializer) {
            this.valueSerializer = valueSerializer;
        }

        void check(Errors errors, String path) {
            if (topicSuffix == null || topicSuffix.isBlank()) {
                errors.rejectValue(path + "topic-suffix", "required", "must not be empty (the dead-letter topic would be the topic itself)");
            }
            checkSerializer(errors, path + "key-serializer", keySerializer);
            checkSerializer(errors, path + "value-serializer", valueSerializer);
        }

        public boolean isEnabled() {
            return enabled;
        }

        public void setEnabled(boolean enabled) {
            this.enabled = enabled;
        }

        public String getTopicSuffix() {
            return topicSuffix;
        }

        public void setTopicSuffix(String topicSuffix) {
            this.topicSuffix = topicSuffix;
        }
    }
}
