package dev.lanes.consumer.testing;

import static dev.lanes.consumer.testing.KafkaBrokerIT.poll;
import static dev.lanes.consumer.testing.KafkaBrokerIT.text;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.InputStream;
import java.net.Socket;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import dev.lanes.consumer.testing.TcpProxy.Cut;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class TcpProxyIT {

    @RegisterExtension
    static final KafkaBrokerExtension BROKER = new KafkaBrokerExtension(KafkaBroker.builder().behindProxies(2));

    @AfterEach
    void restoreProxy() {
        BROKER.broker().proxy(0).restore();
        BROKER.broker().proxy(1).restore();
    }

    @Test
    void aConsumerBootstrappedToTheProxyLearnsTheProxyAsTheBrokerAddress() {
        KafkaBroker broker = BROKER.broker();
        broker.createTopic("advertised", 1);
        broker.produce("advertised", 0, 5, 10);

        try (KafkaConsumer<byte[], byte[]> consumer = proxiedConsumer(Map.of())) {
            List<PartitionInfo> partitions = consumer.partitionsFor("advertised");
            assertThat(partitions).singleElement().satisfies(p -> {
                assertThat(p.leader().host()).isEqualTo("127.0.0.1");
                assertThat(p.leader().port()).isEqualTo(broker.proxy().port());
            });

            TopicPartition partition = new TopicPartition("advertised", 0);
            consumer.assign(List.of(partition));
            consumer.seekToBeginning(List.of(partition));
            assertThat(poll(consumer, 5, Duration.ofSeconds(15))).extracting(r -> text(r.key()))
                    .containsExactly("k0", "k1", "k2", "k3", "k4");
            assertThat(broker.proxy().connectionsAccepted()).isPositive();
            assertThat(broker.proxy().openConnections()).isPositive();
        }
    }

    @ParameterizedTest
    @EnumSource(Cut.class)
    void aCutStarvesAnAssignedConsumerAndRestoreResumesIt(Cut how) {
        KafkaBroker broker = BROKER.broker();
        String topic = "cut-" + how;
        broker.createTopic(topic, 1);
        broker.produce(topic, 0, 10, 10);

        try (KafkaConsumer<byte[], byte[]> consumer = proxiedConsumer(Map.of())) {
            TopicPartition partition = new TopicPartition(topic, 0);
            consumer.assign(List.of(partition));
            consumer.seekToBeginning(List.of(partition));
            assertThat(poll(consumer, 10, Duration.ofSeconds(15))).hasSize(10);

            broker.proxy().cut(how);
            if (how != Cut.STALL) {
                assertThat(broker.proxy().openConnections()).isZero();
            }
            broker.produce(topic, 0, 10, 10); // direct, past the proxy
            assertThat(poll(consumer, 1, Duration.ofSeconds(2))).isEmpty();

            broker.proxy().restore();
            assertThat(poll(consumer, 10, Duration.ofSeconds(15))).hasSize(10);
        }
    }

    @Test
    void aGroupMemberFindsItsCoordinatorThroughTheProxyAndSurvivesAShortCut() {
        KafkaBroker broker = BROKER.broker();
        broker.createTopic("proxied-group", 2);
        broker.produce("proxied-group", 0, 5, 10);
        broker.produce("proxied-group", 1, 5, 10);

        try (KafkaConsumer<byte[], byte[]> consumer = proxiedConsumer(Map.of(
                ConsumerConfig.GROUP_ID_CONFIG, "proxied-group",
                ConsumerConfig.GROUP_PROTOCOL_CONFIG, "consumer",
                ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest"))) {
            consumer.subscribe(List.of("proxied-group"));
            assertThat(poll(consumer, 10, Duration.ofSeconds(30))).hasSize(10);

            broker.proxy().cut();
            broker.produce("proxied-group", 0, 5, 10);
            assertThat(poll(consumer, 1, Duration.ofSeconds(1))).isEmpty();

            broker.proxy().restore();
            assertThat(poll(consumer, 5, Duration.ofSeconds(15))).hasSize(5);
        }
    }

    @Test
    void eachProxyHasItsOwnListenerSoCuttingOneLeavesTheOthersClientsAlone() {
        KafkaBroker broker = BROKER.broker();
        String topic = "two-proxies";
        broker.createTopic(topic, 1);
        broker.produce(topic, 0, 5, 10);
        TopicPartition partition = new TopicPartition(topic, 0);

        try (KafkaConsumer<byte[], byte[]> first = proxiedConsumer(Map.of());
             KafkaConsumer<byte[], byte[]> second = proxiedConsumer(Map.of(
                     ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, broker.proxiedBootstrapServers(1)))) {
            assertThat(second.partitionsFor(topic)).singleElement()
                    .satisfies(p -> assertThat(p.leader().port()).isEqualTo(broker.proxy(1).port()));
            for (KafkaConsumer<byte[], byte[]> consumer : List.of(first, second)) {
                consumer.assign(List.of(partition));
                consumer.seekToBeginning(List.of(partition));
                assertThat(poll(consumer, 5, Duration.ofSeconds(15))).hasSize(5);
            }

            broker.proxy(0).cut(Cut.STALL);
            broker.produce(topic, 0, 5, 10);
            assertThat(poll(second, 5, Duration.ofSeconds(15))).hasSize(5);
            assertThat(poll(first, 1, Duration.ofSeconds(1))).isEmpty();

            broker.proxy(0).restore();
            assertThat(poll(first, 5, Duration.ofSeconds(15))).hasSize(5);
        }
    }

    @Test
    void closeEndsEveryConnectionAndThread() throws Exception {
        KafkaBroker broker = BROKER.broker();
        String[] target = broker.bootstrapServers().split(":");
        TcpProxy proxy = TcpProxy.start(target[0], Integer.parseInt(target[1]));
        String threadPrefix = "tcp-proxy-" + proxy.port() + "-";

        try (Socket socket = new Socket("127.0.0.1", proxy.port())) {
            awaitOpenConnections(proxy, 1);
            assertThat(proxyThreads(threadPrefix)).isNotEmpty();

            proxy.close();

            socket.setSoTimeout(5_000);
            InputStream in = socket.getInputStream();
            assertThat(in.read()).isEqualTo(-1);
        }
        assertThat(proxy.connectionsAccepted()).isEqualTo(1);
        assertThat(proxy.openConnections()).isZero();
        assertThat(proxyThreads(threadPrefix)).isEmpty();
    }

    private static void awaitOpenConnections(TcpProxy proxy, int count) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
        while (proxy.openConnections() < count && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        assertThat(proxy.openConnections()).isEqualTo(count);
    }

    private static List<String> proxyThreads(String prefix) {
        return Thread.getAllStackTraces().keySet().stream()
                .filter(Thread::isAlive)
                .map(Thread::getName)
                .filter(name -> name.startsWith(prefix))
                .toList();
    }

    private static KafkaConsumer<byte[], byte[]> proxiedConsumer(Map<String, Object> overrides) {
        Map<String, Object> config = new HashMap<>();
        config.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, BROKER.broker().proxiedBootstrapServers());
        config.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class);
        config.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class);
        config.putAll(overrides);
        return new KafkaConsumer<>(config);
    }
}
