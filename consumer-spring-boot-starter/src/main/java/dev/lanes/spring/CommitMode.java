package dev.lanes.spring;

/** When a listener container commits the offsets of processed records. */
public enum CommitMode {

    /** After each record (an asynchronous commit of that record's offset + 1). */
    RECORD,

    /** After all records of a poll are processed. */
    BATCH
}
