package dev.lanes.spring.kafka;

import dev.lanes.consumer.testing.KafkaBroker;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.springframework.boot.WebApplicationType;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.context.ConfigurableApplicationContext;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.stream.Collectors;

/** Helpers of the integration tests: a spring-kafka application on Lanes, and plain Kafka clients around it. */
final class SpringKafkaApps {

    private SpringKafkaApps() {
    }

    /** Starts a Boot application with spring-kafka switched to Lanes, bootstrapped to the broker. */
    static ConfigurableApplicationContext start(KafkaBroker broker, Class<?> configuration, String... properties) {
        List<String> all = new ArrayList<>(List.of(
                "lanes.spring-kafka.enabled=true",
                "spring.kafka.bootstrap-servers=" + broker.bootstrapServers(),
                "spring.kafka.consumer.auto-offset-reset=earliest",
                "spring.kafka.consumer.key-deserializer=org.apache.kafka.common.serialization.StringDeserializer",
                "spring.kafka.consumer.value-deserializer=org.apache.kafka.common.serialization.StringDeserializer",
                "spring.kafka.listener.poll-timeout=500ms",
                "spring.kafka.admin.auto-create=false",
                "logging.level.org.apache.kafka=WARN"));
        all.addAll(List.of(properties));
        return new SpringApplicationBuilder(configuration)
                .web(WebApplicationType.NONE)
                .properties(all.toArray(String[]::new))
                .run();
    }

    /** Sends string records (key = "key-" + value) to partition 0 and waits for them. */
    static void produce(KafkaBroker broker, String topic, String... values) {
        produce(broker, topic, 0, values);
    }

    static void produce(KafkaBroker broker, String topic, int partition, String... values) {
        try (KafkaProducer<byte[], byte[]> producer = broker.producer()) {
            for (String value : values) {
                producer.send(new ProducerRecord<>(topic, partition, bytes("key-" + value), bytes(value))).get();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        } catch (ExecutionException e) {
            throw new IllegalStateException(e.getCause());
        }
    }

    /** Reads a topic from the beginning until {@code expected} records came (or 20 s passed). */
    static List<ConsumerRecord<byte[], byte[]>> readAll(KafkaBroker broker, String topic, int expected, boolean readCommitted) {
        Map<String, Object> config = Map.of(
                ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers(),
                ConsumerConfig.ISOLATION_LEVEL_CONFIG, readCommitted ? "read_committed" : "read_uncommitted",
                ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class,
                ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class);
        List<ConsumerRecord<byte[], byte[]>> records = new ArrayList<>();
        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(config)) {
            List<TopicPartition> partitions = consumer.partitionsFor(topic).stream()
                    .map(info -> new TopicPartition(topic, info.partition())).toList();
            consumer.assign(partitions);
            consumer.seekToBeginning(partitions);
            long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
            while (records.size() < expected && System.nanoTime() < deadline) {
                consumer.poll(Duration.ofMillis(200)).forEach(records::add);
            }
            // A little longer, so that a record too many shows.
            consumer.poll(Duration.ofMillis(300)).forEach(records::add);
        }
        return records;
    }

    /** The offsets the group committed, per partition number. */
    static Map<Integer, Long> committed(KafkaBroker broker, String group) {
        try {
            Map<TopicPartition, OffsetAndMetadata> offsets = broker.admin().listConsumerGroupOffsets(group)
                    .partitionsToOffsetAndMetadata().get();
            return offsets.entrySet().stream().filter(entry -> entry.getValue() != null)
                    .collect(Collectors.toMap(entry -> entry.getKey().partition(), entry -> entry.getValue().offset()));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        } catch (ExecutionException e) {
            throw new IllegalStateException(e.getCause());
        }
    }

    /** The member ids of a consumer group now. */
    static Set<String> members(KafkaBroker broker, String group) throws Exception {
        return broker.admin().describeConsumerGroups(List.of(group)).all().get().get(group).members().stream()
                .map(member -> member.consumerId()).collect(Collectors.toSet());
    }

    static byte[] bytes(String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }

    static String text(byte[] bytes) {
        return bytes == null ? null : new String(bytes, StandardCharsets.UTF_8);
    }

    static String header(ConsumerRecord<?, ?> record, String name) {
        Header header = record.headers().lastHeader(name);
        return header == null ? null : text(header.value());
    }
}
