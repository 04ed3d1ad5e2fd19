package dev.lanes.spring.autoconfigure;

import dev.lanes.spring.CommitMode;
import dev.lanes.spring.ConfigurableLanesListenerContainer;
import dev.lanes.spring.LanesErrorHandler;
import dev.lanes.spring.LanesListener;
import dev.lanes.spring.LanesListenerContainerCustomizer;
import dev.lanes.spring.LanesListenerContainerRegistry;
import dev.lanes.spring.PartitionOffset;
import dev.lanes.spring.TopicPartition;
import dev.lanes.spring.listener.DefaultLanesErrorHandler;
import dev.lanes.spring.listener.DefaultLanesListenerContainer;
import dev.lanes.spring.listener.LanesListenerEndpoint;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.errors.RecordDeserializationException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledForJreRange;
import org.junit.jupiter.api.condition.JRE;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.context.ApplicationContext;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.core.task.SimpleAsyncTaskExecutor;
import org.springframework.core.task.TaskExecutor;
import org.springframework.util.backoff.ExponentialBackOff;
import org.springframework.util.backoff.FixedBackOff;

import java.util.List;
import java.util.function.BooleanSupplier;

import static org.assertj.core.api.Assertions.assertThat;

/** lanes.consumer.listeners.<id>.* over lanes.consumer.listener.*, the errorHandler attribute and topicPartitions. */
class PerListenerSettingsTests {

    private final ApplicationContextRunner runner = new ApplicationContextRunner()
            .withConfiguration(AutoConfigurations.of(LanesAutoConfiguration.class))
            .withPropertyValues("lanes.consumer.group-id=g")
            .withUserConfiguration(Listeners.class);

    @Test
    void withoutSettingsOfItsOwnAListenerTakesTheSharedOnesAndCommitsPerBatch() {
        runner.run(context -> {
            assertThat(context).hasNotFailed();
            ConfigurableLanesListenerContainer orders = container(context, "orders");
            assertThat(orders.getCommitMode()).isEqualTo(CommitMode.BATCH);
            assertThat(orders.getConcurrency()).isEqualTo(2);
            assertThat(orders.getErrorHandler()).isSameAs(context.getBean(LanesErrorHandler.class));
        });
    }

    @Test
    void aListenersOwnSettingsWinOverTheSharedOnesAndOverItsAnnotation() {
        runner.withPropertyValues("lanes.consumer.listener.concurrency=3",
                "lanes.consumer.listener.retry.attempts=5",
                "lanes.consumer.listeners.orders.concurrency=4",
                "lanes.consumer.listeners.orders.commit-mode=record",
                "lanes.consumer.listeners.orders.retry.multiplier=2",
                "lanes.consumer.listeners.orders.retry.back-off=100ms",
                "lanes.consumer.listeners.orders.dead-letter.enabled=true",
                "lanes.consumer.listener.replace-back-off=7s",
                "lanes.consumer.listeners.orders.replace-failed-consumers=false",
                "lanes.consumer.listeners.orders.start-balance-timeout=0s").run(context -> {
            assertThat(context).hasNotFailed();
            ConfigurableLanesListenerContainer orders = container(context, "orders");
            assertThat(orders.isReplaceFailedConsumers()).isFalse();
            assertThat(orders.getReplaceBackOff()).hasSeconds(7);
            assertThat(((DefaultLanesListenerContainer) orders).getStartBalanceTimeout()).isZero();
            assertThat(((DefaultLanesListenerContainer) container(context, "payments")).getStartBalanceTimeout()).hasSeconds(30);
            assertThat(container(context, "payments").isReplaceFailedConsumers()).isTrue();
            assertThat(orders.getConcurrency()).isEqualTo(4);
            assertThat(orders.getCommitMode()).isEqualTo(CommitMode.RECORD);
            assertThat(orders.getErrorHandler()).isNotSameAs(context.getBean(LanesErrorHandler.class))
                    .isInstanceOfSatisfying(DefaultLanesErrorHandler.class, handler -> {
                        assertThat(handler.backOff()).isInstanceOfSatisfying(ExponentialBackOff.class, backOff -> {
                            assertThat(backOff.getMaxAttempts()).isEqualTo(5); // from lanes.consumer.listener
                            assertThat(backOff.getInitialInterval()).isEqualTo(100);
                            assertThat(backOff.getMultiplier()).isEqualTo(2.0);
                        });
                        assertThat(handler.deadLetterPublisher()).isNotNull();
                        assertThat(handler.deadLetterPublisher().deadLetterTopic("orders")).isEqualTo("orders.DLT");
                    });
            ConfigurableLanesListenerContainer payments = container(context, "payments");
            assertThat(payments.getConcurrency()).isEqualTo(3);
            assertThat(payments.getCommitMode()).isEqualTo(CommitMode.BATCH);
            assertThat(payments.getErrorHandler()).isSameAs(context.getBean(LanesErrorHandler.class));
            assertThat(((DefaultLanesErrorHandler) payments.getErrorHandler()).backOff())
                    .isInstanceOfSatisfying(FixedBackOff.class, backOff -> assertThat(backOff.getMaxAttempts()).isEqualTo(5));
        });
    }

