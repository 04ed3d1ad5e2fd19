package dev.lanes.consumer;

/**
 * Receives every lane queue time as it is measured, for meter registries that keep their own
 * distributions (a Micrometer Timer with a percentile histogram, for example).
 *
 * <p>Called on the background thread, once per event taken from a lane: an implementation must be
 * quick and must never block (recording into a meter is fine). It is the one hook that runs there.
 */
@FunctionalInterface
public interface QueueTimeObserver {

    /**
     * @param lane  {@code system} or {@code user}
     * @param nanos how long the event waited in the lane
     */
    void queued(String lane, long nanos);
}
