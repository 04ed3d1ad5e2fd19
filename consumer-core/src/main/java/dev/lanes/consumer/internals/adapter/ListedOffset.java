package dev.lanes.consumer.internals.adapter;

import java.util.Optional;

/** One partition's answer to a ListOffsets lookup. */
public record ListedOffset(long offset, long timestamp, Optional<Integer> leaderEpoch) {
}
