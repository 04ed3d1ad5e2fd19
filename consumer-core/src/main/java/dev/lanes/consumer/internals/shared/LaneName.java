package dev.lanes.consumer.internals.shared;

/** The two lanes from the application thread to the background thread (R7). Immutable; any thread. */
public enum LaneName {
    /** The consumer's own work (callback acknowledgements, close): drained completely, first. */
    SYSTEM("system"),
    /** Work the application asked for (commits, lookups): bounded, drained within a budget. */
    USER("user");

    private final String tag;

    LaneName(String tag) {
        this.tag = tag;
    }

    /** The value of the {@code lane} metric tag. */
    public String tag() {
        return tag;
    }
}
