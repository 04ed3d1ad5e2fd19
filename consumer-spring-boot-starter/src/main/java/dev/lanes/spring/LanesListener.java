package dev.lanes.spring;

import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * Marks a bean method as a listener of Kafka records, consumed by Lanes consumers that a listener
 * container runs. The method takes one record ({@code ConsumerRecord<K,V>} or the value alone) or a batch
 * ({@code List<ConsumerRecord<K,V>>} or {@code ConsumerRecords<K,V>}). Every attribute may use
 * {@code ${...}} placeholders.
 */
@Target(ElementType.METHOD)
@Retention(RetentionPolicy.RUNTIME)
@Documented
public @interface LanesListener {

    /** The listener's id: names its container and its consumers' client ids. Defaults to bean#method. */
    String id() default "";

    /** Topics to subscribe to. Either this or {@link #topicPattern()}. */
    String[] topics() default {};

    /** A regular expression of topics to subscribe to. Either this or {@link #topics()}. */
    String topicPattern() default "";

    /** The consumer group; defaults to {@code lanes.consumer.group-id}. */
    String groupId() default "";

    /** How many consumers (each on its own thread) the container runs; defaults to the listener properties. */
    String concurrency() default "";

    /** Whether the container starts with the application context; "true" or "false", default true. */
    String autoStartup() default "";

    /** Consumer settings for this listener only, as {@code key=value} entries. */
    String[] properties() default {};

    /** The name of a ConsumerRebalanceListener bean for this listener. */
    String rebalanceListener() default "";

    /**
     * Partitions to assign explicitly, with optional initial offsets, instead of subscribing to {@link #topics()}
     * or {@link #topicPattern()}. The container's consumers share them out (consumer n of N takes every Nth) and
     * commit to the group as usual, but take no part in group rebalancing.
     */
    TopicPartition[] topicPartitions() default {};

    /** The name of a {@link LanesErrorHandler} bean for this listener, over the application's error handler and the retry settings. */
    String errorHandler() default "";
}
