package dev.lanes.consumer;

import dev.lanes.consumer.testing.KafkaBroker;
import dev.lanes.consumer.testing.KafkaBrokerExtension;
import dev.lanes.consumer.testing.TestConsumers;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerInterceptor;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.NoOffsetForPartitionException;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.consumer.OffsetAndTimestamp;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.config.ConfigException;
import org.apache.kafka.common.errors.InvalidGroupIdException;
import org.apache.kafka.common.errors.RecordDeserializationException;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.Deserializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.ConcurrentModificationException;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Predicate;
import java.util.stream.Collectors;
import java.util.stream.LongStream;

import static dev.lanes.consumer.testing.TestConsumers.manualCommitConfig;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

/**
 * The {@link org.apache.kafka.clients.consumer.Consumer} API of {@link LanesConsumer} with manual
 * assignment, against one real broker shared by the class. Every test uses its own topic (and group).
 */
class ConsumerApiIT {

    @RegisterExtension
    static final KafkaBrokerExtension BROKER = new KafkaBrokerExtension();

    private static final AtomicInteger TOPIC_SEQUENCE = new AtomicInteger();
    private static final Duration POLL_DEADLINE = Duration.ofSeconds(15);

    @Test
    void aTopicDeletedAndCreatedAgainIsReadFromItsStartNotFromTheOldTopicsPosition(TestInfo info) throws Exception {
        String topic = newTopic(info, 1);
        TopicPartition partition = new TopicPartition(topic, 0);
        broker().produce(topic, 0, 100, 10);
        Map<String, Object> config = config(null);
        config.put(ConsumerConfig.ALLOW_AUTO_CREATE_TOPICS_CONFIG, false); // the test creates it again itself
        try (LanesConsumer<String, String> consumer = new LanesConsumer<>(config)) {
            consumer.assign(List.of(partition));
            consumer.seekToBeginning(List.of(partition));
            assertThat(pollAtLeast(consumer, 100)).hasSize(100);

            broker().admin().deleteTopics(List.of(topic)).all().get(30, TimeUnit.SECONDS);
            TestConsumers.waitUntil(Duration.ofSeconds(30), () -> !topicExists(topic), "the topic is gone");
            broker().createTopic(topic, 1);
            broker().produce(topic, 0, 150, 10); // more than the old position: reading from it would skip 100

            List<ConsumerRecord<String, String>> again = pollAtLeast(consumer, 150);
            assertThat(offsets(again)).as("the new topic from its start").isEqualTo(range(0, 150));
        }
    }

    private static boolean topicExists(String topic) {
        try {
            return broker().admin().listTopics().names().get(10, TimeUnit.SECONDS).contains(topic);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    private static KafkaBroker broker() {
        return BROKER.broker();
    }

    /** A fresh topic named after the test, created with the given partitions. */
    private static String newTopic(TestInfo info, int partitions) {
        String method = info.getTestMethod().map(m -> m.getName()).orElse("test");
        String topic = "api-" + method + "-" + TOPIC_SEQUENCE.incrementAndGet();
        broker().createTopic(topic, partitions);
        return topic;
    }

    private static Map<String, Object> config(String group) {
        return manualCommitConfig(broker().bootstrapServers(), group, null);
    }

    /** Polls until {@code done} holds for everything received so far, or fails after {@link #POLL_DEADLINE}. */
    private static List<ConsumerRecord<String, String>> pollUntil(LanesConsumer<String, String> consumer,
                                                                  Predicate<List<ConsumerRecord<String, String>>> done) {
        List<ConsumerRecord<String, String>> received = new ArrayList<>();
        long deadline = System.nanoTime() + POLL_DEADLINE.toNanos();
        while (!done.test(received)) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("Condition not met within " + POLL_DEADLINE + "; received " + describe(received));
            }
            consumer.poll(Duration.ofMillis(200)).forEach(received::add);
        }
        return received;
    }

