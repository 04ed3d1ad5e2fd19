package dev.lanes.consumer.testing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.net.ConnectException;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.NetworkInterface;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class KafkaBrokerIT {

    @RegisterExtension
    static final KafkaBrokerExtension BROKER =
            new KafkaBrokerExtension(KafkaBroker.builder().serverProperty("auto.create.topics.enable", false));

    @Test
    void anAssignedConsumerReadsBackWhatWasProduced() {
        KafkaBroker broker = BROKER.broker();
        broker.createTopic("assigned", 2);
        broker.produce("assigned", 1, 10, 100);

        try (KafkaConsumer<byte[], byte[]> consumer = consumer(Map.of())) {
            TopicPartition partition = new TopicPartition("assigned", 1);
            consumer.assign(List.of(partition));
            consumer.seekToBeginning(List.of(partition));
            List<ConsumerRecord<byte[], byte[]>> records = poll(consumer, 10, Duration.ofSeconds(15));

            assertThat(records).extracting(r -> text(r.key())).containsExactly(
                    "k0", "k1", "k2", "k3", "k4", "k5", "k6", "k7", "k8", "k9");
            assertThat(records).allSatisfy(r -> assertThat(r.value()).hasSize(100));
            assertThat(records.get(3).value()).isEqualTo(KafkaBroker.value(3, 100));
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"classic", "consumer"})
    void aGroupMemberOfEitherProtocolConsumesEveryPartition(String protocol) {
        KafkaBroker broker = BROKER.broker();
        String topic = "group-" + protocol;
        broker.createTopic(topic, 3);
        for (int partition = 0; partition < 3; partition++) {
            broker.produce(topic, partition, 5, 10);
        }

        try (KafkaConsumer<byte[], byte[]> consumer = consumer(Map.of(
                ConsumerConfig.GROUP_ID_CONFIG, "group-" + protocol,
                ConsumerConfig.GROUP_PROTOCOL_CONFIG, protocol,
                ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest"))) {
            consumer.subscribe(List.of(topic));

            assertThat(poll(consumer, 15, Duration.ofSeconds(30))).hasSize(15);
        }
    }

    @Test
    void readCommittedSkipsAnAbortedTransaction() {
        KafkaBroker broker = BROKER.broker();
        broker.createTopic("transactions", 1);
        try (KafkaProducer<byte[], byte[]> producer =
                     broker.producer(Map.of(ProducerConfig.TRANSACTIONAL_ID_CONFIG, "readCommitted"))) {
            producer.initTransactions();
            producer.beginTransaction();
            producer.send(new ProducerRecord<>("transactions", 0, KafkaBroker.key(0), bytes("aborted")));
            producer.abortTransaction();
            producer.beginTransaction();
            producer.send(new ProducerRecord<>("transactions", 0, KafkaBroker.key(1), bytes("committed")));
            producer.commitTransaction();
        }

        try (KafkaConsumer<byte[], byte[]> consumer =
                     consumer(Map.of(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed"))) {
            TopicPartition partition = new TopicPartition("transactions", 0);
            consumer.assign(List.of(partition));
            consumer.seekToBeginning(List.of(partition));

            assertThat(poll(consumer, 1, Duration.ofSeconds(15))).extracting(r -> text(r.value()))
                    .containsExactly("committed");
        }
    }

    @Test
    void extraServerPropertiesReachTheBroker() throws Exception {
        ConfigResource node = new ConfigResource(ConfigResource.Type.BROKER, "1");

        var config = BROKER.broker().admin().describeConfigs(List.of(node)).all().get().get(node);

        assertThat(config.get("auto.create.topics.enable").value()).isEqualTo("false");
        assertThat(config.get("group.consumer.heartbeat.interval.ms").value()).isEqualTo("500");
    }

    @Test
    void listensOnLoopbackOnly() throws Exception {
        Optional<InetAddress> nonLoopback = NetworkInterface.networkInterfaces()
                .flatMap(NetworkInterface::inetAddresses)
                .filter(address -> address instanceof Inet4Address && !address.isLoopbackAddress())
                .findFirst();
        assumeTrue(nonLoopback.isPresent(), "no non-loopback IPv4 address to try");
        int port = Integer.parseInt(BROKER.broker().bootstrapServers().split(":")[1]);

        assertThatThrownBy(() -> {
            try (Socket socket = new Socket()) {
                socket.connect(new InetSocketAddress(nonLoopback.get(), port), 2_000);
            }
        }).isInstanceOf(ConnectException.class);
    }

    @Test
    void restartKeepsRecordsCommittedOffsetsAndPortsAndClientsReconnect() throws Exception {
        KafkaBroker broker = BROKER.broker();
        broker.createTopic("restarted", 1);
        broker.produce("restarted", 0, 10, 20);
        TopicPartition partition = new TopicPartition("restarted", 0);
        String bootstrap = broker.bootstrapServers();
        try (KafkaConsumer<byte[], byte[]> consumer = consumer(Map.of(
                ConsumerConfig.GROUP_ID_CONFIG, "restarted-group",
                ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest",
                ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false))) {
            consumer.assign(List.of(partition));
            assertThat(poll(consumer, 10, Duration.ofSeconds(15))).hasSize(10);
            consumer.commitSync(Map.of(partition, new org.apache.kafka.clients.consumer.OffsetAndMetadata(7)));

            Duration restart = broker.restart();
            System.out.printf("KafkaBrokerIT: broker restarted in %d ms%n", restart.toMillis());

            assertThat(broker.bootstrapServers()).isEqualTo(bootstrap);
            // The same consumer reconnects to the same address; offsets and records survived.
            assertThat(consumer.committed(java.util.Set.of(partition), Duration.ofSeconds(30)).get(partition).offset()).isEqualTo(7);
            broker.produce("restarted", 0, 5, 20);
            consumer.seek(partition, 0);
            List<ConsumerRecord<byte[], byte[]>> records = poll(consumer, 15, Duration.ofSeconds(30));
            assertThat(records).extracting(r -> r.offset()).containsExactlyElementsOf(
                    java.util.stream.LongStream.range(0, 15).boxed().toList());
        }
    }

    @Test
    void restartKeepsTheProxiedSaslAndSslListenersOnTheirPorts() throws Exception {
        try (KafkaBroker broker = KafkaBroker.builder().behindProxy().withSaslPlain().withSsl().start()) {
            List<String> before = List.of(broker.bootstrapServers(), broker.proxiedBootstrapServers(),
                    broker.saslBootstrapServers(), broker.sslBootstrapServers());
            broker.restart();
            assertThat(List.of(broker.bootstrapServers(), broker.proxiedBootstrapServers(),
                    broker.saslBootstrapServers(), broker.sslBootstrapServers())).isEqualTo(before);
            for (Map<String, Object> config : List.of(
                    Map.<String, Object>of("bootstrap.servers", broker.proxiedBootstrapServers()),
                    broker.saslClientConfig("alice", "alice-secret"),
                    broker.sslClientConfig())) {
                try (org.apache.kafka.clients.admin.Admin admin = org.apache.kafka.clients.admin.Admin.create(config)) {
                    assertThat(admin.describeCluster().nodes().get(30, java.util.concurrent.TimeUnit.SECONDS)).hasSize(1);
                }
            }
        }
    }

    private static KafkaConsumer<byte[], byte[]> consumer(Map<String, Object> overrides) {
        Map<String, Object> config = new HashMap<>();
        config.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, BROKER.broker().bootstrapServers());
        config.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class);
        config.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class);
        config.putAll(overrides);
        return new KafkaConsumer<>(config);
    }

    static List<ConsumerRecord<byte[], byte[]>> poll(KafkaConsumer<byte[], byte[]> consumer, int count, Duration timeout) {
        List<ConsumerRecord<byte[], byte[]>> records = new ArrayList<>();
        long deadline = System.nanoTime() + timeout.toNanos();
        while (records.size() < count && System.nanoTime() < deadline) {
            consumer.poll(Duration.ofMillis(100)).forEach(records::add);
        }
        return records;
    }

    static String text(byte[] bytes) {
        return new String(bytes, StandardCharsets.US_ASCII);
    }

    private static byte[] bytes(String text) {
        return text.getBytes(StandardCharsets.US_ASCII);
    }
}
