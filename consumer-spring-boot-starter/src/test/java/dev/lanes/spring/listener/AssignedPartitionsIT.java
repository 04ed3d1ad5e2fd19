package dev.lanes.spring.listener;

import dev.lanes.consumer.testing.KafkaBrokerExtension;
import dev.lanes.spring.LanesListener;
import dev.lanes.spring.PartitionOffset;
import dev.lanes.spring.TopicPartition;
import dev.lanes.spring.autoconfigure.LanesAutoConfiguration;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.springframework.boot.WebApplicationType;
import org.springframework.boot.autoconfigure.ImportAutoConfiguration;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** topicPartitions with initial offsets, shared out over the container's consumers, and a listener's own dead-letter settings. */
class AssignedPartitionsIT {

    @RegisterExtension
    static final KafkaBrokerExtension BROKER = new KafkaBrokerExtension();

    static final List<String> seen = new CopyOnWriteArrayList<>();
    static final List<String> threads = new CopyOnWriteArrayList<>();

    @Test
    void assignedPartitionsStartAtTheirInitialOffsetsAndCommitToTheGroup() throws Exception {
        BROKER.broker().createTopic("assigned", 3);
        try (var producer = BROKER.broker().producer()) {
            for (int partition = 0; partition < 3; partition++) {
                for (int i = 0; i < 10; i++) {
                    producer.send(new ProducerRecord<>("assigned", partition, null, bytes(partition + ":" + i))).get();
                }
            }
        }
        ConfigurableApplicationContext context = new SpringApplicationBuilder(App.class).web(WebApplicationType.NONE).properties(
                "lanes.consumer.bootstrap-servers=" + BROKER.broker().bootstrapServers(),
                "lanes.consumer.auto-offset-reset=earliest",
                "lanes.consumer.poll-timeout=200ms",
                "lanes.consumer.listeners.assigned.concurrency=2").run();
        try {
            // 0: from the start (no committed offset, earliest); 1: from offset 7; 2: the last two records.
            await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> assertThat(seen).hasSize(10 + 3 + 2));
            assertThat(seen).filteredOn(value -> value.startsWith("1:")).containsExactly("1:7", "1:8", "1:9");
            assertThat(seen).filteredOn(value -> value.startsWith("2:")).containsExactly("2:8", "2:9");
            assertThat(threads).containsOnly("lanes-listener-assigned-0", "lanes-listener-assigned-1");
            assertThat(threads).contains("lanes-listener-assigned-0", "lanes-listener-assigned-1");
        } finally {
            context.close();
        }
        Map<org.apache.kafka.common.TopicPartition, OffsetAndMetadata> committed = BROKER.broker().admin()
                .listConsumerGroupOffsets("assigned-group").partitionsToOffsetAndMetadata().get();
        assertThat(committed.get(new org.apache.kafka.common.TopicPartition("assigned", 0)).offset()).isEqualTo(10);
        assertThat(committed.get(new org.apache.kafka.common.TopicPartition("assigned", 1)).offset()).isEqualTo(10);
        assertThat(committed.get(new org.apache.kafka.common.TopicPartition("assigned", 2)).offset()).isEqualTo(10);
    }

    private static byte[] bytes(String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }

    static class Listener {
        @LanesListener(id = "assigned", groupId = "assigned-group", topicPartitions = @TopicPartition(topic = "assigned",
                partitions = "0", partitionOffsets = {
                        @PartitionOffset(partition = "1", initialOffset = "7"),
                        @PartitionOffset(partition = "2", initialOffset = "-2")}))
        void assigned(ConsumerRecord<String, String> record) {
            seen.add(record.value());
            threads.add(Thread.currentThread().getName());
        }
    }

    @Configuration(proxyBeanMethods = false)
    @ImportAutoConfiguration(LanesAutoConfiguration.class)
    static class App {
        @Bean
        Listener listener() {
            return new Listener();
        }
    }
}