    @Test
    void aBadPerListenerSettingNamesItsProperty() {
        runner.withPropertyValues("lanes.consumer.listeners.orders.concurrency=0").run(context -> {
            assertThat(context).hasFailed();
            assertThat(context.getStartupFailure()).rootCause().hasMessageContaining("lanes.consumer.listeners[orders].concurrency")
                    .hasMessageContaining("must be at least 1");
        });
    }

    @Test
    void theErrorHandlerAttributeNamesABean() {
        runner.withUserConfiguration(OwnErrorHandler.class).run(context -> {
            assertThat(context).hasNotFailed();
            assertThat(container(context, "audit").getErrorHandler()).isSameAs(context.getBean("auditErrorHandler"));
        });
        runner.withUserConfiguration(AuditWithoutItsErrorHandler.class).run(context -> assertThat(context.getStartupFailure())
                .hasMessageContaining("no LanesErrorHandler bean named 'auditErrorHandler'"));
    }

    @Test
    void consumersRunOnPlatformThreadsOfTheirOwnByDefault() {
        runner.run(context -> assertThat(container(context, "orders").getTaskExecutor()).isNull());
    }

    @Test
    @EnabledForJreRange(min = JRE.JAVA_21)
    void virtualThreadsAreOneSettingAwayAndAListenerMayKeepPlatformThreads() {
        runner.withPropertyValues("lanes.consumer.listener.virtual-threads=true",
                "lanes.consumer.listeners.payments.virtual-threads=false").run(context -> {
            assertThat(context).hasNotFailed();
            assertThat(runsOnVirtualThread(container(context, "orders").getTaskExecutor())).isTrue();
            assertThat(container(context, "payments").getTaskExecutor()).isNull();
        });
    }

    @Test
    void aContainerCustomizerHandsTheContainerAnExecutorOfTheApplication() {
        TaskExecutor executor = new SimpleAsyncTaskExecutor("app-");
        runner.withBean(LanesListenerContainerCustomizer.class, () -> container -> container.setTaskExecutor(executor))
                .run(context -> assertThat(container(context, "orders").getTaskExecutor()).isSameAs(executor));
    }

    private static boolean runsOnVirtualThread(TaskExecutor executor) throws Exception {
        java.util.concurrent.CompletableFuture<Thread> thread = new java.util.concurrent.CompletableFuture<>();
        executor.execute(() -> thread.complete(Thread.currentThread()));
        // Thread.isVirtual() is Java 21 API; the tests compile for Java 17.
        return (Boolean) Thread.class.getMethod("isVirtual").invoke(thread.get(5, java.util.concurrent.TimeUnit.SECONDS));
    }

    @Test
    void topicPartitionsAreParsedWithRangesAndInitialOffsets() {
        runner.withUserConfiguration(OwnErrorHandler.class).withPropertyValues("audit.topic=audit").run(context -> {
            DefaultLanesListenerContainer audit = (DefaultLanesListenerContainer) container(context, "audit");
            assertThat(audit.endpoint().isAssigned()).isTrue();
            assertThat(audit.endpoint().assignments()).containsExactly(
                    assignment("audit", 0, null), assignment("audit", 1, null), assignment("audit", 2, 5L),
                    assignment("other", 3, -10L));
            assertThat(audit.topics()).containsExactly("audit-0", "audit-1", "audit-2", "other-3");
        });
    }

    private static LanesListenerEndpoint.Assignment assignment(String topic, int partition, Long offset) {
        return new LanesListenerEndpoint.Assignment(new org.apache.kafka.common.TopicPartition(topic, partition), offset);
    }

    private static ConfigurableLanesListenerContainer container(ApplicationContext context, String id) {
        return (ConfigurableLanesListenerContainer) context.getBean(LanesListenerContainerRegistry.class).container(id).orElseThrow();
    }

    @Configuration(proxyBeanMethods = false)
    static class Listeners {
        @Bean
        Object listenerBean() {
            return new Object() {
                @LanesListener(id = "orders", topics = "orders", concurrency = "2", autoStartup = "false")
                void orders(String value) {
                }

                @LanesListener(id = "payments", topics = "payments", autoStartup = "false")
                void payments(String value) {
                }
            };
        }
    }

    @Configuration(proxyBeanMethods = false)
    static class OwnErrorHandler {
        @Bean
        LanesErrorHandler auditErrorHandler() {
            return new LanesErrorHandler() {
                @Override
                public boolean invoke(String listenerId, String groupId, List<? extends ConsumerRecord<?, ?>> records,
                                      ListenerInvocation invocation, BooleanSupplier stopping) {
                    return true;
                }

                @Override
                public void handleDeserializationFailure(String listenerId, String groupId, RecordDeserializationException exception) {
                }
            };
        }

        @Bean
        Object auditListener() {
            return new Object() {
                @LanesListener(id = "audit", autoStartup = "false", errorHandler = "auditErrorHandler", topicPartitions = {
                        @TopicPartition(topic = "${audit.topic:audit}", partitions = "0-1",
                                partitionOffsets = @PartitionOffset(partition = "2", initialOffset = "5")),
                        @TopicPartition(topic = "other", partitionOffsets = @PartitionOffset(partition = "3", initialOffset = "-10"))})
                void audit(String value) {
                }
            };
        }
    }

    @Configuration(proxyBeanMethods = false)
    static class AuditWithoutItsErrorHandler {
        @Bean
        Object auditListener() {
            return new OwnErrorHandler().auditListener();
        }
    }
}
