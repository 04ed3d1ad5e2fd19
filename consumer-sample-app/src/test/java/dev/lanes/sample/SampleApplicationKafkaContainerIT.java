package dev.lanes.sample;

import dev.lanes.sample.listener.SampleListener;
import org.junit.jupiter.api.Test;
import org.testcontainers.junit.jupiter.Container;
import org.testcontainers.junit.jupiter.Testcontainers;
import org.testcontainers.kafka.KafkaContainer;

import java.time.Duration;

import static org.awaitility.Awaitility.await;

/**
 * The sample against the same {@code apache/kafka} image that docker-compose runs. Needs Docker; skipped
 * without it.
 */
@Testcontainers(disabledWithoutDocker = true)
class SampleApplicationKafkaContainerIT {

    @Container
    static final KafkaContainer KAFKA = new KafkaContainer("apache/kafka:4.1.2");

    @Test
    void theSampleConsumesFromTheComposeBrokerImage() {
        try (SampleAppUnderTest app = SampleAppUnderTest.start(
                "--lanes.consumer.bootstrap-servers=" + KAFKA.getBootstrapServers())) {
            SampleListener listener = app.context().getBean(SampleListener.class);
            await().atMost(Duration.ofSeconds(60)).until(() -> listener.processed() > 500);
        }
    }
}
