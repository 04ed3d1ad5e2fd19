package dev.lanes.spring.kafka.autoconfigure;

import dev.lanes.consumer.LanesConsumer;
import dev.lanes.consumer.LanesConsumerConfig;
import dev.lanes.spring.autoconfigure.LanesProperties;
import dev.lanes.spring.kafka.LanesContainerConsumers;
import dev.lanes.spring.kafka.LanesKafkaConsumerFactory;
import org.apache.kafka.clients.CommonClientConfigs;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.common.config.SslConfigs;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBooleanProperty;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.boot.kafka.autoconfigure.DefaultKafkaConsumerFactoryCustomizer;
import org.springframework.boot.kafka.autoconfigure.KafkaAutoConfiguration;
import org.springframework.boot.kafka.autoconfigure.KafkaConnectionDetails;
import org.springframework.boot.kafka.autoconfigure.KafkaProperties;
import org.springframework.boot.kafka.autoconfigure.SslBundleSslEngineFactory;
import org.springframework.boot.ssl.SslBundle;
import org.springframework.context.annotation.Bean;
import org.springframework.core.env.Environment;
import org.springframework.kafka.core.ConsumerFactory;
import org.springframework.util.StringUtils;

import java.util.Map;

/**
 * With {@code lanes.spring-kafka.enabled=true}, the application's {@link ConsumerFactory} is a
 * {@link LanesKafkaConsumerFactory} built as Spring Boot builds its own: from {@code spring.kafka.*} and the
 * {@link KafkaConnectionDetails}, then shaped by every {@link DefaultKafkaConsumerFactoryCustomizer}. So the
 * {@code @KafkaListener} containers (and anything else using the factory) run on Lanes consumers.
 *
 * <p>Lanes' own settings ({@code lanes.*} keys) come from {@code spring.kafka.consumer.properties} and from
 * {@code lanes.consumer.*} (for example {@code lanes.consumer.user-lane-capacity}); the latter win. Backs off,
 * as Boot's factory does, when the application defines a {@link ConsumerFactory} of its own.
 */
@AutoConfiguration(before = KafkaAutoConfiguration.class)
@ConditionalOnClass({LanesConsumer.class, ConsumerFactory.class, KafkaProperties.class})
@ConditionalOnBooleanProperty(LanesKafkaAutoConfiguration.ENABLED_PROPERTY)
@EnableConfigurationProperties(KafkaProperties.class)
public class LanesKafkaAutoConfiguration {

    /** The one property that switches spring-kafka's consumers to Lanes. */
    public static final String ENABLED_PROPERTY = "lanes.spring-kafka.enabled";

    @Bean
    @ConditionalOnMissingBean(ConsumerFactory.class)
    public LanesKafkaConsumerFactory<Object, Object> kafkaConsumerFactory(
            KafkaProperties properties, KafkaConnectionDetails connectionDetails, Environment environment,
            ObjectProvider<DefaultKafkaConsumerFactoryCustomizer> customizers) {
        Map<String, Object> configs = properties.buildConsumerProperties();
        applyConnectionDetails(configs, connectionDetails);
        configs.putAll(lanesSettings(environment));
        LanesKafkaConsumerFactory<Object, Object> factory = new LanesKafkaConsumerFactory<>(configs);
        customizers.orderedStream().forEach(customizer -> customizer.customize(factory));
        return factory;
    }

    @Bean
    @ConditionalOnMissingBean
    public LanesContainerConsumers lanesContainerConsumers(ObjectProvider<LanesKafkaConsumerFactory<?, ?>> factories) {
        return new LanesContainerConsumers(factories);
    }

    /** As Boot's own factory: bootstrap servers, security protocol and SSL bundle of the consumer. */
    static void applyConnectionDetails(Map<String, Object> configs, KafkaConnectionDetails connectionDetails) {
        KafkaConnectionDetails.Configuration consumer = connectionDetails.getConsumer();
        configs.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, consumer.getBootstrapServers());
        if (StringUtils.hasLength(consumer.getSecurityProtocol())) {
            configs.put(CommonClientConfigs.SECURITY_PROTOCOL_CONFIG, consumer.getSecurityProtocol());
        }
        SslBundle sslBundle = consumer.getSslBundle();
        if (sslBundle != null) {
            configs.put(SslConfigs.SSL_ENGINE_FACTORY_CLASS_CONFIG, SslBundleSslEngineFactory.class);
            configs.put(SslBundle.class.getName(), sslBundle);
        }
    }

    /** The {@code lanes.*} settings given under {@code lanes.consumer.*}; its other settings do not apply here. */
    static Map<String, Object> lanesSettings(Environment environment) {
        LanesProperties lanes = Binder.get(environment).bind("lanes.consumer", LanesProperties.class)
                .orElseGet(LanesProperties::new);
        return LanesConsumerConfig.lanesEntries(lanes.buildConsumerProperties());
    }
}
