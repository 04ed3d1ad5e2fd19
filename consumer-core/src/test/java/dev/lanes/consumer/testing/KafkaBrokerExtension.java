package dev.lanes.consumer.testing;

import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * One {@link KafkaBroker} shared by the tests of a class: started before the first test, closed
 * after the last.
 *
 * <pre>{@code
 * @RegisterExtension
 * static final KafkaBrokerExtension BROKER = new KafkaBrokerExtension();
 * ...
 * BROKER.broker().createTopic("orders", 3);
 * }</pre>
 *
 * Register it on a static field; {@code @Nested} classes reuse the outer class's broker.
 */
public final class KafkaBrokerExtension implements BeforeAllCallback, AfterAllCallback {

    private final KafkaBroker.Builder builder;
    private KafkaBroker broker;
    private String owner;

    public KafkaBrokerExtension() {
        this(KafkaBroker.builder());
    }

    /** Starts the broker the builder describes, for example {@code KafkaBroker.builder().behindProxy()}. */
    public KafkaBrokerExtension(KafkaBroker.Builder builder) {
        this.builder = builder;
    }

    public KafkaBroker broker() {
        if (broker == null) {
            throw new IllegalStateException("No broker: register KafkaBrokerExtension on a static field with @RegisterExtension");
        }
        return broker;
    }

    @Override
    public void beforeAll(ExtensionContext context) {
        if (broker == null) {
            broker = builder.start();
            owner = context.getUniqueId();
        }
    }

    @Override
    public void afterAll(ExtensionContext context) {
        if (broker != null && context.getUniqueId().equals(owner)) {
            try {
                broker.close();
            } finally {
                broker = null;
            }
        }
    }
}
