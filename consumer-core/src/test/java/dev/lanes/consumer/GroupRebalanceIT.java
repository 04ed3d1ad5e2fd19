package dev.lanes.consumer;

import dev.lanes.consumer.testing.KafkaBrokerExtension;
import org.apache.kafka.clients.admin.AlterConfigOp;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.consumer.CloseOptions;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

import static dev.lanes.consumer.testing.TestConsumers.autoCommitConfig;
import static dev.lanes.consumer.testing.TestConsumers.pollRecords;
import static dev.lanes.consumer.testing.TestConsumers.produceToEveryPartition;
import static dev.lanes.consumer.testing.TestConsumers.sleep;
import static dev.lanes.consumer.testing.TestConsumers.waitUntil;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Issue 3 against a real broker: members joining, leaving (close, unsubscribe) while records flow;
 * revoked partitions' offsets committed before they are given up; close() leaves the group at once.
 * Timings are reported on stdout; the only timed assertions are loose bounds.
 */
class GroupRebalanceIT {

    @RegisterExtension
    static final KafkaBrokerExtension BROKER = new KafkaBrokerExtension();

    // ------------------------------------------------------------------ churn

    @Test
    void membersJoiningAndLeavingWhileRecordsFlowProcessEveryRecordWithoutSharedOwnership() throws Exception {
        String topic = "churn";
        String group = "churn-group";
        int partitions = 6;
        BROKER.broker().createTopic(topic, partitions);

        Ownership ownership = new Ownership();
        Map<String, AtomicInteger> processed = new ConcurrentHashMap<>();
        Map<TopicPartition, Long> produced = new ConcurrentHashMap<>(); // partition -> last offset + 1
        AtomicBoolean producing = new AtomicBoolean(true);
        AtomicLong producedCount = new AtomicLong();

        Thread producer = new Thread(() -> {
            try (KafkaProducer<byte[], byte[]> p = BROKER.broker().producer(Map.of("linger.ms", 5))) {
                int seq = 0;
                while (producing.get()) {
                    for (int i = 0; i < 30; i++, seq++) {
                        int partition = seq % partitions;
                        byte[] value = ("r" + seq).getBytes(StandardCharsets.US_ASCII);
                        p.send(new ProducerRecord<>(topic, partition, null, value), (md, e) -> {
                            if (e == null) {
                                produced.merge(new TopicPartition(md.topic(), md.partition()), md.offset() + 1, Math::max);
                                producedCount.incrementAndGet();
                            }
                        });
                    }
                    p.flush();
                    sleep(50);
                }
                p.flush();
            }
        }, "churn-producer");
        producer.start();

        List<Member> members = new ArrayList<>();
        try {
            for (int i = 1; i <= 3; i++) {
                members.add(Member.start("m" + i, group, topic, ownership, processed, Map.of()));
            }
            waitUntil(Duration.ofSeconds(20), () -> ownership.owned() == partitions, "three members own all partitions");
            sleep(2000);
            Member fourth = Member.start("m4", group, topic, ownership, processed, Map.of());
            members.add(fourth);
            waitUntil(Duration.ofSeconds(20), () -> fourth.assignmentSize.get() > 0, "the fourth member gets partitions");
            sleep(2000);
            members.get(0).requestClose();
            waitUntil(Duration.ofSeconds(20), () -> members.get(0).done.get(), "m1 closed");
            sleep(2000);
            members.get(1).requestUnsubscribe();
            waitUntil(Duration.ofSeconds(20), () -> members.get(1).done.get(), "m2 unsubscribed");
            sleep(2000);
            producing.set(false);
            producer.join(10_000);

            Map<TopicPartition, Long> ends = new HashMap<>(produced);
            long total = ends.values().stream().mapToLong(Long::longValue).sum();
            waitUntil(Duration.ofSeconds(30), () -> processed.size() >= total, "every produced record processed");

            // Auto-commit (interval 1 s) of the remaining members reaches the end of every partition.
            Map<TopicPartition, Long> committed = new HashMap<>();
            waitUntil(Duration.ofSeconds(20), () -> {
                committed.clear();
                committed.putAll(committedOffsets(group));
                return ends.entrySet().stream().allMatch(e -> committed.getOrDefault(e.getKey(), -1L) >= e.getValue());
            }, "committed offsets reach the end of every partition");

            long duplicates = processed.values().stream().mapToLong(c -> c.get() - 1).sum();
            System.out.printf("churn: produced=%d processed(unique)=%d duplicates=%d ends=%s committed=%s%n",
                    total, processed.size(), duplicates, new java.util.TreeMap<>(ends.entrySet().stream()
                            .collect(Collectors.toMap(e -> e.getKey().toString(), Map.Entry::getValue))), committed);
            assertThat(total).isEqualTo(producedCount.get());
            assertThat(total).isGreaterThan(1000);
            for (Map.Entry<TopicPartition, Long> end : ends.entrySet()) {
                for (long offset = 0; offset < end.getValue(); offset++) {
                    assertThat(processed).as("record %s@%d processed", end.getKey(), offset)
                            .containsKey(end.getKey() + "@" + offset);
                }
            }
            assertThat(ownership.violations).as("ownership violations").isEmpty();
            for (Member m : members) {
                assertThat(m.errors).as("errors of %s", m.name).isEmpty();
            }
        } finally {
            producing.set(false);
            members.forEach(Member::requestClose);
            for (Member m : members) {
                m.thread.join(30_000);
            }
            members.forEach(m -> System.out.printf("churn: %s events=%s%n", m.name, m.events));
        }
        assertThat(ownership.violations).as("ownership violations").isEmpty();
    }

