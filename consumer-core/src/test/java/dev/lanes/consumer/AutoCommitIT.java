package dev.lanes.consumer;

import dev.lanes.consumer.testing.ConsumerImplementation;
import dev.lanes.consumer.testing.KafkaBrokerExtension;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static dev.lanes.consumer.testing.TestConsumers.autoCommitConfig;
import static dev.lanes.consumer.testing.TestConsumers.pollRecords;
import static dev.lanes.consumer.testing.TestConsumers.sleep;
import static dev.lanes.consumer.testing.TestConsumers.waitUntil;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Auto-commit keeps at-least-once, side by side with KafkaConsumer: it commits only what the application had
 * consumed when it last entered poll() (or close()), never a batch it is still processing, however long
 * that takes and however often the auto-commit interval passes meanwhile.
 */
class AutoCommitIT {

    @RegisterExtension
    static final KafkaBrokerExtension BROKER = new KafkaBrokerExtension();

    private static final int BATCH = 10;

    @ParameterizedTest
    @EnumSource(ConsumerImplementation.class)
    void aBatchStillBeingProcessedIsNeverCommitted(ConsumerImplementation implementation) throws Exception {
        String topic = "auto-commit-" + implementation.id();
        String group = topic + "-group";
        TopicPartition partition = new TopicPartition(topic, 0);
        BROKER.broker().createTopic(topic, 1);
        BROKER.broker().produce(topic, 0, 100, 10);

        Map<String, Object> config = autoCommitConfig(BROKER.broker().bootstrapServers(), group, null);
        config.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, BATCH);
        try (Consumer<byte[], byte[]> consumer = implementation.create(config)) {
            consumer.subscribe(List.of(topic));
            List<ConsumerRecord<byte[], byte[]>> first = pollRecords(consumer, 1, Duration.ofSeconds(20));
            assertThat(first).hasSize(BATCH);

            sleep(3_500); // processing the batch for several auto-commit intervals, without polling
            assertThat(committed(group, partition)).as("%s: nothing of the batch in progress is committed", implementation)
                    .satisfiesAnyOf(offset -> assertThat(offset).isNull(), offset -> assertThat(offset).isZero());

            assertThat(consumer.poll(Duration.ofSeconds(5)).count()).as("the next batch").isEqualTo(BATCH);
            waitUntil(Duration.ofSeconds(5), () -> Long.valueOf(BATCH).equals(committed(group, partition)),
                    implementation + ": the first batch is committed once the application polls again");
            sleep(2_500);
            assertThat(committed(group, partition)).as("%s: the second batch is still in progress", implementation)
                    .isEqualTo(BATCH);
        }
        assertThat(committed(group, partition)).as("%s: close commits what was consumed", implementation)
                .isEqualTo(2 * BATCH);
    }

    private static Long committed(String group, TopicPartition partition) {
        try {
            OffsetAndMetadata offset = BROKER.broker().admin().listConsumerGroupOffsets(group)
                    .partitionsToOffsetAndMetadata().get(10, TimeUnit.SECONDS).get(partition);
            return offset == null ? null : offset.offset();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }
}
