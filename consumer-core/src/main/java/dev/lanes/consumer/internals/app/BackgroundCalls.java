package dev.lanes.consumer.internals.app;

import dev.lanes.consumer.BackPressureException;
import dev.lanes.consumer.LanesConsumerConfig;
import dev.lanes.consumer.internals.common.Clock;
import dev.lanes.consumer.internals.events.ApplicationEvent;
import dev.lanes.consumer.internals.metrics.LanesConsumerMetrics;
import dev.lanes.consumer.internals.shared.BackgroundHandle;
import dev.lanes.consumer.internals.shared.Lane;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.errors.InterruptException;
import org.apache.kafka.common.errors.TimeoutException;
import org.apache.kafka.common.errors.WakeupException;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

/**
 * Hands the application's calls to the background thread on the user lane, with the lane's rejection
 * policy for blocking and non-blocking calls (R9), and waits for their answer with the application
 * thread's own timed wait, so that a call returns by its deadline even if the background thread is stuck
 * (R12), and a {@code wakeup()} ends the wait.
 *
 * <p>Application thread only.
 */
public final class BackgroundCalls {

    private final String clientId;
    private final Clock clock;
    private final Lane userLane;
    private final BackgroundHandle background;
    private final CallGate gate;
    private final LanesConsumerMetrics metrics;

    public BackgroundCalls(String clientId, Clock clock, Lane userLane, BackgroundHandle background, CallGate gate,
                           LanesConsumerMetrics metrics) {
        this.clientId = clientId;
        this.clock = clock;
        this.userLane = userLane;
        this.background = background;
        this.gate = gate;
        this.metrics = metrics;
    }

    /** Puts an event on the user lane, waiting for room until the event's deadline (blocking calls). */
    public void submitBlocking(ApplicationEvent<?> event) {
        try {
            if (!userLane.offer(event, event.deadlineMs())) {
                metrics.backPressureRejection();
                throw new TimeoutException("The user lane stayed full (capacity " + userLane.capacity()
                        + ") until the call's deadline");
            }
        } catch (InterruptedException e) {
            throw new InterruptException(e);
        }
        background.wakeup();
    }

    /** Puts an event on the user lane or refuses at once with BackPressureException (non-blocking calls, R9). */
    public void submitNonBlocking(ApplicationEvent<?> event) {
        if (!userLane.offer(event)) {
            metrics.backPressureRejection();
            throw new BackPressureException("The user lane of consumer " + clientId + " is full (capacity "
                    + userLane.capacity() + "); back off and retry, or raise " + LanesConsumerConfig.USER_LANE_CAPACITY_CONFIG);
        }
        background.wakeup();
    }

    /**
     * Waits for the event's answer until its deadline (R12); a wakeup ends the wait with WakeupException.
     * {@code operation} names the call in the exceptions.
     */
    public <T> T await(ApplicationEvent<T> event, String operation) {
        CompletableFuture<T> future = event.future();
        gate.awaiting(future);
        try {
            gate.throwIfWakeupPending();
            long remainingMs = event.deadlineMs() - clock.milliseconds();
            return future.get(Math.max(0, remainingMs), TimeUnit.MILLISECONDS);
        } catch (java.util.concurrent.TimeoutException e) {
            future.completeExceptionally(new TimeoutException(operation + " timed out"));
            throw new TimeoutException(operation + " did not complete before its deadline");
        } catch (InterruptedException e) {
            throw new InterruptException(e);
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            if (cause instanceof WakeupException) {
                gate.wakeupDelivered();
            }
            if (cause instanceof TimeoutException) {
                throw new TimeoutException(operation + " did not complete before its deadline: " + cause.getMessage(), cause);
            }
            if (cause instanceof RuntimeException) {
                throw (RuntimeException) cause;
            }
            throw new KafkaException(operation + " failed", cause);
        } finally {
            gate.doneAwaiting();
        }
    }

    /** Waits for {@code future} until the deadline; whatever it ends with, the caller goes on (close, leave). */
    public void awaitQuietly(CompletableFuture<?> future, long deadlineMs) {
        try {
            future.get(Math.max(0, deadlineMs - clock.milliseconds()), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (ExecutionException | java.util.concurrent.TimeoutException e) {
            // close goes on regardless; what was discarded has been logged by the background thread
        }
    }
}
