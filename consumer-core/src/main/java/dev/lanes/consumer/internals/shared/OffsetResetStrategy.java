package dev.lanes.consumer.internals.shared;

import org.apache.kafka.common.config.ConfigException;

import java.time.Duration;
import java.util.Locale;

/**
 * What {@code auto.offset.reset} says to do when a partition has no valid position: earliest, latest,
 * {@code by_duration:<ISO-8601 duration>}, or none (fail with NoOffsetForPartitionException). Immutable, parsed
 * once from the configuration; both threads read it.
 */
public final class OffsetResetStrategy {

    /** ListOffsets timestamp sentinels of the Kafka protocol. */
    public static final long EARLIEST_TIMESTAMP = -2L;
    public static final long LATEST_TIMESTAMP = -1L;

    public static final OffsetResetStrategy EARLIEST = new OffsetResetStrategy("earliest", null);
    public static final OffsetResetStrategy LATEST = new OffsetResetStrategy("latest", null);
    public static final OffsetResetStrategy NONE = new OffsetResetStrategy("none", null);

    private final String name;
    private final Duration duration;

    private OffsetResetStrategy(String name, Duration duration) {
        this.name = name;
        this.duration = duration;
    }

    public static OffsetResetStrategy parse(String value) {
        String lower = value.trim().toLowerCase(Locale.ROOT);
        switch (lower) {
            case "earliest":
                return EARLIEST;
            case "latest":
                return LATEST;
            case "none":
                return NONE;
            default:
                if (lower.startsWith("by_duration:")) {
                    try {
                        Duration duration = Duration.parse(value.trim().substring("by_duration:".length()));
                        if (!duration.isNegative()) {
                            return new OffsetResetStrategy("by_duration", duration);
                        }
                    } catch (RuntimeException e) {
                        // falls through to the error naming the key
                    }
                }
                throw new ConfigException("auto.offset.reset", value,
                        "expected earliest, latest, none or by_duration:<ISO-8601 duration>");
        }
    }

    public boolean isNone() {
        return this == NONE;
    }

    /** The ListOffsets timestamp that finds the reset position, at {@code nowMs} for by_duration. */
    public long timestamp(long nowMs) {
        if (this == EARLIEST) {
            return EARLIEST_TIMESTAMP;
        }
        if (this == LATEST) {
            return LATEST_TIMESTAMP;
        }
        if (duration != null) {
            return nowMs - duration.toMillis();
        }
        throw new IllegalStateException("auto.offset.reset=none has no reset position");
    }

    @Override
    public String toString() {
        return duration == null ? name : name + ":" + duration;
    }
}
