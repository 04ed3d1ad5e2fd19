package dev.lanes.sample.broker;

/** The in-process broker the sample starts when it is given no cluster; see {@link EmbeddedKafkaEnvironmentPostProcessor}. */
public interface EmbeddedBroker extends AutoCloseable {

    /** Where clients connect, as host:port. */
    String bootstrapServers();

    /** Stops the broker and removes its data. */
    @Override
    void close();
}
