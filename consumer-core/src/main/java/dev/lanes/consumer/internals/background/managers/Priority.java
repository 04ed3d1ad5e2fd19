package dev.lanes.consumer.internals.background.managers;

/** Requests of the consumer's own (system) work go out before requests the application asked for (R7). */
public enum Priority {
    SYSTEM,
    USER
}
