package dev.lanes.consumer;

import dev.lanes.consumer.testing.ConsumerImplementation;
import dev.lanes.consumer.testing.KafkaBrokerExtension;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.consumer.OffsetAndTimestamp;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.internals.Topic;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Pattern;

import static dev.lanes.consumer.testing.TestConsumers.consumerConfig;
import static dev.lanes.consumer.testing.TestConsumers.createOffsetsTopic;
import static dev.lanes.consumer.testing.TestConsumers.waitUntil;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

/**
 * Behaviours where KafkaConsumer's Javadoc or conduct is the reference, each run on Lanes and on KafkaConsumer
 * (consumer group protocol) against the same broker with the same assertions, so that a difference shows as a
 * failing test. One nested class per area (subscriptions, commits, callbacks, fetch limits, metadata,
 * exceptions), all on one broker.
 */
class CompatibilityIT {

    @RegisterExtension
    static final KafkaBrokerExtension BROKER = new KafkaBrokerExtension(
            dev.lanes.consumer.testing.KafkaBroker.builder().serverProperty("auto.create.topics.enable", true));

    private static final AtomicInteger SEQUENCE = new AtomicInteger();

    private static String name(ConsumerImplementation implementation, String what) {
        return what + "-" + implementation.id() + "-" + SEQUENCE.incrementAndGet();
    }

    private static Map<String, Object> config(ConsumerImplementation implementation, String group) {
        Map<String, Object> config = consumerConfig(BROKER.broker().bootstrapServers(), group, null);
        config.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        return config;
    }

    /** Subscribing: topics that do not exist yet, a pattern replaced by another. */
    @Nested
    class Subscriptions {

        @ParameterizedTest
        @EnumSource(ConsumerImplementation.class)
        void aSubscriptionToATopicThatDoesNotExistYetCreatesItByDefault(ConsumerImplementation implementation) {
            String topic = name(implementation, "auto-created");
            try (Consumer<byte[], byte[]> consumer = implementation.create(config(implementation, topic + "-group"))) {
                consumer.subscribe(List.of(topic));
                waitUntil(Duration.ofSeconds(30), () -> {
                    consumer.poll(Duration.ofMillis(100));
                    return !consumer.assignment().isEmpty();
                }, implementation + ": the auto-created topic is assigned");
                // The first lookup creates the topic (and may find it without a leader yet); later ones describe it.
                String looked = name(implementation, "auto-created-lookup");
                waitUntil(Duration.ofSeconds(30), () -> !consumer.partitionsFor(looked, Duration.ofSeconds(10)).isEmpty(),
                        implementation + ": partitionsFor creates the topic too");
            }
        }

        @ParameterizedTest
        @EnumSource(ConsumerImplementation.class)
        void aNewPatternSubscriptionMatchesTopicsAtOnce(ConsumerImplementation implementation) {
            String prefix = name(implementation, "pattern");
            BROKER.broker().createTopic(prefix + "-first", 1);
            try (Consumer<byte[], byte[]> consumer = implementation.create(config(implementation, prefix + "-group"))) {
                consumer.subscribe(Pattern.compile(Pattern.quote(prefix + "-first")));
                waitUntil(Duration.ofSeconds(30), () -> {
                    consumer.poll(Duration.ofMillis(100));
                    return !consumer.assignment().isEmpty();
                }, "the first pattern's topic is assigned");
                BROKER.broker().createTopic(prefix + "-second", 1);
                consumer.subscribe(Pattern.compile(Pattern.quote(prefix + "-second")));
                // Well before metadata.max.age.ms (5 minutes): the new pattern is matched against fresh metadata.
                waitUntil(Duration.ofSeconds(20), () -> {
                    consumer.poll(Duration.ofMillis(100));
                    return consumer.assignment().equals(java.util.Set.of(new TopicPartition(prefix + "-second", 0)));
                }, implementation + ": the second pattern's topic is assigned");
            }
        }
    }

