package dev.lanes.spring.autoconfigure;

import dev.lanes.spring.CommitMode;
import dev.lanes.spring.DeadLetterPublisher;
import dev.lanes.spring.DefaultLanesConsumerFactory;
import dev.lanes.spring.LanesConsumerCustomizer;
import dev.lanes.spring.LanesConsumerFactory;
import dev.lanes.spring.LanesErrorHandler;
import dev.lanes.spring.LanesListener;
import dev.lanes.spring.LanesListenerContainerCustomizer;
import dev.lanes.spring.LanesListenerContainerRegistry;
import dev.lanes.spring.diagnostics.LanesConfigurationFailureAnalyzer;
import dev.lanes.spring.listener.DefaultLanesErrorHandler;
import dev.lanes.spring.listener.DefaultLanesListenerContainer;
import dev.lanes.spring.listener.DefaultLanesListenerContainerRegistry;
import dev.lanes.spring.listener.KafkaDeadLetterPublisher;
import dev.lanes.spring.listener.LanesListenerAnnotationBeanPostProcessor;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.config.ConfigException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.Test;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.diagnostics.FailureAnalysis;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.core.annotation.Order;
import org.springframework.util.backoff.FixedBackOff;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

class LanesAutoConfigurationTests {

    private final ApplicationContextRunner runner = new ApplicationContextRunner()
            .withConfiguration(AutoConfigurations.of(LanesAutoConfiguration.class));

    @Test
    void definesTheDefaultBeans() {
        runner.run(context -> {
            assertThat(context).hasNotFailed();
            assertThat(context).hasSingleBean(LanesProperties.class);
            assertThat(context).hasSingleBean(DefaultLanesConsumerFactory.class);
            assertThat(context).hasSingleBean(LanesListenerAnnotationBeanPostProcessor.class);
            assertThat(context).hasSingleBean(DefaultLanesListenerContainerRegistry.class);
            assertThat(context).hasSingleBean(DefaultLanesErrorHandler.class);
            assertThat(context).doesNotHaveBean(DeadLetterPublisher.class);
            assertThat(context.getBean(DefaultLanesErrorHandler.class).deadLetterPublisher()).isNull();
            assertThat(context.getBean(LanesConsumerFactory.class).configuration())
                    .containsEntry("bootstrap.servers", "localhost:9092")
                    .containsEntry("enable.auto.commit", false);
        });
    }

    @Test
    void deadLetterPublisherOnlyWhenEnabled() {
        runner.withPropertyValues("lanes.consumer.listener.dead-letter.enabled=true",
                "lanes.consumer.listener.dead-letter.topic-suffix=.dead").run(context -> {
            assertThat(context).hasSingleBean(KafkaDeadLetterPublisher.class);
            KafkaDeadLetterPublisher publisher = context.getBean(KafkaDeadLetterPublisher.class);
            assertThat(publisher.deadLetterTopic("orders")).isEqualTo("orders.dead");
            assertThat(context.getBean(DefaultLanesErrorHandler.class).deadLetterPublisher()).isSameAs(publisher);
        });
    }

    @Test
    void userBeansReplaceEachDefault() {
        runner.withPropertyValues("lanes.consumer.listener.dead-letter.enabled=true")
                .withUserConfiguration(UserBeans.class).run(context -> {
                    assertThat(context).hasNotFailed();
                    assertThat(context).hasSingleBean(LanesConsumerFactory.class);
                    assertThat(context.getBean(LanesConsumerFactory.class)).isSameAs(context.getBean("myFactory"));
                    assertThat(context).hasSingleBean(LanesErrorHandler.class);
                    assertThat(context.getBean(LanesErrorHandler.class)).isSameAs(context.getBean("myErrorHandler"));
                    assertThat(context).hasSingleBean(DeadLetterPublisher.class);
                    assertThat(context.getBean(DeadLetterPublisher.class)).isSameAs(context.getBean("myPublisher"));
                    assertThat(context).hasSingleBean(LanesListenerContainerRegistry.class);
                    assertThat(context.getBean(LanesListenerContainerRegistry.class)).isSameAs(context.getBean("myRegistry"));
                    assertThat(context).hasSingleBean(LanesListenerAnnotationBeanPostProcessor.class);
                    assertThat(context.getBean(LanesListenerAnnotationBeanPostProcessor.class)).isSameAs(context.getBean("myPostProcessor"));
                });
    }