    // ------------------------------------------------------------------ revocation commit

    @Test
    void offsetsOfRevokedPartitionsAreCommittedBeforeTheyAreGivenUp() throws Exception {
        String topic = "revocation-commit";
        String group = "revocation-commit-group";
        BROKER.broker().createTopic(topic, 2);
        produceToEveryPartition(BROKER.broker(), topic, 2, 100, 20);

        Map<TopicPartition, Long> positionsAtRevocation = new ConcurrentHashMap<>();
        Map<TopicPartition, Long> committedAtRevocation = new ConcurrentHashMap<>();
        Map<String, Object> config = config(group, "revoke-a");
        config.put(ConsumerConfig.AUTO_COMMIT_INTERVAL_MS_CONFIG, 60_000);
        Ownership ownership = new Ownership();
        Map<String, AtomicInteger> processedByB = new ConcurrentHashMap<>();
        Member b = null;
        try (LanesConsumer<String, String> a = new LanesConsumer<>(config, new StringDeserializer(), new StringDeserializer())) {
            a.subscribe(List.of(topic), new ConsumerRebalanceListener() {
                @Override
                public void onPartitionsRevoked(Collection<TopicPartition> revoked) {
                    for (TopicPartition tp : revoked) {
                        positionsAtRevocation.put(tp, a.position(tp));
                    }
                    a.committed(new HashSet<>(revoked), Duration.ofSeconds(5)).forEach((tp, om) ->
                            committedAtRevocation.put(tp, om == null ? -1L : om.offset()));
                }

                @Override
                public void onPartitionsAssigned(Collection<TopicPartition> assigned) {
                }
            });
            assertThat(pollRecords(a, 200, Duration.ofSeconds(20))).hasSize(200);
            assertThat(committedOffsets(group)).as("nothing committed before the rebalance (interval 60 s)").isEmpty();

            b = Member.start("revoke-b", group, topic, ownership, processedByB, Map.of());
            Member bRef = b;
            long deadline = System.currentTimeMillis() + 20_000;
            while (!(a.assignment().size() == 1 && bRef.assignmentSize.get() == 1) && System.currentTimeMillis() < deadline) {
                assertThat(a.poll(Duration.ofMillis(100)).count()).isZero();
            }
            assertThat(a.assignment()).hasSize(1);
            assertThat(b.assignmentSize.get()).isEqualTo(1);
            TopicPartition moved = positionsAtRevocation.keySet().iterator().next();
            Map<TopicPartition, Long> committed = committedOffsets(group);
            System.out.printf("revocation commit: moved=%s position at revocation=%s committed seen in callback=%s committed now=%s%n",
                    moved, positionsAtRevocation, committedAtRevocation, committed);
            assertThat(positionsAtRevocation).containsOnlyKeys(moved).containsEntry(moved, 100L);
            assertThat(committedAtRevocation).as("committed before onPartitionsRevoked ran").containsEntry(moved, 100L);
            assertThat(committed).containsEntry(moved, 100L);

            // B starts where A stopped: new records only, no duplicates.
            BROKER.broker().produce(topic, moved.partition(), 10, 20);
            waitUntil(Duration.ofSeconds(15), () -> processedByB.size() >= 10, "B consumes the new records");
            sleep(300);
            System.out.printf("revocation commit: B processed %s%n", new java.util.TreeSet<>(processedByB.keySet()));
            assertThat(processedByB.keySet()).containsExactlyInAnyOrderElementsOf(
                    IntStream.range(100, 110).mapToObj(o -> moved + "@" + o).collect(Collectors.toList()));
            assertThat(ownership.violations).isEmpty();
            b.requestClose();
            b.thread.join(20_000);
        } finally {
            if (b != null) {
                b.requestClose();
                b.thread.join(20_000);
            }
        }
    }

