package dev.lanes.spring;

import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;

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

    /** Adds a consumer setting for this container's consumers only. */
    void setConsumerProperty(String key, Object value);
}
