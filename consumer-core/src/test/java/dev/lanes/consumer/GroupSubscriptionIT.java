package dev.lanes.consumer;

import dev.lanes.consumer.testing.KafkaBroker;
import dev.lanes.consumer.testing.KafkaBrokerExtension;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.SubscriptionPattern;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.InvalidGroupIdException;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.BooleanSupplier;
import java.util.regex.Pattern;

import static dev.lanes.consumer.testing.TestConsumers.consumerConfig;
import static dev.lanes.consumer.testing.TestConsumers.produceToEveryPartition;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowable;

/** Subscriptions of a consumer group (KIP-848) against a real broker: patterns, unsubscribe, static members. */
class GroupSubscriptionIT {

    @RegisterExtension
    static final KafkaBrokerExtension BROKER = new KafkaBrokerExtension();

    private static Map<String, Object> config(String groupId) {
        return consumerConfig(BROKER.broker().bootstrapServers(), groupId, null);
    }

    private static LanesConsumer<String, String> consumer(Map<String, Object> config) {
        return new LanesConsumer<>(config, new StringDeserializer(), new StringDeserializer());
    }

    /** Polls until {@code done} or the timeout; returns the records seen, by topic. */
    private static Map<String, Integer> pollUntil(LanesConsumer<String, String> consumer, Map<String, Integer> counts,
                                                  BooleanSupplier done, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!done.getAsBoolean() && System.nanoTime() < deadline) {
            ConsumerRecords<String, String> records = consumer.poll(Duration.ofMillis(100));
            for (ConsumerRecord<String, String> record : records) {
                counts.merge(record.topic(), 1, Integer::sum);
            }
        }
        return counts;
    }

    private static void pollBoth(LanesConsumer<String, String> a, LanesConsumer<String, String> b, BooleanSupplier done,
                                 Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!done.getAsBoolean() && System.nanoTime() < deadline) {
            if (a != null) {
                a.poll(Duration.ofMillis(50));
            }
            if (b != null) {
                b.poll(Duration.ofMillis(50));
            }
        }
    }

    private static final class RecordingListener implements ConsumerRebalanceListener {
        final List<String> events = new CopyOnWriteArrayList<>();
        final List<Collection<TopicPartition>> revoked = new CopyOnWriteArrayList<>();
        final List<Thread> revokedOn = new CopyOnWriteArrayList<>();
        volatile long revokedAtNanos;

        @Override
        public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
            events.add("revoked " + partitions);
            revoked.add(Set.copyOf(partitions));
            revokedOn.add(Thread.currentThread());
            revokedAtNanos = System.nanoTime();
        }

        @Override
        public void onPartitionsAssigned(Collection<TopicPartition> partitions) {
            events.add("assigned " + partitions);
        }

        @Override
        public void onPartitionsLost(Collection<TopicPartition> partitions) {
            events.add("lost " + partitions);
        }
    }

    @Test
    void patternSubscriptionPicksUpATopicCreatedLater() {
        BROKER.broker().createTopic("pat-a", 1);
        BROKER.broker().produce("pat-a", 0, 10, 10);
        Map<String, Object> config = config("g-pattern");
        config.put(ConsumerConfig.METADATA_MAX_AGE_CONFIG, 1000);
        try (LanesConsumer<String, String> consumer = consumer(config)) {
            consumer.subscribe(Pattern.compile("pat-.*"));
            Map<String, Integer> counts = new HashMap<>();
            pollUntil(consumer, counts, () -> counts.getOrDefault("pat-a", 0) >= 10, Duration.ofSeconds(15));
            assertThat(counts).containsEntry("pat-a", 10);
            assertThat(consumer.subscription()).containsExactly("pat-a");

            long created = System.nanoTime();
            BROKER.broker().createTopic("pat-b", 1);
            BROKER.broker().produce("pat-b", 0, 7, 10);
            pollUntil(consumer, counts, () -> counts.getOrDefault("pat-b", 0) >= 7, Duration.ofSeconds(15));
            System.out.printf("pattern: pat-b records arrived %d ms after the topic was created%n",
                    (System.nanoTime() - created) / 1_000_000);
            assertThat(counts).containsEntry("pat-b", 7).containsEntry("pat-a", 10);
            assertThat(consumer.subscription()).containsExactlyInAnyOrder("pat-a", "pat-b");
            assertThat(consumer.assignment()).containsExactlyInAnyOrder(new TopicPartition("pat-a", 0),
                    new TopicPartition("pat-b", 0));
        }
    }

    @Test
    void brokerSidePatternSubscriptionConsumesMatchingTopics() {
        BROKER.broker().createTopic("srx-1", 2);
        produceToEveryPartition(BROKER.broker(), "srx-1", 2, 5, 10);
        BROKER.broker().createTopic("other-srx", 1);
        BROKER.broker().produce("other-srx", 0, 5, 10);
        try (LanesConsumer<String, String> consumer = consumer(config("g-srx"))) {
            consumer.subscribe(new SubscriptionPattern("srx-.*"));
            Map<String, Integer> counts = new HashMap<>();
            long started = System.nanoTime();
            Throwable error = catchThrowable(() ->
                    pollUntil(consumer, counts, () -> counts.getOrDefault("srx-1", 0) >= 10, Duration.ofSeconds(15)));
            System.out.printf("broker-side regex: error=%s counts=%s after %d ms%n", error, counts,
                    (System.nanoTime() - started) / 1_000_000);
            assertThat(error).isNull();
            assertThat(counts).isEqualTo(Map.of("srx-1", 10));
            assertThat(consumer.assignment()).containsExactlyInAnyOrder(new TopicPartition("srx-1", 0),
                    new TopicPartition("srx-1", 1));

            BROKER.broker().createTopic("srx-2", 1);
            BROKER.broker().produce("srx-2", 0, 3, 10);
            long created = System.nanoTime();
            pollUntil(consumer, counts, () -> counts.getOrDefault("srx-2", 0) >= 3, Duration.ofSeconds(20));
            System.out.printf("broker-side regex: srx-2 records arrived %d ms after creation (counts %s)%n",
                    (System.nanoTime() - created) / 1_000_000, counts);
            assertThat(counts).containsEntry("srx-2", 3);
        }
    }

    @Test
    void subscribeAndAssignAreMutuallyExclusive() {
        BROKER.broker().createTopic("excl", 1);
        try (LanesConsumer<String, String> consumer = consumer(config("g-excl"))) {
            consumer.subscribe(List.of("excl"));
            assertThatThrownBy(() -> consumer.assign(List.of(new TopicPartition("excl", 0))))
                    .isInstanceOf(IllegalStateException.class);
            assertThat(consumer.subscription()).containsExactly("excl");
        }
        try (LanesConsumer<String, String> consumer = consumer(config("g-excl"))) {
            consumer.assign(List.of(new TopicPartition("excl", 0)));
            assertThatThrownBy(() -> consumer.subscribe(List.of("excl"))).isInstanceOf(IllegalStateException.class);
            assertThatThrownBy(() -> consumer.subscribe(Pattern.compile("ex.*"))).isInstanceOf(IllegalStateException.class);
            assertThatThrownBy(() -> consumer.subscribe(new SubscriptionPattern("ex.*")))
                    .isInstanceOf(IllegalStateException.class);
            assertThat(consumer.assignment()).containsExactly(new TopicPartition("excl", 0));
        }
        try (LanesConsumer<String, String> consumer = consumer(config("g-excl"))) {
            consumer.subscribe(Pattern.compile("ex.*"));
            assertThatThrownBy(() -> consumer.subscribe(List.of("excl"))).isInstanceOf(IllegalStateException.class);
        }
    }

    @Test
    void subscribeWithoutGroupIdThrowsInvalidGroupIdException() {
        try (LanesConsumer<String, String> consumer = consumer(config(null))) {
            assertThatThrownBy(() -> consumer.subscribe(List.of("t"))).isInstanceOf(InvalidGroupIdException.class);
            assertThatThrownBy(() -> consumer.subscribe(Pattern.compile("t.*"))).isInstanceOf(InvalidGroupIdException.class);
            assertThatThrownBy(() -> consumer.subscribe(new SubscriptionPattern("t.*")))
                    .isInstanceOf(InvalidGroupIdException.class);
            assertThat(consumer.subscription()).isEmpty();
        }
    }

    @Test
    void groupMetadataHasMemberIdAndEpochOnceAssigned() {
        BROKER.broker().createTopic("gm", 2);
        try (LanesConsumer<String, String> consumer = consumer(config("g-gm"))) {
            consumer.subscribe(List.of("gm"));
            pollUntil(consumer, new HashMap<>(), () -> consumer.assignment().size() == 2, Duration.ofSeconds(15));
            assertThat(consumer.assignment()).hasSize(2);
            var metadata = consumer.groupMetadata();
            System.out.println("groupMetadata: " + metadata);
            assertThat(metadata.groupId()).isEqualTo("g-gm");
            assertThat(metadata.memberId()).isNotBlank();
            assertThat(metadata.generationId()).isPositive();
        }
    }

    @Test
    void unsubscribeLeavesTheGroupAndRevokesOnTheCallingThread() {
        BROKER.broker().createTopic("unsub", 4);
        RecordingListener first = new RecordingListener();
        try (LanesConsumer<String, String> a = consumer(config("g-unsub"));
             LanesConsumer<String, String> b = consumer(config("g-unsub"))) {
            a.subscribe(List.of("unsub"), first);
            pollBoth(a, null, () -> a.assignment().size() == 4, Duration.ofSeconds(15));
            assertThat(a.assignment()).hasSize(4);
            b.subscribe(List.of("unsub"));
            pollBoth(a, b, () -> a.assignment().size() == 2 && b.assignment().size() == 2, Duration.ofSeconds(20));
            assertThat(a.assignment()).hasSize(2);
            assertThat(b.assignment()).hasSize(2);
            Set<TopicPartition> owned = new HashSet<>(a.assignment());
            first.revoked.clear();
            first.revokedOn.clear();

            long started = System.nanoTime();
            a.unsubscribe();
            long unsubscribeMs = (System.nanoTime() - started) / 1_000_000;
            assertThat(first.revoked).as("onPartitionsRevoked ran before unsubscribe returned").containsExactly(owned);
            assertThat(first.revokedOn).containsOnly(Thread.currentThread());
            assertThat(a.subscription()).isEmpty();
            assertThat(a.assignment()).isEmpty();

            pollBoth(null, b, () -> b.assignment().size() == 4, Duration.ofSeconds(10));
            long takeoverMs = (System.nanoTime() - started) / 1_000_000;
            System.out.printf("unsubscribe took %d ms (onPartitionsRevoked ran after %d ms, i.e. after the commit; the rest "
                            + "is the leave heartbeat); the other member had all 4 partitions %d ms after it started; events %s%n",
                    unsubscribeMs, (first.revokedAtNanos - started) / 1_000_000, takeoverMs, first.events);
            assertThat(b.assignment()).hasSize(4);
            assertThat(takeoverMs).as("well under the 6 s session timeout").isLessThan(4_000);
            assertThat(a.subscription()).isEmpty();
            assertThat(a.assignment()).isEmpty();
        }
    }

    @Test
    void staticMemberGetsItsPartitionsBackAfterClose() {
        BROKER.broker().createTopic("static", 4);
        Map<String, Object> staticConfig = config("g-static");
        staticConfig.put(ConsumerConfig.GROUP_INSTANCE_ID_CONFIG, "instance-1");
        RecordingListener otherEvents = new RecordingListener();
        try (LanesConsumer<String, String> other = consumer(config("g-static"))) {
            other.subscribe(List.of("static"), otherEvents);
            Set<TopicPartition> before;
            try (LanesConsumer<String, String> first = consumer(staticConfig)) {
                first.subscribe(List.of("static"));
                pollBoth(first, other, () -> first.assignment().size() == 2 && other.assignment().size() == 2,
                        Duration.ofSeconds(20));
                assertThat(first.assignment()).hasSize(2);
                before = Set.copyOf(first.assignment());
                otherEvents.events.clear();
            }
            long closed = System.nanoTime();
            // the other member keeps polling while the static member is away
            pollBoth(null, other, () -> false, Duration.ofMillis(1500));
            Set<TopicPartition> otherWhileAway = Set.copyOf(other.assignment());
            try (LanesConsumer<String, String> second = consumer(staticConfig)) {
                second.subscribe(List.of("static"));
                pollBoth(second, other, () -> second.assignment().size() == 2 && other.assignment().size() == 2,
                        Duration.ofSeconds(20));
                System.out.printf("static member: before %s, after rejoin %s (%d ms after close); other member while away %s, "
                                + "its events since %s%n", before, second.assignment(), (System.nanoTime() - closed) / 1_000_000,
                        otherWhileAway, otherEvents.events);
                assertThat(second.assignment()).isEqualTo(before);
                assertThat(otherWhileAway).as("a static member's leave (epoch -2) does not hand its partitions out")
                        .hasSize(2);
            }
        }
    }

    @Test
    void subscriptionToATopicCreatedLaterGetsItAssigned() {
        Map<String, Object> config = config("g-late");
        config.put(ConsumerConfig.METADATA_MAX_AGE_CONFIG, 1000);
        config.put(ConsumerConfig.ALLOW_AUTO_CREATE_TOPICS_CONFIG, false); // the test creates it, later
        try (LanesConsumer<String, String> consumer = consumer(config)) {
            consumer.subscribe(List.of("late-topic"));
            Map<String, Integer> counts = new HashMap<>();
            pollUntil(consumer, counts, () -> false, Duration.ofMillis(1500));
            assertThat(consumer.assignment()).isEmpty();
            long created = System.nanoTime();
            BROKER.broker().createTopic("late-topic", 2);
            BROKER.broker().produce("late-topic", 1, 4, 10);
            pollUntil(consumer, counts, () -> counts.getOrDefault("late-topic", 0) >= 4, Duration.ofSeconds(15));
            System.out.printf("late topic: records %d ms after creation%n", (System.nanoTime() - created) / 1_000_000);
            assertThat(counts).containsEntry("late-topic", 4);
            assertThat(consumer.assignment()).containsExactlyInAnyOrder(new TopicPartition("late-topic", 0),
                    new TopicPartition("late-topic", 1));
        }
    }

    @Test
    void brokerLimitedToTheClassicProtocolFailsPollWithAClearMessage() {
        try (KafkaBroker classic = KafkaBroker.builder()
                .serverProperty("group.coordinator.rebalance.protocols", "classic").start()) {
            classic.createTopic("classic-only", 1);
            Map<String, Object> config = config("g-classic");
            config.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, classic.bootstrapServers());
            try (LanesConsumer<String, String> consumer = consumer(config)) {
                consumer.subscribe(List.of("classic-only"));
                long started = System.nanoTime();
                Throwable error = null;
                while (error == null && System.nanoTime() - started < 20_000_000_000L) {
                    error = catchThrowable(() -> consumer.poll(Duration.ofMillis(200)));
                }
                long elapsedMs = (System.nanoTime() - started) / 1_000_000;
                System.out.printf("classic broker: poll threw after %d ms: %s%n", elapsedMs, error);
                assertThat(error).isNotNull();
                assertThat(error.getMessage()).contains("group.protocol=consumer");
                assertThat(elapsedMs).isLessThan(5_000);
                List<Throwable> later = new ArrayList<>();
                for (int i = 0; i < 3; i++) {
                    later.add(catchThrowable(() -> consumer.poll(Duration.ofMillis(100))));
                }
                System.out.println("classic broker: later polls threw " + later);
                assertThat(later).allSatisfy(e -> assertThat(e).isNotNull().hasMessageContaining("group.protocol=consumer"));
            }
        }
    }
}