    // ------------------------------------------------------------------ commit in onPartitionsRevoked during close

    @Test
    void aCommitSyncInOnPartitionsRevokedDuringCloseCommits() {
        String topic = "close-revocation-commit";
        String group = "close-revocation-commit-group";
        BROKER.broker().createTopic(topic, 2);
        BROKER.broker().produce(topic, 0, 50, 20);
        BROKER.broker().produce(topic, 1, 50, 20);
        Map<String, Object> config = config(group, "close-revocation-commit");
        config.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        List<Throwable> callbackErrors = new CopyOnWriteArrayList<>();
        AtomicInteger revocations = new AtomicInteger();
        LanesConsumer<String, String> consumer = new LanesConsumer<>(config, new StringDeserializer(), new StringDeserializer());
        try {
            consumer.subscribe(List.of(topic), new ConsumerRebalanceListener() {
                @Override
                public void onPartitionsRevoked(Collection<TopicPartition> revoked) {
                    revocations.incrementAndGet();
                    try {
                        consumer.commitSync(Duration.ofSeconds(5)); // the usual place to commit manually
                    } catch (RuntimeException e) {
                        callbackErrors.add(e);
                    }
                }

                @Override
                public void onPartitionsAssigned(Collection<TopicPartition> assigned) {
                }
            });
            int consumed = 0;
            long deadline = System.currentTimeMillis() + 20_000;
            while (consumed < 100 && System.currentTimeMillis() < deadline) {
                consumed += consumer.poll(Duration.ofMillis(200)).count();
            }
            assertThat(consumed).isEqualTo(100);
            assertThat(committedOffsets(group)).as("nothing committed before close").isEmpty();
        } finally {
            consumer.close(CloseOptions.timeout(Duration.ofSeconds(10)));
        }
        assertThat(revocations.get()).as("onPartitionsRevoked ran in close").isEqualTo(1);
        assertThat(callbackErrors).as("exceptions from commitSync in onPartitionsRevoked during close").isEmpty();
        assertThat(committedOffsets(group)).containsOnly(
                Map.entry(new TopicPartition(topic, 0), 50L), Map.entry(new TopicPartition(topic, 1), 50L));
    }

    // ------------------------------------------------------------------ close leaves

    @Test
    void closeLeavesTheGroupSoTheOtherMemberGetsEverythingWellBeforeTheSessionTimeout() throws Exception {
        String topic = "close-leaves";
        String group = "close-leaves-group";
        int partitions = 4;
        createTopicForGroupWithSessionTimeout(topic, partitions, group, 20_000);

        Ownership ownership = new Ownership();
        Map<String, AtomicInteger> processed = new ConcurrentHashMap<>();
        Member first = Member.start("close-1", group, topic, ownership, processed, Map.of());
        Member second = Member.start("close-2", group, topic, ownership, processed, Map.of());
        try {
            waitUntil(Duration.ofSeconds(20), () -> first.assignmentSize.get() == 2 && second.assignmentSize.get() == 2,
                    "two members share the partitions");
            long start = System.nanoTime();
            first.requestClose();
            waitUntil(Duration.ofSeconds(25), () -> second.assignmentSize.get() == partitions, "the remaining member owns everything");
            long tookMs = (System.nanoTime() - start) / 1_000_000;
            waitUntil(Duration.ofSeconds(15), first.done::get, "the first member's close() returned");
            System.out.printf("close leaves: remaining member owned all %d partitions %d ms after close() was asked "
                    + "(first closed in %d ms; session timeout 20000)%n", partitions, tookMs, first.closeTookMs.get());
            assertThat(tookMs).as("well under the 20 s session timeout").isLessThan(10_000);
            assertThat(ownership.violations).isEmpty();
        } finally {
            first.requestClose();
            second.requestClose();
            first.thread.join(20_000);
            second.thread.join(20_000);
        }
    }

