package dev.lanes.spring.listener;

import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;

import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * One {@link dev.lanes.spring.LanesListener} method, with its annotation attributes resolved.
 *
 * @param concurrency null when the listener names none (the container settings decide)
 * @param groupId null when the listener names none
 * @param topicPattern null when the listener names topics or partitions
 * @param assignments the explicitly assigned partitions; empty when the listener subscribes
 * @param errorHandler the name of the listener's own error handler bean, or null
 */
public record LanesListenerEndpoint(String id, String beanName, Object bean, Method method, Shape shape,
                                    List<String> topics, Pattern topicPattern, String groupId, Integer concurrency,
                                    boolean autoStartup, Map<String, String> properties, String rebalanceListener,
                                    List<Assignment> assignments, String errorHandler) {

    /** One explicitly assigned partition and, when given, the offset to start from (negative: back from the end). */
    public record Assignment(TopicPartition partition, Long initialOffset) {
    }

    /** Whether the listener is assigned partitions instead of subscribing. */
    public boolean isAssigned() {
        return !assignments.isEmpty();
    }

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

    /** Calls the method for a batch: all records of a poll, or the part of them still to process. */
    public void invokeBatch(List<? extends ConsumerRecord<?, ?>> batch) throws Exception {
        invoke(shape == Shape.RECORDS ? asConsumerRecords(batch) : batch);
    }

    private static ConsumerRecords<?, ?> asConsumerRecords(List<? extends ConsumerRecord<?, ?>> batch) {
        Map<TopicPartition, List<ConsumerRecord<Object, Object>>> byPartition = new LinkedHashMap<>();
        Map<TopicPartition, OffsetAndMetadata> next = new HashMap<>();
        for (ConsumerRecord<?, ?> record : batch) {
            TopicPartition partition = new TopicPartition(record.topic(), record.partition());
            @SuppressWarnings("unchecked")
            ConsumerRecord<Object, Object> typed = (ConsumerRecord<Object, Object>) record;
            byPartition.computeIfAbsent(partition, p -> new ArrayList<>()).add(typed);
            next.put(partition, new OffsetAndMetadata(record.offset() + 1));
        }
        return new ConsumerRecords<>(byPartition, next);
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
