package dev.lanes.consumer.internals.app;

import dev.lanes.consumer.ConsumerClosedException;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.consumer.OffsetCommitCallback;
import org.apache.kafka.clients.consumer.RetriableCommitFailedException;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;

import java.util.ArrayDeque;
import java.util.Deque;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;

/**
 * The asynchronous commits whose callbacks have not run yet, oldest first.
 *
 * <p>The background thread completes a commit's future; its callback runs later, on the application
 * thread, when the consumer calls {@link #runCompletedCallbacks()} inside {@code poll}, {@code commitSync}
 * or {@code commitAsync} (R3, R16). Callbacks run in the order the commits were made. The background
 * thread sends commits one at a time in that order, so a synchronous commit completes only after the
 * asynchronous ones before it, and once it has, all of their callbacks can run. On close,
 * {@link #failAll} completes every commit still pending at once (R11).
 *
 * <p>Application thread only: the consumer's thread guard keeps other threads out.
 */
public final class PendingAsyncCommits {

    private record PendingCommit(Map<TopicPartition, OffsetAndMetadata> offsets, CompletableFuture<?> result,
                                 OffsetCommitCallback callback) {
    }

    private final Deque<PendingCommit> pending = new ArrayDeque<>();
    private final Consumer<Map<TopicPartition, OffsetAndMetadata>> onCommitted;

    /**
     * @param onCommitted runs on the application thread with a successful commit's offsets, before its
     *                    callback (the interceptors' {@code onCommit})
     */
    public PendingAsyncCommits(Consumer<Map<TopicPartition, OffsetAndMetadata>> onCommitted) {
        this.onCommitted = onCommitted;
    }

    /** Tracks a commit handed to the background thread; {@code callback} runs once {@code result} is complete. */
    public void add(Map<TopicPartition, OffsetAndMetadata> offsets, CompletableFuture<?> result,
                    OffsetCommitCallback callback) {
        pending.addLast(new PendingCommit(offsets, result, callback));
    }

    /**
     * Runs the callbacks of the oldest commits that are complete, stopping at the first that is not. A
     * callback that throws stops the run; the exception reaches the caller and the rest wait for the next run.
     */
    public void runCompletedCallbacks() {
        PendingCommit commit;
        while ((commit = pending.peekFirst()) != null && commit.result().isDone()) {
            pending.pollFirst();
            Throwable error = commit.result().handle((committed, failure) -> failure).join();
            Exception exception = error == null ? null : asCallbackException(error);
            // A merged request (R4) committed at least these offsets; each caller hears about its own,
            // as with KafkaConsumer.
            if (exception == null) {
                onCommitted.accept(commit.offsets());
            }
            commit.callback().onComplete(commit.offsets(), exception);
        }
    }

    /**
     * What a callback is told. A commit the close (or the end of the background thread) cut short was not made,
     * and nothing about it is wrong: as KafkaConsumer tells of a commit whose coordinator could not be reached, it
     * is a {@link RetriableCommitFailedException}, whose cause says why the consumer closed.
     */
    private static Exception asCallbackException(Throwable error) {
        if (error instanceof ConsumerClosedException) {
            return new RetriableCommitFailedException("Offset commit did not complete before the consumer closed; "
                    + "the offsets were not committed", error);
        }
        return error instanceof Exception ? (Exception) error : new KafkaException(error);
    }

    /**
     * Completes every commit that is still pending with {@code reason} (the background thread may still be
     * running when close's deadline passes); their callbacks run in the next {@link #runCompletedCallbacks()}.
     * Returns how many commits it failed.
     */
    public int failAll(RuntimeException reason) {
        int failed = 0;
        for (PendingCommit commit : pending) {
            if (commit.result().completeExceptionally(reason)) {
                failed++;
            }
        }
        return failed;
    }

    /** How many commits have not had their callback run yet. */
    public int size() {
        return pending.size();
    }
}