    @Test
    void aMemberWhoseBackgroundThreadDiesLeavesSoTheOtherGetsEverythingWellBeforeTheSessionTimeout() throws Exception {
        String topic = "thread-dies-leaves";
        String group = "thread-dies-leaves-group";
        int partitions = 4;
        createTopicForGroupWithSessionTimeout(topic, partitions, group, 20_000);

        Ownership ownership = new Ownership();
        Map<String, AtomicInteger> processed = new ConcurrentHashMap<>();
        Member dying = Member.start("dies-1", group, topic, ownership, processed, Map.of());
        Member surviving = Member.start("dies-2", group, topic, ownership, processed, Map.of());
        try {
            waitUntil(Duration.ofSeconds(20), () -> dying.assignmentSize.get() == 2 && surviving.assignmentSize.get() == 2,
                    "two members share the partitions");
            Thread background = Thread.getAllStackTraces().keySet().stream()
                    .filter(thread -> thread.getName().equals("lanes-consumer-network-thread | dies-1"))
                    .findFirst().orElseThrow();
            long start = System.nanoTime();
            background.interrupt();
            waitUntil(Duration.ofSeconds(25), () -> surviving.assignmentSize.get() == partitions,
                    "the surviving member owns everything");
            long tookMs = (System.nanoTime() - start) / 1_000_000;
            System.out.printf("thread dies: the surviving member owned all %d partitions %d ms after the other's "
                    + "background thread was interrupted (session timeout 20000)%n", partitions, tookMs);
            assertThat(tookMs).as("well under the 20 s session timeout").isLessThan(10_000);
            waitUntil(Duration.ofSeconds(15), dying.done::get, "the dying member's poll failed and it closed");
            assertThat(dying.errors).first().isInstanceOf(ConsumerClosedException.class);
        } finally {
            dying.requestClose();
            surviving.requestClose();
            dying.thread.join(20_000);
            surviving.thread.join(20_000);
        }
    }

    // ------------------------------------------------------------------ helpers

    /** A topic, and a session timeout for the group that consumes it (longer than a test's bound on a takeover). */
    static void createTopicForGroupWithSessionTimeout(String topic, int partitions, String group, int sessionTimeoutMs)
            throws Exception {
        BROKER.broker().createTopic(topic, partitions);
        ConfigResource resource = new ConfigResource(ConfigResource.Type.GROUP, group);
        BROKER.broker().admin().incrementalAlterConfigs(Map.of(resource, List.of(new AlterConfigOp(
                new ConfigEntry("consumer.session.timeout.ms", String.valueOf(sessionTimeoutMs)), AlterConfigOp.OpType.SET))))
                .all().get(10, TimeUnit.SECONDS);
    }

    static Map<String, Object> config(String group, String clientId) {
        return autoCommitConfig(BROKER.broker().bootstrapServers(), group, clientId);
    }

