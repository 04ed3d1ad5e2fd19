package dev.lanes.spring.kafka;

import dev.lanes.consumer.BackPressureException;
import dev.lanes.consumer.LanesConsumer;
import dev.lanes.consumer.LanesConsumerConfig;
import org.apache.kafka.clients.consumer.CloseOptions;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.consumer.OffsetCommitCallback;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.config.ConfigException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.Deserializer;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.kafka.core.ConsumerPostProcessor;
import org.springframework.kafka.core.DefaultKafkaConsumerFactory;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Supplier;

/**
 * A spring-kafka {@link org.springframework.kafka.core.ConsumerFactory} whose consumers are
 * {@link LanesConsumer}s built from the same settings a {@link DefaultKafkaConsumerFactory} would give a
 * {@code KafkaConsumer}: group and client ids, per-listener property overrides, deserializers, post-processors
 * and {@link org.springframework.kafka.core.ConsumerFactory.Listener}s (told when a consumer is created and
 * when it is closed) all behave as they do there.
 *
 * <p>Lanes speaks only the consumer group protocol of KIP-848: {@code group.protocol=classic} and the settings
 * that only the classic protocol knows ({@link #CLASSIC_ONLY_SETTINGS}) are refused with a
 * {@link ConfigException} naming them, when the factory is created and again for every consumer (a listener's
 * own properties may add them). The other settings are checked when the factory is created, so a bad value
 * fails start-up.
 *
 * <p>{@code commitAsync} meets back-pressure when the consumer's user lane is full (a
 * {@link dev.lanes.consumer.BackPressureException}). A listener container with {@code syncCommits=false}
 * does not expect {@code commitAsync} to throw, so the consumers of this factory commit synchronously in
 * that case instead, within {@code default.api.timeout.ms}, and report the outcome to the commit's callback:
 * the container slows down to the pace the broker takes commits, and no offsets are dropped.
 *
 * @param <K> the key type
 * @param <V> the value type
 */
public class LanesKafkaConsumerFactory<K, V> extends DefaultKafkaConsumerFactory<K, V> {

    /** Consumer settings that only the classic group protocol knows; Lanes refuses them. */
    public static final List<String> CLASSIC_ONLY_SETTINGS = List.of(ConsumerConfig.PARTITION_ASSIGNMENT_STRATEGY_CONFIG,
            ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG, ConsumerConfig.HEARTBEAT_INTERVAL_MS_CONFIG);

    private static final Logger log = LoggerFactory.getLogger(LanesKafkaConsumerFactory.class);

    private final Set<LanesConsumer<K, V>> consumers = ConcurrentHashMap.newKeySet();
    private @Nullable Supplier<@Nullable Deserializer<K>> keyDeserializerSupplier;
    private @Nullable Supplier<@Nullable Deserializer<V>> valueDeserializerSupplier;
    private boolean configureDeserializers;
    private String beanName = "lanesKafkaConsumerFactory";

    public LanesKafkaConsumerFactory(Map<String, Object> configs) {
        this(configs, () -> null, () -> null, true);
    }

    public LanesKafkaConsumerFactory(Map<String, Object> configs, @Nullable Deserializer<K> keyDeserializer,
                                     @Nullable Deserializer<V> valueDeserializer) {
        this(configs, () -> keyDeserializer, () -> valueDeserializer, true);
    }

    public LanesKafkaConsumerFactory(Map<String, Object> configs,
                                     @Nullable Supplier<@Nullable Deserializer<K>> keyDeserializerSupplier,
                                     @Nullable Supplier<@Nullable Deserializer<V>> valueDeserializerSupplier,
                                     boolean configureDeserializers) {
        super(configs, keyDeserializerSupplier, valueDeserializerSupplier, configureDeserializers);
        this.keyDeserializerSupplier = keyDeserializerSupplier;
        this.valueDeserializerSupplier = valueDeserializerSupplier;
        this.configureDeserializers = configureDeserializers;
        validate(configs);
    }

