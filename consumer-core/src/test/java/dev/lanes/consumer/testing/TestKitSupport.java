package dev.lanes.consumer.testing;

import org.apache.kafka.common.utils.Utils;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/** Waiting, sleeping and cleaning up for the broker test kits ({@link KafkaBroker}, {@link KafkaCluster}). */
final class TestKitSupport {

    private static final Logger log = LoggerFactory.getLogger(TestKitSupport.class);

    private TestKitSupport() {
    }

    /** The future's value within {@code timeout}; a failure, timeout or interrupt as an IllegalStateException. */
    static <T> T await(Future<T> future, Duration timeout) {
        try {
            return future.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        } catch (ExecutionException | TimeoutException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Sleeps; an interrupt keeps the thread's interrupt status and ends the caller with an IllegalStateException. */
    static void sleep(Duration duration) {
        try {
            Thread.sleep(duration.toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** Deletes a directory tree, logging instead of failing. */
    static void deleteQuietly(Path dir) {
        if (dir == null) {
            return;
        }
        try {
            Utils.delete(dir.toFile());
        } catch (IOException e) {
            log.warn("Could not delete {}", dir, e);
        }
    }
}
