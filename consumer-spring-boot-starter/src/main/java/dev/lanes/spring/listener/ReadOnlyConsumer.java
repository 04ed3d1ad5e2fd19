package dev.lanes.spring.listener;

import org.apache.kafka.clients.consumer.Consumer;

import java.lang.reflect.InvocationHandler;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.util.Set;
import java.util.function.Supplier;

/**
 * The {@link Consumer} a listener method may take: the container's consumer for calls that only read (positions,
 * committed offsets, end offsets, lag, metadata, metrics...). Calls that would change what the container relies
 * on (poll, commit, seek, subscribe, pause, close, wakeup...) throw {@link UnsupportedOperationException}, since
 * the container owns the consumer: pause the container, or commit with an {@link dev.lanes.spring.Acknowledgment}.
 */
final class ReadOnlyConsumer {

    private static final Set<String> READS = Set.of("assignment", "subscription", "position", "committed", "metrics",
            "partitionsFor", "listTopics", "paused", "offsetsForTimes", "beginningOffsets", "endOffsets", "currentLag",
            "groupMetadata", "clientInstanceId", "toString", "hashCode", "equals");

    private ReadOnlyConsumer() {
    }

    @SuppressWarnings("unchecked")
    static <K, V> Consumer<K, V> of(Supplier<? extends Consumer<K, V>> consumer) {
        InvocationHandler handler = (proxy, method, arguments) -> {
            if (!READS.contains(method.getName())) {
                throw new UnsupportedOperationException("Consumer." + method.getName() + " is not available to a listener: "
                        + "the listener container owns the consumer (pause the container, or commit with an Acknowledgment)");
            }
            if (method.getName().equals("equals")) {
                return proxy == arguments[0];
            }
            if (method.getName().equals("hashCode")) {
                return System.identityHashCode(proxy);
            }
            try {
                return method.invoke(consumer.get(), arguments);
            } catch (InvocationTargetException e) {
                throw e.getCause();
            }
        };
        return (Consumer<K, V>) Proxy.newProxyInstance(ReadOnlyConsumer.class.getClassLoader(), new Class<?>[] {Consumer.class}, handler);
    }
}
