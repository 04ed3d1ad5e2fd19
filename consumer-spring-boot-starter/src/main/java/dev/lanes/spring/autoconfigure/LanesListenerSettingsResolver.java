package dev.lanes.spring.autoconfigure;

import dev.lanes.spring.DeadLetterPublisher;
import dev.lanes.spring.LanesErrorHandler;
import dev.lanes.spring.listener.DefaultDeadLetterSerializer;
import dev.lanes.spring.listener.DefaultLanesErrorHandler;
import dev.lanes.spring.listener.DefaultLanesListenerContainerRegistry.ListenerSettings;
import dev.lanes.spring.listener.KafkaDeadLetterPublisher;
import org.apache.kafka.common.serialization.Serializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.BeanUtils;
import org.springframework.beans.factory.DisposableBean;
import org.springframework.boot.context.properties.bind.Bindable;
import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.boot.context.properties.source.ConfigurationProperty;
import org.springframework.boot.context.properties.source.ConfigurationPropertyName;
import org.springframework.boot.context.properties.source.ConfigurationPropertySource;
import org.springframework.boot.context.properties.source.ConfigurationPropertySources;
import org.springframework.boot.context.properties.source.ConfigurationPropertyState;
import org.springframework.boot.context.properties.source.InvalidConfigurationPropertyNameException;
import org.springframework.core.env.Environment;

import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * The settings of one listener: {@code lanes.consumer.listeners.<id>.*} over {@code lanes.consumer.listener.*}.
 * A listener with retry or dead-letter settings of its own gets an error handler (and, when its dead-letter
 * settings differ, a dead-letter publisher) of its own; the others share the application's error handler bean.
 */
public class LanesListenerSettingsResolver implements Function<String, ListenerSettings>, DisposableBean {

    private static final Logger log = LoggerFactory.getLogger(LanesListenerSettingsResolver.class);
    private static final String GLOBAL = "lanes.consumer.listener";

    private final Environment environment;
    private final LanesProperties properties;
    private final LanesErrorHandler sharedErrorHandler;
    private final Supplier<DeadLetterPublisher> sharedPublisher;
    private final Map<String, Object> producerConfig;
    private final List<KafkaDeadLetterPublisher> ownPublishers = new CopyOnWriteArrayList<>();

    public LanesListenerSettingsResolver(Environment environment, LanesProperties properties, LanesErrorHandler sharedErrorHandler,
                                         Supplier<DeadLetterPublisher> sharedPublisher, Map<String, Object> producerConfig) {
        this.environment = environment;
        this.properties = properties;
        this.sharedErrorHandler = sharedErrorHandler;
        this.sharedPublisher = sharedPublisher;
        this.producerConfig = producerConfig;
    }

    @Override
    public ListenerSettings apply(String listenerId) {
        String prefix = prefix(listenerId);
        if (prefix == null || !isSet(prefix)) {
            return new ListenerSettings(null, properties.getListener().getCommitMode(), sharedErrorHandler);
        }
        Binder binder = Binder.get(environment);
        LanesProperties.Listener merged = new LanesProperties.Listener();
        binder.bind(GLOBAL, Bindable.ofInstance(merged));
        binder.bind(prefix, Bindable.ofInstance(merged));
        Integer concurrency = binder.bind(prefix + ".concurrency", Integer.class).orElse(null);
        LanesErrorHandler errorHandler = sharedErrorHandler;
        if (isSet(prefix + ".retry") || isSet(prefix + ".dead-letter")) {
            errorHandler = new DefaultLanesErrorHandler(merged.getRetry().toBackOff(), publisher(prefix, merged.getDeadLetter()),
                    merged.getRetry().getNotRetryableExceptions());
        }
        return new ListenerSettings(concurrency, merged.getCommitMode(), errorHandler, merged.isReplaceFailedConsumers(),
                merged.getReplaceBackOff(), merged.getStartBalanceTimeout(), merged.isVirtualThreads());
    }

    private DeadLetterPublisher publisher(String prefix, LanesProperties.DeadLetter deadLetter) {
        if (!deadLetter.isEnabled()) {
            return null;
        }
        boolean ownDeadLetterSettings = isSet(prefix + ".dead-letter.topic-suffix") || isSet(prefix + ".dead-letter.create-topic")
                || isSet(prefix + ".dead-letter.key-serializer") || isSet(prefix + ".dead-letter.value-serializer");
        DeadLetterPublisher shared = sharedPublisher.get();
        if (shared != null && !ownDeadLetterSettings) {
            return shared;
        }
        KafkaDeadLetterPublisher publisher = new KafkaDeadLetterPublisher(producerConfig, deadLetter.getTopicSuffix(),
                serializer(deadLetter.getKeySerializer(), prefix + ".dead-letter.key-serializer"),
                serializer(deadLetter.getValueSerializer(), prefix + ".dead-letter.value-serializer"), deadLetter.isCreateTopic());
        ownPublishers.add(publisher);
        return publisher;
    }

    static Serializer<?> serializer(Class<?> type, String property) {
        return type == null ? new DefaultDeadLetterSerializer(property) : (Serializer<?>) BeanUtils.instantiateClass(type);
    }

    /** The property prefix of a listener's own settings, or null when its id cannot be part of a property name. */
    private static String prefix(String listenerId) {
        String prefix = "lanes.consumer.listeners[" + listenerId + "]";
        try {
            ConfigurationPropertyName.of(prefix);
            return prefix;
        } catch (InvalidConfigurationPropertyNameException e) {
            return null;
        }
    }

    private boolean isSet(String name) {
        ConfigurationPropertyName propertyName = ConfigurationPropertyName.of(name);
        for (ConfigurationPropertySource source : ConfigurationPropertySources.get(environment)) {
            ConfigurationProperty property = source.getConfigurationProperty(propertyName);
            if (property != null || source.containsDescendantOf(propertyName) == ConfigurationPropertyState.PRESENT) {
                return true;
            }
        }
        return false;
    }

    /** Warns about {@code lanes.consumer.listeners.<id>} entries that match no listener (a misspelt id, most likely). */
    public void warnAboutUnknownIds(java.util.Collection<String> listenerIds) {
        for (String id : properties.getListeners().keySet()) {
            if (!listenerIds.contains(id)) {
                log.warn("lanes.consumer.listeners.{} matches no @LanesListener id (known ids: {}); its settings are not used", id, listenerIds);
            }
        }
    }

    @Override
    public void destroy() {
        ownPublishers.forEach(KafkaDeadLetterPublisher::destroy);
    }
}
