package dev.lanes.consumer.internals.background.managers;

/**
 * A producer of requests, polled by the background thread once per loop iteration. Implementations do
 * no I/O, never block and take no locks; they run on the background thread only.
 */
public interface RequestManager {

    /** The requests to send now, and how long until this manager wants to be polled again. */
    PollResult poll(long nowMs);
}
