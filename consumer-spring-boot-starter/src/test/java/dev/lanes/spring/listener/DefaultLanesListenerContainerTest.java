package dev.lanes.spring.listener;

import dev.lanes.consumer.LanesConsumer;
import dev.lanes.spring.DefaultLanesConsumerFactory;
import dev.lanes.spring.LanesConsumerFactory;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.junit.jupiter.api.Test;
import org.springframework.core.task.TaskExecutor;
import org.springframework.core.task.TaskRejectedException;

import java.lang.reflect.Method;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/** The container's lifecycle on the task executor, with consumers of a broker that is never reached. */
class DefaultLanesListenerContainerTest {

    static class Listener {
        void onRecord(ConsumerRecord<String, String> record) {
        }
    }

    private final List<String> closed = new CopyOnWriteArrayList<>();
    private final DefaultLanesConsumerFactory<Object, Object> factory = new DefaultLanesConsumerFactory<>(Map.of(
            ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, "127.0.0.1:1",
            ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class,
            ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class));

    DefaultLanesListenerContainerTest() {
        factory.addListener(new LanesConsumerFactory.ConsumerLifecycleListener() {
            @Override
            public void consumerClosed(String listenerId, LanesConsumer<?, ?> consumer) {
                closed.add(consumer.clientId());
            }
        });
    }

    private DefaultLanesListenerContainer container(int concurrency) throws Exception {
        Method method = Listener.class.getDeclaredMethod("onRecord", ConsumerRecord.class);
        LanesListenerEndpoint endpoint = new LanesListenerEndpoint("orders", "listener", new Listener(), method,
                ListenerArguments.of(method), List.of("orders"), null, "group", null, true, Map.of(), null, List.of(), null);
        DefaultLanesListenerContainer container = new DefaultLanesListenerContainer(endpoint, factory, "group", concurrency,
                new DefaultLanesErrorHandler(new org.springframework.util.backoff.FixedBackOff(0, 0), null, List.of()));
        container.setPollTimeout(Duration.ofMillis(100));
        container.setShutdownTimeout(Duration.ofSeconds(2));
        container.setStartBalanceTimeout(Duration.ZERO);
        return container;
    }

    @Test
    void theConsumersRunOnTheGivenExecutorUnderTheListenersThreadNames() throws Exception {
        AtomicInteger tasks = new AtomicInteger();
        TaskExecutor executor = task -> {
            tasks.incrementAndGet();
            new Thread(task, "application-pool-" + tasks.get()).start();
        };
        DefaultLanesListenerContainer container = container(2);
        container.setTaskExecutor(executor);

        container.start();
        try {
            await().atMost(Duration.ofSeconds(10)).until(() -> threadNames().containsAll(
                    List.of("lanes-listener-orders-0", "lanes-listener-orders-1")));
            assertThat(tasks).hasValue(2);
            assertThat(container.consumers()).extracting(consumer -> consumer.clientId())
                    .containsExactly("orders-0", "orders-1");
        } finally {
            container.stop();
        }
        assertThat(container.isRunning()).isFalse();
        assertThat(container.consumers()).isEmpty();
        assertThat(closed).containsExactlyInAnyOrder("orders-0", "orders-1");
    }

    @Test
    void anExecutorThatRefusesAConsumerFailsTheStartAndEveryConsumerIsClosed() throws Exception {
        DefaultLanesListenerContainer container = container(2);
        container.setTaskExecutor(task -> {
            throw new TaskRejectedException("no thread for it");
        });

        assertThatThrownBy(container::start).isInstanceOf(TaskRejectedException.class);

        assertThat(container.isRunning()).isFalse();
        assertThat(container.consumers()).isEmpty();
        assertThat(closed).containsExactlyInAnyOrder("orders-0", "orders-1");
    }

    private static List<String> threadNames() {
        return Thread.getAllStackTraces().keySet().stream().map(Thread::getName).toList();
    }
}