    /** Commits: their order and callbacks, and what interceptors are told. */
    @Nested
    class Commits {

        @ParameterizedTest
        @EnumSource(ConsumerImplementation.class)
        void commitSyncWithNothingToCommitWaitsForEarlierAsyncCommitsAndRunsTheirCallbacks(ConsumerImplementation implementation)
                throws Exception {
            String topic = name(implementation, "commit-order");
            BROKER.broker().createTopic(topic, 1);
            createOffsetsTopic(BROKER.broker());
            TopicPartition partition = new TopicPartition(topic, 0);
            List<String> events = new ArrayList<>();
            try (Consumer<byte[], byte[]> consumer = implementation.create(config(implementation, topic + "-group"))) {
                consumer.assign(List.of(partition));
                consumer.commitSync(Map.of(partition, new OffsetAndMetadata(1)), Duration.ofSeconds(30)); // finds the coordinator
                consumer.commitAsync(Map.of(partition, new OffsetAndMetadata(7)),
                        (offsets, error) -> events.add("callback " + (error == null ? offsets.get(partition).offset() : error)));
                consumer.commitSync(Map.of(), Duration.ofSeconds(30));
                events.add("commitSync returned");
            }
            assertThat(events).as(implementation.toString()).containsExactly("callback 7", "commitSync returned");
        }