    static Map<TopicPartition, Long> committedOffsets(String group) {
        Map<TopicPartition, OffsetAndMetadata> offsets;
        try {
            offsets = BROKER.broker().admin().listConsumerGroupOffsets(group)
                    .partitionsToOffsetAndMetadata().get(10, TimeUnit.SECONDS);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
        Map<TopicPartition, Long> result = new HashMap<>();
        offsets.forEach((tp, om) -> {
            if (om != null) {
                result.put(tp, om.offset());
            }
        });
        return result;
    }

    /** Who owns which partition, by the rebalance callbacks; records a violation instead of throwing. */
    static final class Ownership {
        final Map<TopicPartition, String> owners = new ConcurrentHashMap<>();
        final List<String> violations = new CopyOnWriteArrayList<>();

        void assigned(String member, Collection<TopicPartition> partitions) {
            for (TopicPartition tp : partitions) {
                String previous = owners.putIfAbsent(tp, member);
                if (previous != null && !previous.equals(member)) {
                    violations.add(member + " assigned " + tp + " still owned by " + previous);
                }
            }
        }

        void released(String member, Collection<TopicPartition> partitions, String how) {
            for (TopicPartition tp : partitions) {
                if (!owners.remove(tp, member)) {
                    violations.add(member + " " + how + " " + tp + " it did not own (owner " + owners.get(tp) + ")");
                }
            }
        }

        void received(String member, TopicPartition tp, long offset) {
            String owner = owners.get(tp);
            if (!member.equals(owner)) {
                violations.add(member + " received " + tp + "@" + offset + " while the owner is " + owner);
            }
        }

        int owned() {
            return owners.size();
        }
    }

    /** A consumer on its own thread; close() and unsubscribe() are asked for and run on that thread. */
    static final class Member {
        final String name;
        final Thread thread;
        final List<String> events = new CopyOnWriteArrayList<>();
        final List<Throwable> errors = new CopyOnWriteArrayList<>();
        final AtomicInteger assignmentSize = new AtomicInteger();
        final AtomicBoolean done = new AtomicBoolean();
        final AtomicLong closeTookMs = new AtomicLong(-1);
        private volatile String request;

        private Member(String name, Runnable body) {
            this.name = name;
            this.thread = new Thread(body, "member-" + name);
        }

        void requestClose() {
            if (request == null) {
                request = "close";
            }
        }

        void requestUnsubscribe() {
            request = "unsubscribe";
        }

        static Member start(String name, String group, String topic, Ownership ownership,
                            Map<String, AtomicInteger> processed, Map<String, Object> overrides) {
            Member[] self = new Member[1];
            self[0] = new Member(name, () -> self[0].run(group, topic, ownership, processed, overrides));
            self[0].thread.start();
            return self[0];
        }

        private void run(String group, String topic, Ownership ownership, Map<String, AtomicInteger> processed,
                         Map<String, Object> overrides) {
            Map<String, Object> config = config(group, name);
            config.putAll(overrides);
            LanesConsumer<String, String> consumer = new LanesConsumer<>(config, new StringDeserializer(), new StringDeserializer());
            try {
                consumer.subscribe(List.of(topic), new ConsumerRebalanceListener() {
                    @Override
                    public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
                        events.add("revoked " + partitions);
                        ownership.released(name, partitions, "revoked");
                        assignmentSize.addAndGet(-partitions.size());
                    }

                    @Override
                    public void onPartitionsAssigned(Collection<TopicPartition> partitions) {
                        events.add("assigned " + partitions);
                        ownership.assigned(name, partitions);
                        assignmentSize.addAndGet(partitions.size());
                    }

                    @Override
                    public void onPartitionsLost(Collection<TopicPartition> partitions) {
                        events.add("lost " + partitions);
                        ownership.released(name, partitions, "lost");
                        assignmentSize.addAndGet(-partitions.size());
                    }
                });
                while (true) {
                    String req = request;
                    if ("unsubscribe".equals(req)) {
                        consumer.unsubscribe();
                        events.add("unsubscribed");
                        break;
                    }
                    if ("close".equals(req)) {
                        break;
                    }
                    for (ConsumerRecord<String, String> record : consumer.poll(Duration.ofMillis(100))) {
                        TopicPartition tp = new TopicPartition(record.topic(), record.partition());
                        ownership.received(name, tp, record.offset());
                        processed.computeIfAbsent(tp + "@" + record.offset(), k -> new AtomicInteger()).incrementAndGet();
                    }
                }
            } catch (Throwable t) {
                errors.add(t);
                t.printStackTrace();
            } finally {
                Map<String, Object> m = new java.util.TreeMap<>();
                consumer.metrics().forEach((n, v) -> {
                    if (n.group().equals("lanes-consumer-metrics") && (n.name().startsWith("rebalance") || n.name().startsWith("heartbeat-response"))) {
                        m.put(n.name(), v.metricValue());
                    }
                });
                events.add("metrics before close " + m);
                long start = System.nanoTime();
                try {
                    consumer.close(Duration.ofSeconds(10));
                } catch (Throwable t) {
                    errors.add(t);
                }
                closeTookMs.set((System.nanoTime() - start) / 1_000_000);
                events.add("closed");
                done.set(true);
            }
        }
    }
}
