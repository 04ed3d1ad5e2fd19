package dev.lanes.spring;

import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.springframework.core.task.TaskExecutor;

import java.time.Duration;

/** A {@link LanesListenerContainer} whose settings {@link LanesListenerContainerCustomizer}s may change before it starts. */
public interface ConfigurableLanesListenerContainer extends LanesListenerContainer {

    void setAutoStartup(boolean autoStartup);

    void setConcurrency(int concurrency);

    int getConcurrency();

    void setCommitMode(CommitMode commitMode);

    CommitMode getCommitMode();

    void setPollTimeout(Duration pollTimeout);

    void setShutdownTimeout(Duration shutdownTimeout);

    void setErrorHandler(LanesErrorHandler errorHandler);

    LanesErrorHandler getErrorHandler();

    /** Replaces the rebalance listener (the container still commits processed offsets on revocation first). */
    void setRebalanceListener(ConsumerRebalanceListener rebalanceListener);

    ConsumerRebalanceListener getRebalanceListener();

    /**
     * Whether a consumer that failed (its background thread died) is closed and replaced by a fresh one after
     * the {@linkplain #setReplaceBackOff(Duration) back-off}; without it the failed consumer's slot stays dead.
     */
    void setReplaceFailedConsumers(boolean replaceFailedConsumers);

    boolean isReplaceFailedConsumers();

    /** How long to wait between a consumer's failure and the creation of its replacement. */
    void setReplaceBackOff(Duration replaceBackOff);

    Duration getReplaceBackOff();

    /**
     * The executor whose threads run the container's consumers, one long-running task per consumer (for example a
     * {@link org.springframework.core.task.SimpleAsyncTaskExecutor} with virtual threads); null starts a new platform
     * thread per consumer. The threads are named {@code lanes-listener-<id>-<n>} while they run a consumer.
     */
    void setTaskExecutor(TaskExecutor taskExecutor);

    TaskExecutor getTaskExecutor();

    /** Adds a consumer setting for this container's consumers only. */
    void setConsumerProperty(String key, Object value);
}
