package dev.lanes.consumer;

import dev.lanes.consumer.testing.KafkaBroker;
import dev.lanes.consumer.testing.KafkaBrokerExtension;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.time.Duration;
import java.util.Map;
import java.util.Set;

import static dev.lanes.consumer.testing.TestConsumers.manualCommitConfig;
import static dev.lanes.consumer.testing.TestConsumers.pollRecords;
import static dev.lanes.consumer.testing.TestConsumers.produceToEveryPartition;
import static org.assertj.core.api.Assertions.assertThat;

class ManualAssignmentIT {

    @RegisterExtension
    static final KafkaBrokerExtension BROKER = new KafkaBrokerExtension();

    @Test
    void consumesEveryRecordOfAssignedPartitionsAndCommits() {
        KafkaBroker broker = BROKER.broker();
        broker.createTopic("smoke", 3);
        produceToEveryPartition(broker, "smoke", 3, 200, 100);
        Set<TopicPartition> partitions = Set.of(new TopicPartition("smoke", 0), new TopicPartition("smoke", 1),
                new TopicPartition("smoke", 2));
        Map<String, Object> config = manualCommitConfig(broker.bootstrapServers(), "smoke-group", null);
        try (LanesConsumer<String, String> consumer = new LanesConsumer<>(config)) {
            consumer.assign(partitions);
            assertThat(pollRecords(consumer, 600, Duration.ofSeconds(20))).hasSize(600);
            assertThat(consumer.position(new TopicPartition("smoke", 1))).isEqualTo(200);
            assertThat(consumer.endOffsets(partitions)).containsValues(200L, 200L, 200L);
            assertThat(consumer.beginningOffsets(partitions)).containsValues(0L, 0L, 0L);
            consumer.commitSync();
            Map<TopicPartition, OffsetAndMetadata> committed = consumer.committed(partitions);
            assertThat(committed.get(new TopicPartition("smoke", 2)).offset()).isEqualTo(200);
            assertThat(consumer.partitionsFor("smoke")).hasSize(3);
            assertThat(consumer.listTopics()).containsKey("smoke");
        }
    }
}