    /**
     * Checks settings the way Lanes will read them: a {@code ConfigException} names the first bad key, and
     * {@code group.protocol=classic} or a classic-only setting is refused.
     */
    public static void validate(Map<String, ?> configs) {
        refuseClassicProtocol(configs);
        new LanesConsumerConfig(LanesConsumerConfig.lanesEntries(configs));
        Map<String, Object> consumerSettings = LanesConsumerConfig.consumerEntries(configs);
        // Deserializer instances may be given to the factory instead of classes; checked when a consumer is made.
        consumerSettings.putIfAbsent(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class);
        consumerSettings.putIfAbsent(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class);
        ConsumerConfig.configDef().parse(consumerSettings);
    }

    /** Refuses {@code group.protocol=classic} and the settings of {@link #CLASSIC_ONLY_SETTINGS}. */
    static void refuseClassicProtocol(Map<String, ?> configs) {
        Object protocol = configs.get(ConsumerConfig.GROUP_PROTOCOL_CONFIG);
        if (protocol != null && "classic".equals(protocol.toString().trim().toLowerCase(Locale.ROOT))) {
            throw new ConfigException(ConsumerConfig.GROUP_PROTOCOL_CONFIG, protocol,
                    "Lanes speaks only the consumer group protocol (KIP-848): remove group.protocol=classic, or set it to consumer");
        }
        List<String> classicOnly = new ArrayList<>();
        for (String key : CLASSIC_ONLY_SETTINGS) {
            Object value = configs.get(key);
            if (value != null && !value.toString().isBlank()) {
                classicOnly.add(key);
            }
        }
        if (!classicOnly.isEmpty()) {
            throw new ConfigException(String.join(", ", classicOnly) + " cannot be set with Lanes: "
                    + (classicOnly.size() == 1 ? "it is a setting" : "they are settings")
                    + " of the classic group protocol, and Lanes speaks only the consumer group protocol (KIP-848),"
                    + " where the broker decides heartbeat interval, session timeout and assignment"
                    + " (group.consumer.* broker settings, group.remote.assignor on the client)");
        }
    }

    @Override
    public void setBeanName(String name) {
        super.setBeanName(name);
        this.beanName = name;
    }

    @Override
    public void setKeyDeserializer(@Nullable Deserializer<K> keyDeserializer) {
        super.setKeyDeserializer(keyDeserializer);
        this.keyDeserializerSupplier = () -> keyDeserializer;
    }

    @Override
    public void setValueDeserializer(@Nullable Deserializer<V> valueDeserializer) {
        super.setValueDeserializer(valueDeserializer);
        this.valueDeserializerSupplier = () -> valueDeserializer;
    }

    @Override
    public void setKeyDeserializerSupplier(@Nullable Supplier<@Nullable Deserializer<K>> keyDeserializerSupplier) {
        super.setKeyDeserializerSupplier(keyDeserializerSupplier);
        this.keyDeserializerSupplier = keyDeserializerSupplier;
    }

    @Override
    public void setValueDeserializerSupplier(@Nullable Supplier<@Nullable Deserializer<V>> valueDeserializerSupplier) {
        super.setValueDeserializerSupplier(valueDeserializerSupplier);
        this.valueDeserializerSupplier = valueDeserializerSupplier;
    }

    @Override
    public void setConfigureDeserializers(boolean configureDeserializers) {
        super.setConfigureDeserializers(configureDeserializers);
        this.configureDeserializers = configureDeserializers;
    }

    /**
     * Creates a Lanes consumer from the final settings (the factory's, with group id, client id and the
     * listener's properties applied), then lets the post-processors wrap it.
     */
    @Override
    protected Consumer<K, V> createKafkaConsumer(Map<String, Object> configProps) {
        checkBootstrap(configProps);
        refuseClassicProtocol(configProps);
        Consumer<K, V> consumer = createRawConsumer(configProps);
        for (ConsumerPostProcessor<K, V> postProcessor : getPostProcessors()) {
            consumer = postProcessor.apply(consumer);
        }
        return consumer;
    }

