package dev.lanes.spring.kafka;

import dev.lanes.consumer.LanesConsumer;
import dev.lanes.consumer.testing.KafkaBroker;
import dev.lanes.consumer.testing.KafkaBrokerExtension;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerGroupMetadata;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.springframework.boot.SpringBootConfiguration;
import org.springframework.boot.autoconfigure.EnableAutoConfiguration;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.context.annotation.Bean;
import org.springframework.kafka.annotation.KafkaListener;
import org.springframework.kafka.core.KafkaTemplate;
import org.springframework.kafka.transaction.KafkaTransactionManager;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;

import static dev.lanes.spring.kafka.SpringKafkaApps.committed;
import static dev.lanes.spring.kafka.SpringKafkaApps.produce;
import static dev.lanes.spring.kafka.SpringKafkaApps.readAll;
import static dev.lanes.spring.kafka.SpringKafkaApps.text;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Exactly-once read-process-write: the container runs each poll in a transaction of the transactional
 * KafkaTemplate and commits the consumed offsets in it with sendOffsetsToTransaction(groupMetadata()) of the
 * Lanes consumer. A failed listener rolls back its outputs and offsets; read_committed readers see every
 * output once.
 */
class SpringKafkaExactlyOnceIT {

    @RegisterExtension
    static final KafkaBrokerExtension BROKER = new KafkaBrokerExtension();

    @Test
    void readProcessWriteInOneTransactionPerPollProducesEveryOutputOnce() {
        KafkaBroker broker = BROKER.broker();
        broker.createTopic("eos-in", 1);
        broker.createTopic("eos-out", 1);
        List<String> inputs = List.of("a", "b", "c", "fail-once", "d", "e", "f", "g", "h", "i");
        produce(broker, "eos-in", inputs.toArray(String[]::new));

        try (ConfigurableApplicationContext context = SpringKafkaApps.start(broker, App.class,
                "spring.kafka.producer.transaction-id-prefix=lanes-eos-",
                "spring.kafka.consumer.isolation-level=read_committed",
                "spring.kafka.consumer.max-poll-records=3")) {
            assertThat(context.getBean(KafkaTransactionManager.class)).isNotNull();
            await().atMost(Duration.ofSeconds(30)).untilAsserted(() ->
                    assertThat(committed(broker, "eos")).containsEntry(0, 10L));
            Listener listener = context.getBean(Listener.class);
            assertThat(listener.consumer).isInstanceOf(LanesConsumer.class);
            assertThat(listener.failed).isTrue();
            // What the container handed to sendOffsetsToTransaction: the live member of the group.
            assertThat(listener.groupMetadata).allSatisfy(metadata -> {
                assertThat(metadata.groupId()).isEqualTo("eos");
                assertThat(metadata.memberId()).isNotEmpty();
                assertThat(metadata.generationId()).isPositive();
            });
        }

        List<String> committedOutputs = readAll(broker, "eos-out", 10, true).stream().map(record -> text(record.value())).toList();
        assertThat(committedOutputs).containsExactly("A", "B", "C", "FAIL-ONCE", "D", "E", "F", "G", "H", "I");
        // The rolled-back attempt is in the log, aborted: read_uncommitted sees it too.
        List<String> allOutputs = readAll(broker, "eos-out", 11, false).stream().map(record -> text(record.value())).toList();
        assertThat(allOutputs).hasSizeGreaterThan(10).filteredOn("FAIL-ONCE"::equals).hasSize(2);
    }

    @SpringBootConfiguration
    @EnableAutoConfiguration
    static class App {

        @Bean
        Listener listener(KafkaTemplate<String, String> template) {
            return new Listener(template);
        }
    }

    static class Listener {
        private final KafkaTemplate<String, String> template;
        final List<ConsumerGroupMetadata> groupMetadata = new CopyOnWriteArrayList<>();
        final AtomicBoolean failedOnce = new AtomicBoolean();
        volatile boolean failed;
        volatile Consumer<?, ?> consumer;

        Listener(KafkaTemplate<String, String> template) {
            this.template = template;
        }

        @KafkaListener(id = "eos", topics = "eos-in")
        void listen(ConsumerRecord<String, String> record, Consumer<?, ?> consumer) {
            this.consumer = consumer;
            groupMetadata.add(consumer.groupMetadata());
            // Waits for the broker's answer, so the rolled-back attempt is surely in the log (aborted).
            template.send("eos-out", record.key(), record.value().toUpperCase()).join();
            if (record.value().equals("fail-once") && failedOnce.compareAndSet(false, true)) {
                failed = true;
                throw new IllegalStateException("roll back the first attempt");
            }
        }
    }
}
