package dev.lanes.consumer;

import dev.lanes.consumer.testing.KafkaBroker;
import dev.lanes.consumer.testing.KafkaBrokerExtension;
import dev.lanes.consumer.testing.TcpProxy;
import org.apache.kafka.clients.admin.AlterConfigOp;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

import static dev.lanes.consumer.testing.TestConsumers.manualCommitConfig;
import static dev.lanes.consumer.testing.TestConsumers.sleep;
import static dev.lanes.consumer.testing.TestConsumers.waitUntil;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * A member cut off from the cluster for longer than the session timeout is fenced, and its partitions go to
 * the other member. When the network comes back it must not process records the other member already
 * processed: records are held back once its heartbeats go unanswered (lanes.heartbeat.overdue.hold.ms), until
 * an answer confirms its membership, which for a fenced member never comes.
 */
class NetworkCutIT {

    @RegisterExtension
    static final KafkaBrokerExtension BROKER = new KafkaBrokerExtension(KafkaBroker.builder().behindProxies(2));

    private static final int SESSION_TIMEOUT_MS = 3_000;

    @Test
    void aMemberCutOffLongerThanTheSessionTimeoutProcessesNothingTheOtherMemberProcessed() throws Exception {
        String topic = "cut";
        String group = "cut-group";
        BROKER.broker().createTopic(topic, 2);
        BROKER.broker().admin().incrementalAlterConfigs(Map.of(new ConfigResource(ConfigResource.Type.GROUP, group),
                List.of(new AlterConfigOp(new ConfigEntry("consumer.session.timeout.ms", String.valueOf(SESSION_TIMEOUT_MS)),
                        AlterConfigOp.OpType.SET)))).all().get(10, TimeUnit.SECONDS);

        Map<String, AtomicInteger> processed = new ConcurrentHashMap<>(); // "partition:offset" -> times processed
        AtomicLong produced = new AtomicLong();
        AtomicBoolean producing = new AtomicBoolean(true);
        Thread producer = new Thread(() -> {
            try (KafkaProducer<byte[], byte[]> p = BROKER.broker().producer(Map.of("linger.ms", 5))) {
                int seq = 0;
                while (producing.get()) {
                    for (int i = 0; i < 20; i++, seq++) {
                        p.send(new ProducerRecord<>(topic, seq % 2, null, ("r" + seq).getBytes(StandardCharsets.US_ASCII)),
                                (md, e) -> {
                                    if (e == null) {
                                        produced.incrementAndGet();
                                    }
                                });
                    }
                    sleep(20);
                }
                p.flush();
            }
        }, "cut-producer");

        Member cutOff = new Member("cut-a", 0, group, topic, processed);
        Member other = new Member("cut-b", 1, group, topic, processed);
        TcpProxy proxy = BROKER.broker().proxy(0);
        producer.start();
        cutOff.start();
        other.start();
        try {
            waitUntil(Duration.ofSeconds(30), () -> cutOff.owned.size() == 1 && other.owned.size() == 1,
                    "each member owns one partition");
            sleep(2_000);

            proxy.cut(TcpProxy.Cut.STALL);
            int beforeCut = cutOff.processed.get();
            sleep(3 * SESSION_TIMEOUT_MS);
            waitUntil(Duration.ofSeconds(10), () -> other.owned.size() == 2, "the other member takes both partitions");
            proxy.restore();
            sleep(5_000);

            producing.set(false);
            producer.join(10_000);
            waitUntil(Duration.ofSeconds(30), () -> processed.size() >= produced.get(), "every record processed");
            long duplicates = processed.values().stream().mapToInt(AtomicInteger::get).filter(n -> n > 1).count();
            System.out.printf("network cut: produced %d, distinct processed %d, duplicates %d; cut-off member processed "
                            + "%d before the cut and %d in all, failed commits %d / %d%n", produced.get(), processed.size(),
                    duplicates, beforeCut, cutOff.processed.get(), cutOff.failedCommits.get(), other.failedCommits.get());
            assertThat(processed).as("nothing lost").hasSize((int) produced.get());
            assertThat(duplicates).as("no record processed by both members").isZero();
        } finally {
            proxy.restore();
            producing.set(false);
            cutOff.stop();
            other.stop();
        }
    }

    /** A group member on its own thread: poll, process (count), commitSync, until stopped. */
    private static final class Member implements ConsumerRebalanceListener {
        final Set<TopicPartition> owned = ConcurrentHashMap.newKeySet();
        final AtomicInteger processed = new AtomicInteger();
        final AtomicInteger failedCommits = new AtomicInteger();
        private final AtomicBoolean running = new AtomicBoolean(true);
        private final Thread thread;

        Member(String clientId, int proxy, String group, String topic, Map<String, AtomicInteger> ledger) {
            Map<String, Object> config = manualCommitConfig(BROKER.broker().proxiedBootstrapServers(proxy), group, clientId);
            config.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 50);
            // Below the group's session timeout minus a heartbeat interval (500 ms), so a fenced member never
            // returns a record; the default (5 s) suits brokers' default session timeouts (45 s and up).
            config.put(LanesConsumerConfig.HEARTBEAT_OVERDUE_HOLD_MS_CONFIG, 1_000);
            this.thread = new Thread(() -> {
                try (LanesConsumer<String, String> consumer = new LanesConsumer<>(config, new StringDeserializer(),
                        new StringDeserializer())) {
                    consumer.subscribe(List.of(topic), this);
                    while (running.get()) {
                        for (ConsumerRecord<String, String> record : consumer.poll(Duration.ofMillis(100))) {
                            ledger.computeIfAbsent(record.partition() + ":" + record.offset(), k -> new AtomicInteger())
                                    .incrementAndGet();
                            processed.incrementAndGet();
                        }
                        try {
                            consumer.commitSync(Duration.ofSeconds(5));
                        } catch (RuntimeException e) {
                            failedCommits.incrementAndGet();
                        }
                    }
                }
            }, clientId);
        }

        void start() {
            thread.start();
        }

        void stop() throws InterruptedException {
            running.set(false);
            thread.join(30_000);
        }

        @Override
        public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
            owned.removeAll(partitions);
        }

        @Override
        public void onPartitionsAssigned(Collection<TopicPartition> partitions) {
            owned.addAll(partitions);
        }

        @Override
        public void onPartitionsLost(Collection<TopicPartition> partitions) {
            owned.removeAll(partitions);
        }
    }
}
