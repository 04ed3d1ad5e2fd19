package dev.lanes.consumer.internals.common;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Closing what a consumer owns, where one failure must not keep the rest from being closed. */
public final class Closeables {

    private static final Logger log = LoggerFactory.getLogger(Closeables.class);

    private Closeables() {
    }

    /** Closes {@code closeable} (null is fine); anything it throws is logged, not thrown. */
    public static void closeQuietly(AutoCloseable closeable, String name) {
        if (closeable == null) {
            return;
        }
        try {
            closeable.close();
        } catch (Throwable t) {
            log.error("Failed to close {} with type {}", name, closeable.getClass().getName(), t);
        }
    }
}