    @Override
    protected Consumer<K, V> createRawConsumer(Map<String, Object> configProps) {
        return new ListenedLanesConsumer(configProps);
    }

    /** The consumers this factory created that are not closed yet. Any thread. */
    public Set<LanesConsumer<K, V>> consumers() {
        return Set.copyOf(consumers);
    }

    private @Nullable Deserializer<K> keyDeserializer(Map<String, Object> configs) {
        Deserializer<K> deserializer = keyDeserializerSupplier == null ? null : keyDeserializerSupplier.get();
        if (deserializer != null && configureDeserializers) {
            deserializer.configure(configs, true);
        }
        return deserializer;
    }

    private @Nullable Deserializer<V> valueDeserializer(Map<String, Object> configs) {
        Deserializer<V> deserializer = valueDeserializerSupplier == null ? null : valueDeserializerSupplier.get();
        if (deserializer != null && configureDeserializers) {
            deserializer.configure(configs, false);
        }
        return deserializer;
    }

    /**
     * A Lanes consumer that tells the factory's listeners when it is created and closed, and turns
     * back-pressure on {@code commitAsync} into a synchronous commit.
     */
    protected class ListenedLanesConsumer extends LanesConsumer<K, V> {

        private final String idForListeners;
        private final long defaultApiTimeoutMs;
        private final AtomicBoolean removed = new AtomicBoolean();

        protected ListenedLanesConsumer(Map<String, Object> configs) {
            super(configs, keyDeserializer(configs), valueDeserializer(configs));
            this.idForListeners = beanName + "." + clientId();
            this.defaultApiTimeoutMs = defaultApiTimeout(configs);
            consumers.add(this);
            for (Listener<K, V> listener : getListeners()) {
                try {
                    listener.consumerAdded(idForListeners, this);
                } catch (RuntimeException e) {
                    log.warn("ConsumerFactory.Listener {} failed when consumer {} was added", listener, clientId(), e);
                }
            }
        }

        @Override
        public void commitAsync(Map<TopicPartition, OffsetAndMetadata> offsets, OffsetCommitCallback callback) {
            try {
                super.commitAsync(offsets, callback);
            } catch (BackPressureException full) {
                commitWhileBackPressured(new HashMap<>(offsets), callback, full);
            }
        }

        @Override
        public void commitAsync(OffsetCommitCallback callback) {
            try {
                super.commitAsync(callback);
            } catch (BackPressureException full) {
                commitWhileBackPressured(null, callback, full);
            }
        }

        private void commitWhileBackPressured(@Nullable Map<TopicPartition, OffsetAndMetadata> offsets,
                                              @Nullable OffsetCommitCallback callback, BackPressureException full) {
            log.debug("commitAsync of {} met back-pressure ({}); committing synchronously", clientId(), full.getMessage());
            BackPressuredCommit.commit(this, offsets, callback, Duration.ofMillis(defaultApiTimeoutMs));
        }

        /** Every close method of LanesConsumer ends here. */
        @Override
        public void close(CloseOptions options) {
            try {
                super.close(options);
            } finally {
                removed();
            }
        }

        private void removed() {
            if (!isClosed() || !removed.compareAndSet(false, true)) {
                return;
            }
            consumers.remove(this);
            for (Listener<K, V> listener : getListeners()) {
                try {
                    listener.consumerRemoved(idForListeners, this);
                } catch (RuntimeException e) {
                    log.warn("ConsumerFactory.Listener {} failed when consumer {} was removed", listener, clientId(), e);
                }
            }
        }
    }

    private static long defaultApiTimeout(Map<String, Object> configs) {
        Object value = configs.get(ConsumerConfig.DEFAULT_API_TIMEOUT_MS_CONFIG);
        return value == null ? 60_000L : Long.parseLong(value.toString().trim());
    }
}