    @Test
    void consumerCustomizersAreAppliedInOrder() {
        runner.withUserConfiguration(ConsumerCustomizers.class).run(context -> {
            Map<String, Object> configuration = context.getBean(LanesConsumerFactory.class).configuration();
            assertThat(configuration).containsEntry("client.id", "first-second");
            assertThat(configuration).containsEntry("max.poll.records", 7);
        });
    }

    @Test
    void propertiesBindAndMapToConsumerKeys() {
        runner.withPropertyValues(
                "lanes.consumer.bootstrap-servers=a:1,b:2",
                "lanes.consumer.group-id=g",
                "lanes.consumer.client-id=c",
                "lanes.consumer.key-deserializer=" + ByteArrayDeserializer.class.getName(),
                "lanes.consumer.auto-offset-reset=earliest",
                "lanes.consumer.max-poll-records=42",
                "lanes.consumer.user-lane-capacity=99",
                "lanes.consumer.fetch-buffer-max-bytes=2MB",
                "lanes.consumer.poll-timeout=250ms",
                "lanes.consumer.shutdown-timeout=3s",
                "lanes.consumer.properties[fetch.min.bytes]=5",
                "lanes.consumer.properties[lanes.user.lane.drain.budget]=8",
                "lanes.consumer.listener.concurrency=3",
                "lanes.consumer.listener.commit-mode=batch",
                "lanes.consumer.listener.retry.attempts=4",
                "lanes.consumer.listener.retry.back-off=2s").run(context -> {
            LanesProperties properties = context.getBean(LanesProperties.class);
            assertThat(properties.getPollTimeout()).isEqualTo(Duration.ofMillis(250));
            assertThat(properties.getShutdownTimeout()).isEqualTo(Duration.ofSeconds(3));
            assertThat(properties.getListener().getCommitMode()).isEqualTo(CommitMode.BATCH);
            assertThat(properties.getListener().getConcurrency()).isEqualTo(3);
            assertThat(properties.getListener().getRetry().getBackOff()).isEqualTo(Duration.ofSeconds(2));
            assertThat(properties.getProperties()).containsEntry("fetch.min.bytes", "5");
            Map<String, Object> configuration = context.getBean(LanesConsumerFactory.class).configuration();
            assertThat(configuration)
                    .containsEntry("bootstrap.servers", "a:1,b:2")
                    .containsEntry("group.id", "g")
                    .containsEntry("client.id", "c")
                    .containsEntry("key.deserializer", ByteArrayDeserializer.class)
                    .containsEntry("auto.offset.reset", "earliest")
                    .containsEntry("max.poll.records", 42)
                    .containsEntry("lanes.user.lane.capacity", 99)
                    .containsEntry("lanes.fetch.buffer.max.bytes", 2L * 1024 * 1024)
                    .containsEntry("fetch.min.bytes", "5")
                    .containsEntry("lanes.user.lane.drain.budget", "8");
            DefaultLanesErrorHandler errorHandler = context.getBean(DefaultLanesErrorHandler.class);
            assertThat(errorHandler.backOff()).isInstanceOfSatisfying(FixedBackOff.class, backOff -> {
                assertThat(backOff.getMaxAttempts()).isEqualTo(4);
                assertThat(backOff.getInterval()).isEqualTo(2000);
            });
        });
    }

    @Test
    void aBadSettingFromACustomizerFailsWithTheAnalyzersMessage() {
        runner.withBean(LanesConsumerCustomizer.class, () -> config -> config.put("lanes.user.lane.capacity", 0))
                .run(context -> {
                    assertThat(context).hasFailed();
                    FailureAnalysis analysis = new LanesConfigurationFailureAnalyzer().analyze(context.getStartupFailure());
                    assertThat(analysis).isNotNull();
                    assertThat(analysis.getDescription()).contains("'lanes.user.lane.capacity'").contains("'0'");
                    assertThat(analysis.getAction()).contains("lanes.consumer.user-lane-capacity")
                            .contains("LanesConsumerCustomizer").contains("[1,...,1048576]");
                });
    }

    @Test
    void analyzerReadsAValidatorsMessageThatRepeatsTheKey() {
        FailureAnalysis analysis = new LanesConfigurationFailureAnalyzer().analyze(new IllegalStateException(
                new ConfigException("auto.offset.reset", "sometimes", "Invalid value `sometimes` for configuration auto.offset.reset. "
                        + "The value must be either 'earliest', 'latest', 'none' or of the format 'by_duration:<PnDTnHnMn.nS.>'.")));
        assertThat(analysis.getDescription()).startsWith("The Lanes consumer setting 'auto.offset.reset' has an invalid value 'sometimes': ");
        assertThat(analysis.getAction()).contains("'lanes.consumer.auto-offset-reset'");
    }