    private static List<ConsumerRecord<String, String>> pollAtLeast(LanesConsumer<String, String> consumer, int count) {
        return pollUntil(consumer, received -> received.size() >= count);
    }

    private static String describe(List<ConsumerRecord<String, String>> records) {
        return records.stream().map(r -> r.partition() + "@" + r.offset() + "=" + r.value())
                .collect(Collectors.joining(", ", "[", "]"));
    }

    private static List<Long> offsets(List<ConsumerRecord<String, String>> records) {
        return records.stream().map(ConsumerRecord::offset).collect(Collectors.toList());
    }

    private static List<Long> range(long fromInclusive, long toExclusive) {
        return LongStream.range(fromInclusive, toExclusive).boxed().collect(Collectors.toList());
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    /** Sends string values to one partition through a fresh producer and waits for every ack. */
    private static void produceValues(String topic, int partition, String... values) throws Exception {
        try (KafkaProducer<byte[], byte[]> producer = broker().producer()) {
            for (String value : values) {
                producer.send(new ProducerRecord<>(topic, partition, null, bytes(value))).get(10, TimeUnit.SECONDS);
            }
        }
    }

    // ---------------------------------------------------------------- seeking and positions

    @Test
    void seekSeekToBeginningAndSeekToEndMoveThePositionAndPollReadsFromThere(TestInfo info) {
        String topic = newTopic(info, 1);
        TopicPartition tp = new TopicPartition(topic, 0);
        broker().produce(topic, 0, 10, 20);
        try (LanesConsumer<String, String> consumer = new LanesConsumer<>(config(null))) {
            consumer.assign(Set.of(tp));

            consumer.seek(tp, 5);
            assertThat(consumer.position(tp)).isEqualTo(5);
            List<ConsumerRecord<String, String>> fromFive = pollAtLeast(consumer, 5);
            assertThat(offsets(fromFive)).isEqualTo(range(5, 10));
            assertThat(fromFive.get(0).value()).startsWith("v5.");
            assertThat(consumer.position(tp)).isEqualTo(10);

            consumer.seekToBeginning(Set.of(tp));
            assertThat(consumer.position(tp)).isEqualTo(0);
            List<ConsumerRecord<String, String>> fromStart = pollAtLeast(consumer, 10);
            assertThat(offsets(fromStart)).isEqualTo(range(0, 10));
            assertThat(consumer.position(tp)).isEqualTo(10);

            consumer.seek(tp, 3);
            consumer.seekToEnd(Set.of(tp));
            assertThat(consumer.position(tp)).isEqualTo(10);
            assertThat(consumer.poll(Duration.ofMillis(300))).isEmpty();
            broker().produce(topic, 0, 2, 20);
            List<ConsumerRecord<String, String>> newOnes = pollAtLeast(consumer, 2);
            assertThat(offsets(newOnes)).isEqualTo(List.of(10L, 11L));
            assertThat(consumer.position(tp)).isEqualTo(12);
        }
    }

    @Test
    void seekAfterPollDiscardsRecordsFetchedForTheOldPosition(TestInfo info) {
        String topic = newTopic(info, 1);
        TopicPartition tp = new TopicPartition(topic, 0);
        broker().produce(topic, 0, 100, 20);
        Map<String, Object> config = config(null);
        config.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 10);
        try (LanesConsumer<String, String> consumer = new LanesConsumer<>(config)) {
            consumer.assign(Set.of(tp));
            List<ConsumerRecord<String, String>> first = pollAtLeast(consumer, 1);
            assertThat(first.get(0).offset()).isZero();
            consumer.seek(tp, 50);
            List<ConsumerRecord<String, String>> afterSeek = pollAtLeast(consumer, 50);
            assertThat(offsets(afterSeek)).isEqualTo(range(50, 100));
        }
    }

    // ---------------------------------------------------------------- pause / resume

