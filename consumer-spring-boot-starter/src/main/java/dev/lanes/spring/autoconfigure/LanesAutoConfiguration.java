package dev.lanes.spring.autoconfigure;

import dev.lanes.consumer.LanesConsumer;
import dev.lanes.spring.DeadLetterPublisher;
import dev.lanes.spring.DefaultLanesConsumerFactory;
import dev.lanes.spring.LanesConsumerCustomizer;
import dev.lanes.spring.LanesConsumerFactory;
import dev.lanes.spring.LanesErrorHandler;
import dev.lanes.spring.LanesListenerContainerCustomizer;
import dev.lanes.spring.LanesListenerContainerRegistry;
import dev.lanes.spring.listener.DefaultLanesErrorHandler;
import dev.lanes.spring.listener.DefaultLanesListenerContainerRegistry;
import dev.lanes.spring.listener.KafkaDeadLetterPublisher;
import dev.lanes.spring.listener.LanesListenerAnnotationBeanPostProcessor;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.springframework.beans.factory.BeanFactory;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.beans.factory.config.BeanDefinition;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Role;
import org.springframework.core.env.Environment;

import java.util.Map;

/**
 * Auto-configuration of Lanes consumers and {@link dev.lanes.spring.LanesListener} methods: the consumer
 * factory, the listener post-processor, the container registry, the error handler and (when enabled) the
 * dead-letter publisher. Every bean backs off when the application defines its own.
 */
@AutoConfiguration
@ConditionalOnClass(LanesConsumer.class)
@EnableConfigurationProperties(LanesProperties.class)
public class LanesAutoConfiguration {

    @Bean
    @ConditionalOnMissingBean(LanesConsumerFactory.class)
    public DefaultLanesConsumerFactory<Object, Object> lanesConsumerFactory(LanesProperties properties,
                                                                            ObjectProvider<LanesConsumerCustomizer> customizers) {
        Map<String, Object> configuration = properties.buildConsumerProperties();
        customizers.orderedStream().forEach(customizer -> customizer.customize(configuration));
        return new DefaultLanesConsumerFactory<>(configuration);
    }

    @Bean
    @Role(BeanDefinition.ROLE_INFRASTRUCTURE)
    @ConditionalOnMissingBean(LanesListenerAnnotationBeanPostProcessor.class)
    public static LanesListenerAnnotationBeanPostProcessor lanesListenerAnnotationBeanPostProcessor() {
        return new LanesListenerAnnotationBeanPostProcessor();
    }

    @Bean
    @ConditionalOnMissingBean(DeadLetterPublisher.class)
    @ConditionalOnProperty(prefix = "lanes.consumer.listener.dead-letter", name = "enabled", havingValue = "true")
    public KafkaDeadLetterPublisher lanesDeadLetterPublisher(LanesProperties properties, LanesConsumerFactory<?, ?> consumerFactory) {
        LanesProperties.DeadLetter deadLetter = properties.getListener().getDeadLetter();
        return new KafkaDeadLetterPublisher(KafkaDeadLetterPublisher.producerConfig(consumerFactory.configuration()),
                deadLetter.getTopicSuffix(),
                LanesListenerSettingsResolver.serializer(deadLetter.getKeySerializer(), "lanes.consumer.listener.dead-letter.key-serializer"),
                LanesListenerSettingsResolver.serializer(deadLetter.getValueSerializer(), "lanes.consumer.listener.dead-letter.value-serializer"),
                deadLetter.isCreateTopic());
    }

    @Bean
    @ConditionalOnMissingBean(LanesErrorHandler.class)
    public DefaultLanesErrorHandler lanesErrorHandler(LanesProperties properties, ObjectProvider<DeadLetterPublisher> deadLetterPublisher) {
        LanesProperties.Listener listener = properties.getListener();
        DeadLetterPublisher publisher = listener.getDeadLetter().isEnabled() ? deadLetterPublisher.getIfAvailable() : null;
        return new DefaultLanesErrorHandler(listener.getRetry().toBackOff(), publisher, listener.getRetry().getNotRetryableExceptions());
    }

    @Bean
    @ConditionalOnMissingBean
    public LanesListenerSettingsResolver lanesListenerSettingsResolver(Environment environment, LanesProperties properties,
                                                                       LanesErrorHandler errorHandler,
                                                                       ObjectProvider<DeadLetterPublisher> deadLetterPublisher,
                                                                       LanesConsumerFactory<?, ?> consumerFactory) {
        return new LanesListenerSettingsResolver(environment, properties, errorHandler, deadLetterPublisher::getIfAvailable,
                KafkaDeadLetterPublisher.producerConfig(consumerFactory.configuration()));
    }

    @Bean
    @ConditionalOnMissingBean(LanesListenerContainerRegistry.class)
    public DefaultLanesListenerContainerRegistry lanesListenerContainerRegistry(
            LanesProperties properties, LanesConsumerFactory<?, ?> consumerFactory, LanesListenerSettingsResolver listenerSettings,
            ObjectProvider<LanesListenerContainerCustomizer> customizers,
            ObjectProvider<ConsumerRebalanceListener> rebalanceListeners, BeanFactory beanFactory) {
        LanesProperties.Listener listener = properties.getListener();
        DefaultLanesListenerContainerRegistry.ContainerSettings settings = new DefaultLanesListenerContainerRegistry.ContainerSettings(
                listener.getConcurrency(), listener.getCommitMode(), properties.getPollTimeout(), properties.getShutdownTimeout(),
                listener.isReplaceFailedConsumers(), listener.getReplaceBackOff(), listener.getStartBalanceTimeout(),
                listener.isVirtualThreads());
        DefaultLanesListenerContainerRegistry registry = new DefaultLanesListenerContainerRegistry(consumerFactory, settings,
                listenerSettings, customizers.orderedStream().toList(), rebalanceListeners::getIfUnique, beanFactory);
        registry.setBeforeStart(listenerSettings::warnAboutUnknownIds);
        return registry;
    }
}