    @Test
    void analyzerNamesThePropertiesMapForOtherKeys() {
        FailureAnalysis analysis = new LanesConfigurationFailureAnalyzer()
                .analyze(new IllegalStateException(new ConfigException("fetch.min.bytes", -1, "Value must be at least 0")));
        assertThat(analysis.getAction()).contains("lanes.consumer.properties[fetch.min.bytes]");
    }

    @Test
    void listenersAreFoundWithPlaceholdersResolvedAndContainersCustomizedInOrder() {
        runner.withUserConfiguration(Listeners.class, ContainerCustomizers.class, RebalanceListenerBean.class)
                .withPropertyValues("lanes.consumer.group-id=default-group", "my.topic=orders",
                        "my.concurrency=2", "my.id=orders-listener", "lanes.consumer.listener.commit-mode=batch")
                .run(context -> {
                    assertThat(context).hasNotFailed();
                    LanesListenerContainerRegistry registry = context.getBean(LanesListenerContainerRegistry.class);
                    assertThat(registry.containers()).hasSize(4);
                    DefaultLanesListenerContainer container =
                            (DefaultLanesListenerContainer) registry.container("orders-listener").orElseThrow();
                    assertThat(container.topics()).containsExactly("orders");
                    assertThat(container.groupId()).isEqualTo("default-group");
                    assertThat(container.getConcurrency()).isEqualTo(2);
                    assertThat(container.isAutoStartup()).isFalse();
                    assertThat(container.getCommitMode()).isEqualTo(CommitMode.BATCH);
                    assertThat(container.consumerProperties()).containsEntry("fetch.min.bytes", "3")
                            .containsEntry("customized", "first,second");
                    assertThat(container.getRebalanceListener()).isSameAs(context.getBean("rebalance"));
                    DefaultLanesListenerContainer batch =
                            (DefaultLanesListenerContainer) registry.container("batch").orElseThrow();
                    assertThat(batch.groupId()).isEqualTo("own-group");
                    assertThat(batch.endpoint().shape().isBatch()).isTrue();
                    assertThat(registry.container("listeners#records")).isPresent();
                    assertThat(registry.container("pattern").orElseThrow().topics()).containsExactly("ord.*");
                });
    }

    @Test
    void listenerAttributesMayBeExpressionsOverBeansAndProperties() {
        runner.withUserConfiguration(ExpressionListeners.class)
                .withPropertyValues("lanes.consumer.group-id=g", "my.topics=audit,billing", "my.threads=3")
                .run(context -> {
                    assertThat(context).hasNotFailed();
                    LanesListenerContainerRegistry registry = context.getBean(LanesListenerContainerRegistry.class);
                    DefaultLanesListenerContainer split =
                            (DefaultLanesListenerContainer) registry.container("split-orders").orElseThrow();
                    assertThat(split.topics()).containsExactly("audit", "billing", "orders-eu", "orders-us");
                    assertThat(split.getConcurrency()).isEqualTo(3);
                    assertThat(split.groupId()).isEqualTo("regions-group");
                });
    }

    @Test
    void anExpressionOfTheWrongKindFailsStartupNamingTheAttribute() {
        runner.withUserConfiguration(BadExpressionListener.class).withPropertyValues("lanes.consumer.group-id=g")
                .run(context -> assertThat(context.getStartupFailure()).rootCause()
                        .hasMessageContaining(BadExpressionListener.class.getName() + ".listen")
                        .hasMessageContaining("concurrency")
                        .hasMessageContaining("a single value was expected"));
    }

    @Test
    void aListenerMethodOfTheWrongShapeFailsStartupNamingTheMethod() {
        runner.withUserConfiguration(BadListener.class).withPropertyValues("lanes.consumer.group-id=g").run(context -> {
            assertThat(context).hasFailed();
            assertThat(context.getStartupFailure()).rootCause().hasMessageContaining(BadListener.class.getName() + ".twoArguments")
                    .hasMessageContaining("one payload parameter");
        });
    }

    @Test
    void aListenerWithoutGroupFailsStartup() {
        runner.withUserConfiguration(Listeners.class).withPropertyValues("my.topic=t", "my.concurrency=1", "my.id=x")
                .run(context -> assertThat(context.getStartupFailure()).hasMessageContaining("no consumer group"));
    }

    @Configuration(proxyBeanMethods = false)
    static class UserBeans {
        @Bean
        LanesConsumerFactory<Object, Object> myFactory() {
            return new DefaultLanesConsumerFactory<>(Map.of("bootstrap.servers", "x:1",
                    "key.deserializer", ByteArrayDeserializer.class, "value.deserializer", ByteArrayDeserializer.class));
        }

