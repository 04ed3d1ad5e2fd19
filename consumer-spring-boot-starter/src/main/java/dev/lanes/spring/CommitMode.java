package dev.lanes.spring;

/** When a listener container commits the offsets of processed records. */
public enum CommitMode {

    /** After each record (an asynchronous commit of that record's offset + 1). */
    RECORD,

    /** After all records of a poll are processed (the default, as in spring-kafka). */
    BATCH,

    /** What the listener {@linkplain Acknowledgment acknowledged}, after all records of a poll are processed. */
    MANUAL,

    /** What the listener {@linkplain Acknowledgment acknowledged}, as soon as it does. */
    MANUAL_IMMEDIATE;

    /** Whether the listener decides what is committed, through an {@link Acknowledgment}. */
    public boolean isManual() {
        return this == MANUAL || this == MANUAL_IMMEDIATE;
    }
}
