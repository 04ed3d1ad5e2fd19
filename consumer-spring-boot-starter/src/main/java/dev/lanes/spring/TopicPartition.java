package dev.lanes.spring;

import java.lang.annotation.Documented;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * Partitions of one topic that a {@link LanesListener} is assigned explicitly (no group rebalancing), in its
 * {@link LanesListener#topicPartitions()}. Every attribute may use {@code ${...}} placeholders.
 */
@Target({})
@Retention(RetentionPolicy.RUNTIME)
@Documented
public @interface TopicPartition {

    /** The topic. */
    String topic();

    /** Partition numbers, each a number, a comma-separated list or a range such as {@code 0-3}. */
    String[] partitions() default {};

    /** Partitions with the offset to start from, in addition to (or instead of) {@link #partitions()}. */
    PartitionOffset[] partitionOffsets() default {};
}
