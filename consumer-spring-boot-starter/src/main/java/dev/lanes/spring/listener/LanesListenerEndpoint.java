package dev.lanes.spring.listener;

import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * One {@link dev.lanes.spring.LanesListener} method, with its annotation attributes resolved.
 *
 * @param concurrency null when the listener names none (the container settings decide)
 * @param groupId null when the listener names none
 * @param topicPattern null when the listener names topics
 */
public record LanesListenerEndpoint(String id, String beanName, Object bean, Method method, Shape shape,
                                    List<String> topics, Pattern topicPattern, String groupId, Integer concurrency,
                                    boolean autoStartup, Map<String, String> properties, String rebalanceListener) {

    /** What the listener method takes. */
    public enum Shape {
        /** A {@code ConsumerRecord<K,V>}. */
        RECORD(false),
        /** The record's value. */
        VALUE(false),
        /** A {@code List<ConsumerRecord<K,V>>}. */
        LIST(true),
        /** A {@code ConsumerRecords<K,V>}. */
        RECORDS(true);

        private final boolean batch;

        Shape(boolean batch) {
            this.batch = batch;
        }

        public boolean isBatch() {
            return batch;
        }
    }

    /** A readable name of the method, for messages. */
    public String methodName() {
        return method.getDeclaringClass().getName() + "." + method.getName();
    }

    /** Calls the method for one record. */
    public void invokeRecord(ConsumerRecord<?, ?> record) throws Exception {
        invoke(shape == Shape.VALUE ? record.value() : record);
    }

    /** Calls the method for a batch. */
    public void invokeBatch(ConsumerRecords<?, ?> records, List<ConsumerRecord<?, ?>> list) throws Exception {
        invoke(shape == Shape.RECORDS ? records : list);
    }

    private void invoke(Object argument) throws Exception {
        try {
            method.invoke(bean, argument);
        } catch (InvocationTargetException e) {
            Throwable cause = e.getCause();
            if (cause instanceof Exception exception) {
                throw exception;
            }
            if (cause instanceof Error error) {
                throw error;
            }
            throw e;
        }
    }
}