    @Test
    void pausedPartitionReturnsNothingWhileOthersDoAndResumesWithoutGapOrDuplicate(TestInfo info) {
        String topic = newTopic(info, 2);
        TopicPartition p0 = new TopicPartition(topic, 0);
        TopicPartition p1 = new TopicPartition(topic, 1);
        broker().produce(topic, 0, 40, 20);
        Map<String, Object> config = config(null);
        config.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 5);
        try (LanesConsumer<String, String> consumer = new LanesConsumer<>(config)) {
            consumer.assign(Set.of(p0, p1));
            List<ConsumerRecord<String, String>> beforePause = pollAtLeast(consumer, 1);
            assertThat(beforePause).allMatch(r -> r.partition() == 0);

            consumer.pause(Set.of(p0));
            assertThat(consumer.paused()).containsExactly(p0);
            broker().produce(topic, 1, 30, 20);
            List<ConsumerRecord<String, String>> whilePaused = pollUntil(consumer,
                    received -> received.stream().filter(r -> r.partition() == 1).count() >= 30);
            assertThat(whilePaused).allMatch(r -> r.partition() == 1, "only partition 1 while partition 0 is paused");
            assertThat(offsets(whilePaused)).isEqualTo(range(0, 30));
            // Nothing more from the paused partition even when waiting for it.
            assertThat(consumer.poll(Duration.ofMillis(300))).isEmpty();

            consumer.resume(Set.of(p0));
            assertThat(consumer.paused()).isEmpty();
            int needed = 40 - beforePause.size();
            List<ConsumerRecord<String, String>> afterResume = pollAtLeast(consumer, needed);
            List<ConsumerRecord<String, String>> all = new ArrayList<>(beforePause);
            all.addAll(afterResume);
            assertThat(all).allMatch(r -> r.partition() == 0);
            assertThat(offsets(all)).as("partition 0 offsets across the pause").isEqualTo(range(0, 40));
            assertThat(consumer.position(p0)).isEqualTo(40);
        }
    }

    // ---------------------------------------------------------------- offsetsForTimes

    @Test
    void offsetsForTimesFindsTheFirstRecordAtOrAfterTheTimestampAndNullPastTheEnd(TestInfo info) throws Exception {
        String topic = newTopic(info, 1);
        TopicPartition tp = new TopicPartition(topic, 0);
        long base = System.currentTimeMillis() - 100_000;
        try (KafkaProducer<byte[], byte[]> producer = broker().producer()) {
            for (int i = 0; i < 3; i++) {
                producer.send(new ProducerRecord<>(topic, 0, base + i * 10_000L, null, bytes("t" + i)))
                        .get(10, TimeUnit.SECONDS);
            }
        }
        try (LanesConsumer<String, String> consumer = new LanesConsumer<>(config(null))) {
            consumer.assign(Set.of(tp));

            OffsetAndTimestamp exact = consumer.offsetsForTimes(Map.of(tp, base)).get(tp);
            assertThat(exact.offset()).isZero();
            assertThat(exact.timestamp()).isEqualTo(base);

            OffsetAndTimestamp between = consumer.offsetsForTimes(Map.of(tp, base + 5_000)).get(tp);
            assertThat(between.offset()).isEqualTo(1);
            assertThat(between.timestamp()).isEqualTo(base + 10_000);

            OffsetAndTimestamp last = consumer.offsetsForTimes(Map.of(tp, base + 20_000)).get(tp);
            assertThat(last.offset()).isEqualTo(2);

            Map<TopicPartition, OffsetAndTimestamp> past = consumer.offsetsForTimes(Map.of(tp, base + 1_000_000));
            assertThat(past.get(tp)).isNull();

            // The found offset is usable with seek.
            consumer.seek(tp, between.offset());
            assertThat(pollAtLeast(consumer, 2)).extracting(ConsumerRecord::value).containsExactly("t1", "t2");
        }
    }

    // ---------------------------------------------------------------- max.poll.records

    @Test
    void maxPollRecordsBoundsEveryPoll(TestInfo info) {
        String topic = newTopic(info, 1);
        TopicPartition tp = new TopicPartition(topic, 0);
        broker().produce(topic, 0, 50, 20);
        Map<String, Object> config = config(null);
        config.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 7);
        try (LanesConsumer<String, String> consumer = new LanesConsumer<>(config)) {
            consumer.assign(Set.of(tp));
            List<Integer> batchSizes = new ArrayList<>();
            List<ConsumerRecord<String, String>> received = new ArrayList<>();
            long deadline = System.nanoTime() + POLL_DEADLINE.toNanos();
            while (received.size() < 50 && System.nanoTime() < deadline) {
                ConsumerRecords<String, String> records = consumer.poll(Duration.ofMillis(200));
                if (!records.isEmpty()) {
                    batchSizes.add(records.count());
                    records.forEach(received::add);
                }
            }
            assertThat(offsets(received)).isEqualTo(range(0, 50));
            assertThat(batchSizes).allMatch(size -> size <= 7, "every poll returns at most 7 records");
            assertThat(batchSizes).contains(7);
        }
    }

    // ---------------------------------------------------------------- auto.offset.reset

    @Test
    void autoOffsetResetNoneWithoutCommittedOffsetMakesPollThrowNoOffsetForPartition(TestInfo info) {
        String topic = newTopic(info, 1);
        TopicPartition tp = new TopicPartition(topic, 0);
        broker().produce(topic, 0, 3, 20);
        Map<String, Object> config = config("group-" + topic);
        config.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "none");
        try (LanesConsumer<String, String> consumer = new LanesConsumer<>(config)) {
            consumer.assign(Set.of(tp));
            NoOffsetForPartitionException error = catchThrowableOfType(NoOffsetForPartitionException.class,
                    () -> pollUntil(consumer, received -> false));
            assertThat(error).isNotNull();
            assertThat(error.partitions()).containsExactly(tp);
        }
    }

    @Test
    void autoOffsetResetLatestStartsAtTheEnd(TestInfo info) {
        String topic = newTopic(info, 1);
        TopicPartition tp = new TopicPartition(topic, 0);
        broker().produce(topic, 0, 5, 20);
        Map<String, Object> config = config("group-" + topic);
        config.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "latest");
        try (LanesConsumer<String, String> consumer = new LanesConsumer<>(config)) {
            consumer.assign(Set.of(tp));
            assertThat(consumer.position(tp)).isEqualTo(5);
            assertThat(consumer.poll(Duration.ofMillis(300))).isEmpty();
            broker().produce(topic, 0, 3, 20);
            assertThat(offsets(pollAtLeast(consumer, 3))).isEqualTo(List.of(5L, 6L, 7L));
        }
    }

    // ---------------------------------------------------------------- committed offsets

    @Test
    void newConsumerOfTheSameGroupResumesFromTheCommittedOffset(TestInfo info) {
        String topic = newTopic(info, 1);
        TopicPartition tp = new TopicPartition(topic, 0);
        String group = "group-" + topic;
        broker().produce(topic, 0, 10, 20);
        try (LanesConsumer<String, String> first = new LanesConsumer<>(config(group))) {
            first.assign(Set.of(tp));
            pollAtLeast(first, 4);
            first.commitSync(Map.of(tp, new OffsetAndMetadata(4, "half-way")));
        }
        try (LanesConsumer<String, String> second = new LanesConsumer<>(config(group))) {
            second.assign(Set.of(tp));
            OffsetAndMetadata committed = second.committed(Set.of(tp)).get(tp);
            assertThat(committed.offset()).isEqualTo(4);
            assertThat(committed.metadata()).isEqualTo("half-way");
            assertThat(second.position(tp)).isEqualTo(4);
            assertThat(offsets(pollAtLeast(second, 6))).isEqualTo(range(4, 10));
        }
    }

    // ---------------------------------------------------------------- commitAsync callbacks

    @Test
    void commitAsyncCallbackRunsOnTheCallingThreadDuringALaterPoll(TestInfo info) {
        String topic = newTopic(info, 1);
        TopicPartition tp = new TopicPartition(topic, 0);
        broker().produce(topic, 0, 5, 20);
        Thread testThread = Thread.currentThread();
        AtomicReference<Thread> callbackThread = new AtomicReference<>();
        AtomicReference<Exception> callbackError = new AtomicReference<>();
        AtomicReference<Map<TopicPartition, OffsetAndMetadata>> callbackOffsets = new AtomicReference<>();
        AtomicInteger calls = new AtomicInteger();
        try (LanesConsumer<String, String> consumer = new LanesConsumer<>(config("group-" + topic))) {
            consumer.assign(Set.of(tp));
            pollAtLeast(consumer, 5);
            consumer.commitAsync((offsets, exception) -> {
                calls.incrementAndGet();
                callbackThread.set(Thread.currentThread());
                callbackOffsets.set(offsets);
                callbackError.set(exception);
            });
            long deadline = System.nanoTime() + POLL_DEADLINE.toNanos();
            while (calls.get() == 0 && System.nanoTime() < deadline) {
                consumer.poll(Duration.ofMillis(100));
            }
            assertThat(calls).hasValue(1);
            assertThat(callbackThread.get()).isSameAs(testThread);
            assertThat(callbackError.get()).isNull();
            assertThat(callbackOffsets.get().get(tp).offset()).isEqualTo(5);
            assertThat(consumer.committed(Set.of(tp)).get(tp).offset()).isEqualTo(5);
        }
    }

    @Test
    void commitSyncAfterCommitAsyncReturnsOnlyOnceTheAsyncCallbackHasRun(TestInfo info) {
        String topic = newTopic(info, 1);
        TopicPartition tp = new TopicPartition(topic, 0);
        broker().produce(topic, 0, 10, 20);
        Thread testThread = Thread.currentThread();
        List<Long> callbackOffsets = new ArrayList<>();
        AtomicReference<Thread> callbackThread = new AtomicReference<>();
        AtomicReference<Exception> callbackError = new AtomicReference<>();
        try (LanesConsumer<String, String> consumer = new LanesConsumer<>(config("group-" + topic))) {
            consumer.assign(Set.of(tp));
            pollAtLeast(consumer, 10);
            for (long offset = 1; offset <= 3; offset++) {
                consumer.commitAsync(Map.of(tp, new OffsetAndMetadata(offset)), (offsets, exception) -> {
                    callbackThread.set(Thread.currentThread());
                    callbackError.compareAndSet(null, exception);
                    callbackOffsets.add(offsets.get(tp).offset());
                });
            }
            consumer.commitSync(Map.of(tp, new OffsetAndMetadata(7)));
            // Pending async commits merge (DESIGN R4): each callback gets the offsets of the request that
            // carried its commit, which holds at least the offset it asked for.
            assertThat(callbackOffsets).as("async callbacks invoked, in order, before commitSync returned")
                    .hasSize(3);
            for (int i = 0; i < 3; i++) {
                assertThat(callbackOffsets.get(i)).isBetween(i + 1L, 3L);
            }
            assertThat(callbackThread.get()).isSameAs(testThread);
            assertThat(callbackError.get()).isNull();
            assertThat(consumer.committed(Set.of(tp)).get(tp).offset()).isEqualTo(7);
        }
    }

    // ---------------------------------------------------------------- interceptors

    public static final class CountingInterceptor implements ConsumerInterceptor<String, String> {
        static final AtomicInteger CONSUMED = new AtomicInteger();
        static final AtomicInteger COMMITS = new AtomicInteger();
        static final AtomicInteger CLOSED = new AtomicInteger();

        @Override
        public ConsumerRecords<String, String> onConsume(ConsumerRecords<String, String> records) {
            CONSUMED.addAndGet(records.count());
            return records;
        }

        @Override
        public void onCommit(Map<TopicPartition, OffsetAndMetadata> offsets) {
            COMMITS.incrementAndGet();
        }

        @Override
        public void close() {
            CLOSED.incrementAndGet();
        }

        @Override
        public void configure(Map<String, ?> configs) {
        }
    }

    @Test
    void configuredInterceptorSeesConsumedRecordsAndCommits(TestInfo info) {
        String topic = newTopic(info, 1);
        TopicPartition tp = new TopicPartition(topic, 0);
        broker().produce(topic, 0, 12, 20);
        CountingInterceptor.CONSUMED.set(0);
        CountingInterceptor.COMMITS.set(0);
        CountingInterceptor.CLOSED.set(0);
        Map<String, Object> config = config("group-" + topic);
        config.put(ConsumerConfig.INTERCEPTOR_CLASSES_CONFIG, CountingInterceptor.class.getName());
        try (LanesConsumer<String, String> consumer = new LanesConsumer<>(config)) {
            consumer.assign(Set.of(tp));
            pollAtLeast(consumer, 12);
            assertThat(CountingInterceptor.CONSUMED).hasValue(12);
            consumer.commitSync();
            assertThat(CountingInterceptor.COMMITS).hasValue(1);
        }
        assertThat(CountingInterceptor.CLOSED).hasValue(1);
    }

    // ---------------------------------------------------------------- isolation.level

    private static void produceAbortedThenCommittedTransaction(String topic) {
        try (KafkaProducer<byte[], byte[]> producer = broker().producer(Map.of(
                ProducerConfig.TRANSACTIONAL_ID_CONFIG, "tx-" + topic))) {
            producer.initTransactions();
            producer.beginTransaction();
            for (int i = 0; i < 3; i++) {
                producer.send(new ProducerRecord<>(topic, 0, null, bytes("aborted-" + i)));
            }
            producer.flush();
            producer.abortTransaction();
            producer.beginTransaction();
            for (int i = 0; i < 2; i++) {
                producer.send(new ProducerRecord<>(topic, 0, null, bytes("committed-" + i)));
            }
            producer.commitTransaction();
        }
    }

    @Test
    void readCommittedSkipsAnAbortedTransaction(TestInfo info) {
        String topic = newTopic(info, 1);
        TopicPartition tp = new TopicPartition(topic, 0);
        produceAbortedThenCommittedTransaction(topic);
        Map<String, Object> config = config(null);
        config.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        try (LanesConsumer<String, String> consumer = new LanesConsumer<>(config)) {
            consumer.assign(Set.of(tp));
            List<ConsumerRecord<String, String>> received = pollAtLeast(consumer, 2);
            assertThat(received).extracting(ConsumerRecord::value).containsExactly("committed-0", "committed-1");
            assertThat(consumer.poll(Duration.ofMillis(300))).isEmpty();
            // aborted 0-2, abort marker 3, committed 4-5, commit marker 6
            assertThat(consumer.position(tp)).isEqualTo(7);
        }
    }

    @Test
    void readUncommittedSeesAbortedAndCommittedTransactions(TestInfo info) {
        String topic = newTopic(info, 1);
        TopicPartition tp = new TopicPartition(topic, 0);
        produceAbortedThenCommittedTransaction(topic);
        Map<String, Object> config = config(null);
        config.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_uncommitted");
        try (LanesConsumer<String, String> consumer = new LanesConsumer<>(config)) {
            consumer.assign(Set.of(tp));
            List<ConsumerRecord<String, String>> received = pollAtLeast(consumer, 5);
            assertThat(received).extracting(ConsumerRecord::value)
                    .containsExactly("aborted-0", "aborted-1", "aborted-2", "committed-0", "committed-1");
        }
    }

    // ---------------------------------------------------------------- deserialization failure

    /** A value deserializer that fails on the value {@code poison}. */
    public static final class PoisonDeserializer implements Deserializer<String> {
        @Override
        public String deserialize(String topic, byte[] data) {
            String value = data == null ? null : new String(data, StandardCharsets.UTF_8);
            if ("poison".equals(value)) {
                throw new SerializationException("poisoned value");
            }
            return value;
        }
    }

    @Test
    void deserializerFailureNamesPartitionAndOffsetAndASeekPastItContinues(TestInfo info) throws Exception {
        String topic = newTopic(info, 1);
        TopicPartition tp = new TopicPartition(topic, 0);
        produceValues(topic, 0, "a", "b", "poison", "c", "d");
        Map<String, Object> config = config(null);
        config.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, PoisonDeserializer.class.getName());
        try (LanesConsumer<String, String> consumer = new LanesConsumer<>(config)) {
            consumer.assign(Set.of(tp));
            List<String> before = new ArrayList<>();
            RecordDeserializationException error = null;
            long deadline = System.nanoTime() + POLL_DEADLINE.toNanos();
            while (error == null && System.nanoTime() < deadline) {
                try {
                    consumer.poll(Duration.ofMillis(200)).forEach(r -> before.add(r.value()));
                } catch (RecordDeserializationException e) {
                    error = e;
                }
            }
            assertThat(error).as("RecordDeserializationException from poll").isNotNull();
            assertThat(error.topicPartition()).isEqualTo(tp);
            assertThat(error.offset()).isEqualTo(2);
            assertThat(error.origin()).isEqualTo(RecordDeserializationException.DeserializationExceptionOrigin.VALUE);
            assertThat(before).containsExactly("a", "b");
            assertThat(consumer.position(tp)).isEqualTo(2);

            consumer.seek(tp, error.offset() + 1);
            List<ConsumerRecord<String, String>> after = pollAtLeast(consumer, 2);
            assertThat(after).extracting(ConsumerRecord::value).containsExactly("c", "d");
            assertThat(offsets(after)).isEqualTo(List.of(3L, 4L));
        }
    }

    // ---------------------------------------------------------------- wakeup and threads

    @Test
    void wakeupFromAnotherThreadEndsABlockedPollPromptly(TestInfo info) throws Exception {
        String topic = newTopic(info, 1);
        TopicPartition tp = new TopicPartition(topic, 0);
        try (LanesConsumer<String, String> consumer = new LanesConsumer<>(config(null))) {
            consumer.assign(Set.of(tp));
            CompletableFuture<Void> waker = CompletableFuture.runAsync(() -> {
                sleep(Duration.ofMillis(500));
                consumer.wakeup();
            });
            long started = System.nanoTime();
            assertThatThrownBy(() -> consumer.poll(Duration.ofSeconds(10))).isInstanceOf(WakeupException.class);
            long elapsedMs = (System.nanoTime() - started) / 1_000_000;
            assertThat(elapsedMs).as("poll(10 s) ended by wakeup").isLessThan(8_000);
            waker.get(5, TimeUnit.SECONDS);
            // The wakeup is consumed: the consumer keeps working.
            assertThat(consumer.poll(Duration.ofMillis(100))).isEmpty();
        }
    }

    @Test
    void secondThreadCallingTheConsumerDuringPollGetsConcurrentModificationException(TestInfo info) throws Exception {
        String topic = newTopic(info, 1);
        TopicPartition tp = new TopicPartition(topic, 0);
        try (LanesConsumer<String, String> consumer = new LanesConsumer<>(config(null))) {
            consumer.assign(Set.of(tp));
            CountDownLatch aboutToPoll = new CountDownLatch(1);
            CompletableFuture<ConsumerRecords<String, String>> threadA = CompletableFuture.supplyAsync(() -> {
                aboutToPoll.countDown();
                return consumer.poll(Duration.ofSeconds(3));
            });
            assertThat(aboutToPoll.await(5, TimeUnit.SECONDS)).isTrue();
            sleep(Duration.ofMillis(500)); // let thread A get inside poll; it stays there for seconds
            assertThatThrownBy(consumer::assignment).isInstanceOf(ConcurrentModificationException.class);
            assertThatThrownBy(() -> consumer.poll(Duration.ofMillis(10)))
                    .isInstanceOf(ConcurrentModificationException.class);
            assertThat(threadA.get(10, TimeUnit.SECONDS)).isEmpty();
            // Once thread A has left, this thread may use the consumer.
            assertThat(consumer.assignment()).containsExactly(tp);
        }
    }

    // ---------------------------------------------------------------- close

    @Test
    void everyCallAfterCloseThrowsIllegalStateAndCloseTwiceIsFine(TestInfo info) {
        String topic = newTopic(info, 1);
        TopicPartition tp = new TopicPartition(topic, 0);
        LanesConsumer<String, String> consumer = new LanesConsumer<>(config("group-" + topic));
        consumer.assign(Set.of(tp));
        consumer.poll(Duration.ofMillis(100));
        consumer.close();

        assertThatThrownBy(() -> consumer.poll(Duration.ofMillis(10))).isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(consumer::assignment).isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(() -> consumer.assign(Set.of(tp))).isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(() -> consumer.seek(tp, 0)).isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(() -> consumer.position(tp)).isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(consumer::commitSync).isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(() -> consumer.commitAsync()).isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(() -> consumer.committed(Set.of(tp))).isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(() -> consumer.endOffsets(Set.of(tp))).isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(() -> consumer.partitionsFor(topic)).isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(consumer::paused).isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(consumer::groupMetadata).isInstanceOf(IllegalStateException.class);
        assertThatCode(consumer::close).doesNotThrowAnyException();
        assertThatCode(() -> consumer.close(Duration.ofSeconds(1))).doesNotThrowAnyException();
    }

    // ---------------------------------------------------------------- bad configuration

    private static void assertConfigRejected(String key, Object value) {
        Map<String, Object> config = config(null);
        config.put(key, value);
        assertThatThrownBy(() -> new LanesConsumer<String, String>(config).close())
                .as("%s=%s", key, value)
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining(key);
    }

    @Test
    void nonNumericUserLaneCapacityIsRejectedNamingTheKey() {
        assertConfigRejected(LanesConsumerConfig.USER_LANE_CAPACITY_CONFIG, "abc");
    }

    @Test
    void zeroUserLaneCapacityIsRejectedNamingTheKey() {
        assertConfigRejected(LanesConsumerConfig.USER_LANE_CAPACITY_CONFIG, 0);
        assertConfigRejected(LanesConsumerConfig.USER_LANE_CAPACITY_CONFIG, "0");
    }

    @Test
    void negativeFetchBufferMaxBytesIsRejectedNamingTheKey() {
        assertConfigRejected(LanesConsumerConfig.FETCH_BUFFER_MAX_BYTES_CONFIG, -1);
        assertConfigRejected(LanesConsumerConfig.FETCH_BUFFER_MAX_BYTES_CONFIG, "-1");
    }

    @Test
    void unknownLanesSettingIsRejectedNamingTheKey() {
        assertConfigRejected("lanes.nope", "1");
    }

    @Test
    void invalidStandardSettingIsRejectedNamingTheKey() {
        assertConfigRejected(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "sideways");
    }

    // ---------------------------------------------------------------- not (yet) supported

    @Test
    void groupMetadataWithoutGroupIdThrowsInvalidGroupId(TestInfo info) {
        try (LanesConsumer<String, String> consumer = new LanesConsumer<>(config(null))) {
            assertThatThrownBy(consumer::groupMetadata).isInstanceOf(InvalidGroupIdException.class);
        }
        try (LanesConsumer<String, String> consumer = new LanesConsumer<>(config("group-metadata-" + info.getDisplayName()
                .replaceAll("[^A-Za-z0-9]", "")))) {
            assertThat(consumer.groupMetadata().groupId()).startsWith("group-metadata-");
        }
    }

    private static void sleep(Duration duration) {
        try {
            Thread.sleep(duration.toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }
}
