package dev.lanes.spring.listener;

import dev.lanes.spring.Acknowledgment;
import org.apache.kafka.clients.consumer.Consumer;
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
 * @param arguments how the method's parameters get their arguments
 * @param concurrency null when the listener names none (the container settings decide)
 * @param groupId null when the listener names none
 * @param topicPattern null when the listener names topics or partitions
 * @param assignments the explicitly assigned partitions; empty when the listener subscribes
 * @param errorHandler the name of the listener's own error handler bean, or null
 */
public record LanesListenerEndpoint(String id, String beanName, Object bean, Method method, ListenerArguments arguments,
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

    /** What the method takes the records as. */
    public ListenerArguments.Shape shape() {
        return arguments.shape();
    }

    /** A readable name of the method, for messages. */
    public String methodName() {
        return method.getDeclaringClass().getName() + "." + method.getName();
    }

    /** Calls the method for one record. */
    public void invokeRecord(ConsumerRecord<?, ?> record, String groupId, Acknowledgment acknowledgment,
                             Consumer<?, ?> consumer) throws Exception {
        invoke(arguments.forRecord(record, groupId, acknowledgment, consumer));
    }

    /** Calls the method for a batch: all records of a poll, or the part of them still to process. */
    public void invokeBatch(List<? extends ConsumerRecord<?, ?>> batch, String groupId, Acknowledgment acknowledgment,
                            Consumer<?, ?> consumer) throws Exception {
        ConsumerRecords<?, ?> records = shape() == ListenerArguments.Shape.RECORDS ? asConsumerRecords(batch) : null;
        invoke(arguments.forBatch(batch, records, groupId, acknowledgment, consumer));
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

    private void invoke(Object[] arguments) throws Exception {
        try {
            method.invoke(bean, arguments);
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
