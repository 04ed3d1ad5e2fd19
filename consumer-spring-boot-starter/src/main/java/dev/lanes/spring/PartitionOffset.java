package dev.lanes.spring;

import java.lang.annotation.Documented;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * A partition of a {@link TopicPartition} and the offset its listener starts from each time its container
 * starts. Without one, a partition starts from the group's committed offset (or {@code auto.offset.reset}).
 */
@Target({})
@Retention(RetentionPolicy.RUNTIME)
@Documented
public @interface PartitionOffset {

    /** The partition number. */
    String partition();

    /** The offset to start from; a negative one counts back from the end of the partition ({@code -10}: the last ten records). */
    String initialOffset();
}