        @ParameterizedTest
        @EnumSource(ConsumerImplementation.class)
        void interceptorsAreToldOfAutoCommits(ConsumerImplementation implementation) {
            String topic = name(implementation, "intercepted");
            BROKER.broker().createTopic(topic, 1);
            BROKER.broker().produce(topic, 0, 10, 10);
            Map<String, Object> config = config(implementation, topic + "-group");
            config.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, true);
            config.put(ConsumerConfig.AUTO_COMMIT_INTERVAL_MS_CONFIG, 200);
            config.put(ConsumerConfig.CLIENT_ID_CONFIG, topic);
            config.put(ConsumerConfig.INTERCEPTOR_CLASSES_CONFIG, RecordingInterceptor.class.getName());
            TopicPartition partition = new TopicPartition(topic, 0);
            try (Consumer<byte[], byte[]> consumer = implementation.create(config)) {
                consumer.subscribe(List.of(topic));
                waitUntil(Duration.ofSeconds(30), () -> {
                    consumer.poll(Duration.ofMillis(100));
                    List<Map<TopicPartition, OffsetAndMetadata>> seen = RecordingInterceptor.COMMITS.getOrDefault(topic, List.of());
                    return seen.stream().anyMatch(offsets -> offsets.containsKey(partition)
                            && offsets.get(partition).offset() == 10);
                }, implementation + ": onCommit sees the auto-commit of the 10 records consumed");
            }
        }
    }

    /** User code the consumer calls: cluster listeners. */
    @Nested
    class Callbacks {

        @ParameterizedTest
        @EnumSource(ConsumerImplementation.class)
        void rebalanceCallbacksRunInKafkaConsumersOrderFromSubscribeToClose(ConsumerImplementation implementation) {
            String topic = name(implementation, "callback-order");
            BROKER.broker().createTopic(topic, 2);
            List<String> calls = new java.util.concurrent.CopyOnWriteArrayList<>();
            Consumer<byte[], byte[]> consumer = implementation.create(config(implementation, topic + "-group"));
            try {
                consumer.subscribe(List.of(topic), new ConsumerRebalanceListener() {
                    @Override
                    public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
                        calls.add("revoked " + sorted(partitions));
                    }

                    @Override
                    public void onPartitionsAssigned(Collection<TopicPartition> partitions) {
                        calls.add("assigned " + sorted(partitions));
                    }

                    @Override
                    public void onPartitionsLost(Collection<TopicPartition> partitions) {
                        calls.add("lost " + sorted(partitions));
                    }
                });
                // Until the callback ran, not only until assignment() shows both: KafkaConsumer's background thread
                // can update the assignment a poll before that poll runs onPartitionsAssigned.
                waitUntil(Duration.ofSeconds(30), () -> {
                    consumer.poll(Duration.ofMillis(100));
                    return consumer.assignment().size() == 2 && calls.stream().anyMatch(call -> call.startsWith("assigned"));
                }, implementation + ": both partitions assigned");
                calls.add("unsubscribe");
                consumer.unsubscribe();
            } finally {
                consumer.close(Duration.ofSeconds(10));
            }
            assertThat(calls.subList(0, Math.min(3, calls.size()))).as(implementation.toString())
                    .containsExactly("assigned [0, 1]", "unsubscribe", "revoked [0, 1]");
            // KafkaConsumer 4.1 then also reports the partitions it revoked on unsubscribe as lost when it closes;
            // Lanes owns nothing after unsubscribe and says nothing more (a deliberate difference, in the README).
            if (implementation == ConsumerImplementation.LANES) {
                assertThat(calls).hasSize(3);
            }
        }

        private static List<Integer> sorted(Collection<TopicPartition> partitions) {
            return partitions.stream().map(TopicPartition::partition).sorted().toList();
        }

        @ParameterizedTest
        @EnumSource(ConsumerImplementation.class)
        void deserializersAndInterceptorsThatListenAreToldTheClusterId(ConsumerImplementation implementation) throws Exception {
            String topic = name(implementation, "cluster-id");
            BROKER.broker().createTopic(topic, 1);
            BROKER.broker().produce(topic, 0, 1, 10);
            String clusterId = BROKER.broker().admin().describeCluster().clusterId().get(10, TimeUnit.SECONDS);
            Map<String, Object> config = config(implementation, null);
            config.put(ConsumerConfig.CLIENT_ID_CONFIG, topic);
            config.put(ConsumerConfig.INTERCEPTOR_CLASSES_CONFIG, ClusterIdInterceptor.class.getName());
            TopicPartition partition = new TopicPartition(topic, 0);
            try (Consumer<byte[], byte[]> consumer = implementation.create(config)) {
                consumer.assign(List.of(partition));
                consumer.seekToBeginning(List.of(partition));
                waitUntil(Duration.ofSeconds(30), () -> {
                    consumer.poll(Duration.ofMillis(100));
                    return clusterId.equals(ClusterIdInterceptor.CLUSTER_IDS.get(topic));
                }, implementation + ": the interceptor is told the cluster id");
            }
        }
    }

    /** How many records one poll returns. */
    @Nested
    class FetchLimits {

        @ParameterizedTest
        @EnumSource(ConsumerImplementation.class)
        void maxPollRecordsBoundsEveryPollAndNothingIsSkipped(ConsumerImplementation implementation) {
            String topic = name(implementation, "max-poll-records");
            BROKER.broker().createTopic(topic, 1);
            BROKER.broker().produce(topic, 0, 100, 20);
            Map<String, Object> config = config(implementation, null);
            config.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 7);
            List<Long> offsets = new ArrayList<>();
            int largest = 0;
            try (Consumer<byte[], byte[]> consumer = implementation.create(config)) {
                TopicPartition partition = new TopicPartition(topic, 0);
                consumer.assign(List.of(partition));
                consumer.seekToBeginning(List.of(partition));
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
                while (offsets.size() < 100 && System.nanoTime() < deadline) {
                    var records = consumer.poll(Duration.ofMillis(200));
                    largest = Math.max(largest, records.count());
                    records.forEach(record -> offsets.add(record.offset()));
                }
            }
            assertThat(largest).as(implementation.toString()).isEqualTo(7);
            assertThat(offsets).as(implementation.toString())
                    .isEqualTo(java.util.stream.LongStream.range(0, 100).boxed().toList());
        }

        @ParameterizedTest
        @EnumSource(ConsumerImplementation.class)
        void onePollReturnsAPartitionsRecordsFromOneFetchResponse(ConsumerImplementation implementation) throws Exception {
            String topic = name(implementation, "one-fetch-per-poll");
            BROKER.broker().createTopic(topic, 1);
            for (int i = 0; i < 20; i++) {
                BROKER.broker().produce(topic, 0, 1, 100); // one record per batch
            }
            Map<String, Object> config = config(implementation, null);
            // A fetch returns at least one whole batch, and here no more: one record per fetch response.
            config.put(ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG, 1);
            List<Integer> sizes = new ArrayList<>();
            try (Consumer<byte[], byte[]> consumer = implementation.create(config)) {
                TopicPartition partition = new TopicPartition(topic, 0);
                consumer.assign(List.of(partition));
                consumer.seekToBeginning(List.of(partition));
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
                int received = 0;
                while (received < 20 && System.nanoTime() < deadline) {
                    int count = consumer.poll(Duration.ofMillis(200)).count();
                    if (count > 0) {
                        sizes.add(count);
                        received += count;
                    }
                }
            }
            assertThat(sizes).as("%s: records per non-empty poll", implementation).hasSize(20).containsOnly(1);
        }
    }

    /** Topic metadata: listTopics. */
    @Nested
    class Metadata {

        @org.junit.jupiter.api.Test
        void partitionsForDescribesATopicAsKafkaConsumerDoes() {
            String topic = name(ConsumerImplementation.LANES, "partitions-for");
            BROKER.broker().createTopic(topic, 3);
            Map<ConsumerImplementation, List<String>> described = new java.util.EnumMap<>(ConsumerImplementation.class);
            for (ConsumerImplementation implementation : ConsumerImplementation.values()) {
                try (Consumer<byte[], byte[]> consumer = implementation.create(config(implementation, null))) {
                    described.put(implementation, consumer.partitionsFor(topic, Duration.ofSeconds(30)).stream()
                            .map(info -> info.topic() + "-" + info.partition() + " leader " + info.leader().id()
                                    + " replicas " + java.util.Arrays.stream(info.replicas()).map(node -> node.id()).toList()
                                    + " isr " + java.util.Arrays.stream(info.inSyncReplicas()).map(node -> node.id()).toList())
                            .sorted().toList());
                }
            }
            assertThat(described.get(ConsumerImplementation.LANES)).as("Lanes against KafkaConsumer").hasSize(3)
                    .isEqualTo(described.get(ConsumerImplementation.KAFKA_CONSUMER));
        }

        @ParameterizedTest
        @EnumSource(ConsumerImplementation.class)
        void listTopicsIncludesInternalTopics(ConsumerImplementation implementation) throws Exception {
            createOffsetsTopic(BROKER.broker());
            try (Consumer<byte[], byte[]> consumer = implementation.create(config(implementation, null))) {
                assertThat(consumer.listTopics(Duration.ofSeconds(30))).containsKey(Topic.GROUP_METADATA_TOPIC_NAME);
            }
        }
    }

    /** Exceptions and zero timeouts: what a call throws or returns when it cannot do its work. */
    @Nested
    class Exceptions {

        @org.junit.jupiter.api.Test
        void callsThatCannotBeMadeThrowWhatKafkaConsumerThrows() {
            String topic = name(ConsumerImplementation.LANES, "misuse");
            BROKER.broker().createTopic(topic, 1);
            TopicPartition assigned = new TopicPartition(topic, 0);
            TopicPartition other = new TopicPartition(topic + "-other", 0);
            Map<ConsumerImplementation, List<String>> outcomes = new java.util.EnumMap<>(ConsumerImplementation.class);
            for (ConsumerImplementation implementation : ConsumerImplementation.values()) {
                List<String> outcome = new ArrayList<>();
                try (Consumer<byte[], byte[]> consumer = implementation.create(config(implementation, null))) {
                    outcome.add("poll unsubscribed " + outcomeOf(() -> consumer.poll(Duration.ofMillis(10))));
                    outcome.add("commitSync without group " + outcomeOf(() -> {
                        consumer.commitSync(Map.of(assigned, new OffsetAndMetadata(1)));
                        return null;
                    }));
                    outcome.add("subscribe to an empty name " + outcomeOf(() -> {
                        consumer.subscribe(List.of(" "));
                        return null;
                    }));
                    consumer.assign(List.of(assigned));
                    outcome.add("subscribe after assign " + outcomeOf(() -> {
                        consumer.subscribe(List.of(topic));
                        return null;
                    }));
                    outcome.add("position of an unassigned partition " + outcomeOf(() -> consumer.position(other)));
                    outcome.add("seek an unassigned partition " + outcomeOf(() -> {
                        consumer.seek(other, 1);
                        return null;
                    }));
                    outcome.add("seek to a negative offset " + outcomeOf(() -> {
                        consumer.seek(assigned, -1);
                        return null;
                    }));
                    outcome.add("pause an unassigned partition " + outcomeOf(() -> {
                        consumer.pause(List.of(other));
                        return null;
                    }));
                    outcome.add("groupMetadata without group " + outcomeOf(consumer::groupMetadata));
                }
                outcomes.put(implementation, outcome);
            }
            System.out.printf("misuse: %s%n", outcomes);
            assertThat(outcomes.get(ConsumerImplementation.LANES)).as("Lanes against KafkaConsumer")
                    .isEqualTo(outcomes.get(ConsumerImplementation.KAFKA_CONSUMER));
        }

        @ParameterizedTest
        @EnumSource(ConsumerImplementation.class)
        void anExceptionFromARebalanceListenerReachesPollWrappedAsKafkaConsumerWrapsIt(ConsumerImplementation implementation) {
            String topic = name(implementation, "throwing-listener");
            BROKER.broker().createTopic(topic, 1);
            IllegalStateException thrown = new IllegalStateException("listener failed");
            try (Consumer<byte[], byte[]> consumer = implementation.create(config(implementation, topic + "-group"))) {
                consumer.subscribe(List.of(topic), new ConsumerRebalanceListener() {
                    @Override
                    public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
                    }

                    @Override
                    public void onPartitionsAssigned(Collection<TopicPartition> partitions) {
                        if (!partitions.isEmpty()) {
                            throw thrown;
                        }
                    }
                });
                Throwable error = null;
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
                while (error == null && System.nanoTime() < deadline) {
                    error = catchThrowable(() -> consumer.poll(Duration.ofMillis(100)));
                }
                assertThat(error).as(implementation.toString()).isExactlyInstanceOf(KafkaException.class)
                        .hasMessage("User rebalance callback throws an error").hasCause(thrown);
            }
        }

        @ParameterizedTest
        @EnumSource(ConsumerImplementation.class)
        void offsetLookupsWithAZeroTimeoutFindNothingInsteadOfThrowing(ConsumerImplementation implementation) {
            String topic = name(implementation, "zero-timeout");
            BROKER.broker().createTopic(topic, 1);
            TopicPartition partition = new TopicPartition(topic, 0);
            try (Consumer<byte[], byte[]> consumer = implementation.create(config(implementation, null))) {
                assertThat(consumer.beginningOffsets(List.of(partition), Duration.ZERO)).isEmpty();
                assertThat(consumer.endOffsets(List.of(partition), Duration.ZERO)).isEmpty();
                Map<TopicPartition, OffsetAndTimestamp> times = consumer.offsetsForTimes(Map.of(partition, 0L), Duration.ZERO);
                Map<TopicPartition, OffsetAndTimestamp> expected = new HashMap<>();
                expected.put(partition, null);
                assertThat(times).isEqualTo(expected);
            }
        }

        @org.junit.jupiter.api.Test
        void everyOtherTimeBoundCallWithAZeroTimeoutEndsAsKafkaConsumersDoes() {
            String topic = name(ConsumerImplementation.LANES, "zero-timeout-others");
            BROKER.broker().createTopic(topic, 1);
            Map<ConsumerImplementation, List<String>> outcomes = new java.util.EnumMap<>(ConsumerImplementation.class);
            for (ConsumerImplementation implementation : ConsumerImplementation.values()) {
                TopicPartition partition = new TopicPartition(topic, 0);
                List<String> outcome = new ArrayList<>();
                try (Consumer<byte[], byte[]> consumer = implementation.create(config(implementation, topic + "-" + implementation.id()))) {
                    outcome.add("partitionsFor " + outcomeOf(() -> consumer.partitionsFor(name(implementation, "absent"), Duration.ZERO)));
                    outcome.add("listTopics " + outcomeOf(() -> consumer.listTopics(Duration.ZERO)));
                    consumer.assign(List.of(partition));
                    outcome.add("position " + outcomeOf(() -> consumer.position(partition, Duration.ZERO)));
                    outcome.add("committed " + outcomeOf(() -> consumer.committed(java.util.Set.of(partition), Duration.ZERO)));
                    outcome.add("poll " + outcomeOf(() -> consumer.poll(Duration.ZERO).count()));
                }
                outcomes.put(implementation, outcome);
            }
            System.out.printf("zero timeouts: %s%n", outcomes);
            assertThat(outcomes.get(ConsumerImplementation.LANES)).as("Lanes against KafkaConsumer")
                    .isEqualTo(outcomes.get(ConsumerImplementation.KAFKA_CONSUMER));
        }

        /** What a call ended with, as a comparable word: its exception's class, or "returned". */
        private static String outcomeOf(java.util.concurrent.Callable<?> call) {
            try {
                call.call();
                return "returned";
            } catch (Exception e) {
                return e.getClass().getSimpleName();
            }
        }
    }

    /** Records what onCommit is told, by client id. */
    public static final class RecordingInterceptor implements org.apache.kafka.clients.consumer.ConsumerInterceptor<byte[], byte[]> {
        static final Map<String, List<Map<TopicPartition, OffsetAndMetadata>>> COMMITS = new java.util.concurrent.ConcurrentHashMap<>();
        private String clientId;

        @Override
        public org.apache.kafka.clients.consumer.ConsumerRecords<byte[], byte[]> onConsume(
                org.apache.kafka.clients.consumer.ConsumerRecords<byte[], byte[]> records) {
            return records;
        }

        @Override
        public void onCommit(Map<TopicPartition, OffsetAndMetadata> offsets) {
            COMMITS.computeIfAbsent(clientId, id -> new java.util.concurrent.CopyOnWriteArrayList<>()).add(Map.copyOf(offsets));
        }

        @Override
        public void close() {
        }

        @Override
        public void configure(Map<String, ?> configs) {
            clientId = String.valueOf(configs.get(ConsumerConfig.CLIENT_ID_CONFIG));
        }
    }

    /** An interceptor that listens for the cluster's identity, by client id. */
    public static final class ClusterIdInterceptor implements org.apache.kafka.clients.consumer.ConsumerInterceptor<byte[], byte[]>,
            org.apache.kafka.common.ClusterResourceListener {
        static final Map<String, String> CLUSTER_IDS = new java.util.concurrent.ConcurrentHashMap<>();
        private String clientId;

        @Override
        public void onUpdate(org.apache.kafka.common.ClusterResource clusterResource) {
            CLUSTER_IDS.put(clientId, clusterResource.clusterId());
        }

        @Override
        public org.apache.kafka.clients.consumer.ConsumerRecords<byte[], byte[]> onConsume(
                org.apache.kafka.clients.consumer.ConsumerRecords<byte[], byte[]> records) {
            return records;
        }

        @Override
        public void onCommit(Map<TopicPartition, OffsetAndMetadata> offsets) {
        }

        @Override
        public void close() {
        }

        @Override
        public void configure(Map<String, ?> configs) {
            clientId = String.valueOf(configs.get(ConsumerConfig.CLIENT_ID_CONFIG));
        }
    }
}