        @Bean
        LanesErrorHandler myErrorHandler() {
            return new DefaultLanesErrorHandler(0, Duration.ZERO, null);
        }

        @Bean
        DeadLetterPublisher myPublisher() {
            return new KafkaDeadLetterPublisher(Map.of("bootstrap.servers", "x:1"), ".X", new ByteArraySerializer(), new ByteArraySerializer(), false);
        }

        @Bean
        LanesListenerContainerRegistry myRegistry() {
            return new LanesListenerContainerRegistry() {
                @Override
                public Collection<dev.lanes.spring.LanesListenerContainer> containers() {
                    return List.of();
                }

                @Override
                public java.util.Optional<dev.lanes.spring.LanesListenerContainer> container(String id) {
                    return java.util.Optional.empty();
                }
            };
        }

        @Bean
        static LanesListenerAnnotationBeanPostProcessor myPostProcessor() {
            return new LanesListenerAnnotationBeanPostProcessor();
        }
    }

    @Configuration(proxyBeanMethods = false)
    static class ConsumerCustomizers {
        @Bean
        @Order(2)
        LanesConsumerCustomizer second() {
            return config -> config.put("client.id", config.get("client.id") + "-second");
        }

        @Bean
        @Order(1)
        LanesConsumerCustomizer first() {
            return config -> {
                config.put("client.id", "first");
                config.put("max.poll.records", 7);
            };
        }
    }

    @Configuration(proxyBeanMethods = false)
    static class ContainerCustomizers {
        @Bean
        @Order(2)
        LanesListenerContainerCustomizer secondContainerCustomizer() {
            return container -> container.setConsumerProperty("customized",
                    ((DefaultLanesListenerContainer) container).consumerProperties().get("customized") + ",second");
        }

        @Bean
        @Order(1)
        LanesListenerContainerCustomizer firstContainerCustomizer() {
            return container -> container.setConsumerProperty("customized", "first");
        }
    }

    @Configuration(proxyBeanMethods = false)
    static class RebalanceListenerBean {
        @Bean
        ConsumerRebalanceListener rebalance() {
            return new ConsumerRebalanceListener() {
                @Override
                public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
                }

                @Override
                public void onPartitionsAssigned(Collection<TopicPartition> partitions) {
                }
            };
        }
    }

    @Configuration(proxyBeanMethods = false)
    static class Listeners {
        @Bean
        Listener listeners() {
            return new Listener();
        }
    }

    static class Listener {
        final List<Object> received = new ArrayList<>();

        @LanesListener(id = "${my.id}", topics = "${my.topic}", concurrency = "${my.concurrency}",
                autoStartup = "false", properties = "fetch.min.bytes=3")
        void value(String value) {
            received.add(value);
        }

        @LanesListener(id = "batch", topics = "b", groupId = "own-group", autoStartup = "false")
        void batch(List<ConsumerRecord<String, String>> records) {
            received.addAll(records);
        }

        @LanesListener(topics = "r", autoStartup = "false")
        void records(ConsumerRecords<String, String> records) {
        }

        @LanesListener(id = "pattern", topicPattern = "ord.*", autoStartup = "false")
        void pattern(ConsumerRecord<String, String> record) {
        }
    }

    @Configuration(proxyBeanMethods = false)
    static class ExpressionListeners {
        @Bean
        List<String> regions() {
            return List.of("orders-eu", "orders-us");
        }

        @Bean
        ExpressionListener expressionListener() {
            return new ExpressionListener();
        }
    }

    static class ExpressionListener {
        @LanesListener(id = "#{'split-' + 'orders'}", topics = {"#{'${my.topics}'.split(',')}", "#{@regions}"},
                concurrency = "#{${my.threads}}", groupId = "#{'regions' + '-group'}", autoStartup = "false")
        void listen(String value) {
        }
    }

    @Configuration(proxyBeanMethods = false)
    static class BadExpressionListener {
        @Bean
        BadExpressionListener badExpression() {
            return new BadExpressionListener();
        }

        @LanesListener(topics = "t", concurrency = "#{{1, 2}}", autoStartup = "false")
        void listen(String value) {
        }
    }

    @Configuration(proxyBeanMethods = false)
    static class BadListener {
        @Bean
        BadListener bad() {
            return new BadListener();
        }

        @LanesListener(topics = "t")
        void twoArguments(String a, String b) {
        }
    }
}
