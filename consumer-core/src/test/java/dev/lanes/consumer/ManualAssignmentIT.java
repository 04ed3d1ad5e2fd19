package dev.lanes.consumer;

import dev.lanes.consumer.testing.KafkaBroker;
import dev.lanes.consumer.testing.KafkaBrokerExtension;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

class ManualAssignmentIT {

    @RegisterExtension
    static final KafkaBrokerExtension BROKER = new KafkaBrokerExtension();

    private Map<String, Object> config(String group) {
        Map<String, Object> config = new HashMap<>();
        config.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, BROKER.broker().bootstrapServers());
        config.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        config.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        config.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        if (group != null) {
            config.put(ConsumerConfig.GROUP_ID_CONFIG, group);
            config.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        }
        return config;
    }

    @Test
    void consumesEveryRecordOfAssignedPartitionsAndCommits() {
        KafkaBroker broker = BROKER.broker();
        broker.createTopic("smoke", 3);
        for (int p = 0; p < 3; p++) {
            broker.produce("smoke", p, 200, 100);
        }
        Set<TopicPartition> partitions = Set.of(new TopicPartition("smoke", 0), new TopicPartition("smoke", 1),
                new TopicPartition("smoke", 2));
        try (LanesConsumer<String, String> consumer = new LanesConsumer<>(config("smoke-group"))) {
            consumer.assign(partitions);
            List<ConsumerRecord<String, String>> received = new ArrayList<>();
            long deadline = System.currentTimeMillis() + 20_000;
            while (received.size() < 600 && System.currentTimeMillis() < deadline) {
                ConsumerRecords<String, String> records = consumer.poll(Duration.ofMillis(200));
                records.forEach(received::add);
            }
            assertThat(received).hasSize(600);
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
