package dev.lanes.consumer;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import dev.lanes.consumer.testing.KafkaBroker;
import dev.lanes.consumer.testing.KafkaBrokerExtension;
import dev.lanes.consumer.testing.TcpProxy;
import org.apache.kafka.clients.admin.ConsumerGroupDescription;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.GroupState;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.GroupIdNotFoundException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

import static dev.lanes.consumer.testing.TestConsumers.pollRecords;
import static dev.lanes.consumer.testing.TestConsumers.produceToEveryPartition;
import static dev.lanes.consumer.testing.TestConsumers.sleep;
import static dev.lanes.consumer.testing.TestConsumers.stringConsumerConfig;
import static dev.lanes.consumer.testing.TestConsumers.waitUntil;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Issue 7, shutdown: closing group members in the middle of a rebalance, closing with the broker
 * unreachable, and re-subscribing while another member is in the group. Each close must return by
 * its deadline (checked with generous slack), let no exception escape, and (broker down) log what it
 * discarded.
 */
class ShutdownIT {

    @RegisterExtension
    static final KafkaBrokerExtension BROKER = new KafkaBrokerExtension(KafkaBroker.builder().behindProxy());

    private static final AtomicInteger IDS = new AtomicInteger();
    /** Slack on top of a close deadline: a loaded CI machine, GC, thread scheduling. */
    private static final long SLACK_MS = 2_000;

    @AfterEach
    void restoreProxy() {
        BROKER.broker().proxy().restore();
    }

    private static String unique(String prefix) {
        return prefix + "-" + IDS.incrementAndGet();
    }

    private static long millisSince(long startNanos) {
        return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNanos);
    }

    /** The group as the broker describes it, or null when the broker no longer knows it. */
    private static ConsumerGroupDescription describe(String group) {
        try {
            return BROKER.broker().admin().describeConsumerGroups(List.of(group)).all().get(10, TimeUnit.SECONDS).get(group);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof GroupIdNotFoundException) {
                return null;
            }
            throw new IllegalStateException(e);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    private static boolean groupIsEmpty(String group) {
        ConsumerGroupDescription description = describe(group);
        return description == null
                || (description.members().isEmpty()
                && (description.groupState() == GroupState.EMPTY || description.groupState() == GroupState.DEAD));
    }

    // ------------------------------------------------------------------ (a) close during a rebalance

    /**
     * Member A is stable; member B subscribes and, after {@code bPollsBeforeClose} short polls (so while it
     * is still joining or reconciling), both are closed at once, each on its own thread.
     */
    @ParameterizedTest(name = "B closed after {0} polls")
    @ValueSource(ints = {0, 1, 3})
    void membersClosedConcurrentlyWhileOneIsJoiningReturnByTheirDeadlineAndLeaveTheGroupEmpty(int bPollsBeforeClose)
            throws Exception {
        KafkaBroker broker = BROKER.broker();
        String topic = unique("rebalance-close");
        String group = topic + "-group";
        broker.createTopic(topic, 4);
        produceToEveryPartition(broker, topic, 4, 20, 30);
        CountDownLatch aStable = new CountDownLatch(1);
        CountDownLatch closeNow = new CountDownLatch(1);
        AtomicReference<Throwable> aFailure = new AtomicReference<>();
        AtomicReference<Throwable> bFailure = new AtomicReference<>();
        AtomicLong aCloseMs = new AtomicLong(-1);
        AtomicLong bCloseMs = new AtomicLong(-1);
        AtomicReference<String> bStateAtClose = new AtomicReference<>();

        Thread a = new Thread(() -> {
            LanesConsumer<String, String> consumer = null;
            try {
                consumer = new LanesConsumer<>(stringConsumerConfig(broker.bootstrapServers(), group, group + "-a"));
                consumer.subscribe(List.of(topic));
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
                while (consumer.assignment().size() < 4 && System.nanoTime() < deadline) {
                    consumer.poll(Duration.ofMillis(100));
                }
                aStable.countDown();
                while (!closeNow.await(0, TimeUnit.MILLISECONDS)) {
                    consumer.poll(Duration.ofMillis(50));
                }
            } catch (Throwable t) {
                aFailure.compareAndSet(null, t);
            } finally {
                aStable.countDown();
                if (consumer != null) {
                    long start = System.nanoTime();
                    try {
                        consumer.close(Duration.ofSeconds(3));
                    } catch (Throwable t) {
                        aFailure.compareAndSet(null, t);
                    }
                    aCloseMs.set(millisSince(start));
                }
            }
        }, "shutdown-it-member-a");
        a.start();
        assertThat(aStable.await(30, TimeUnit.SECONDS)).isTrue();

        Thread b = new Thread(() -> {
            LanesConsumer<String, String> consumer = null;
            try {
                consumer = new LanesConsumer<>(stringConsumerConfig(broker.bootstrapServers(), group, group + "-b"));
                consumer.subscribe(List.of(topic));
                for (int i = 0; i < bPollsBeforeClose; i++) {
                    consumer.poll(Duration.ofMillis(50));
                }
                bStateAtClose.set(consumer.memberState() + " " + consumer.assignment());
            } catch (Throwable t) {
                bFailure.compareAndSet(null, t);
            } finally {
                closeNow.countDown(); // A closes at the same moment
                if (consumer != null) {
                    long start = System.nanoTime();
                    try {
                        consumer.close(Duration.ofSeconds(3));
                    } catch (Throwable t) {
                        bFailure.compareAndSet(null, t);
                    }
                    bCloseMs.set(millisSince(start));
                }
            }
        }, "shutdown-it-member-b");
        b.start();

        a.join(TimeUnit.SECONDS.toMillis(30));
        b.join(TimeUnit.SECONDS.toMillis(30));
        assertThat(a.isAlive()).as("member A's thread still running").isFalse();
        assertThat(b.isAlive()).as("member B's thread still running").isFalse();
        long emptyStart = System.nanoTime();
        waitUntil(Duration.ofSeconds(10), () -> groupIsEmpty(group), "group " + group + " to be empty, last: " + describe(group));
        System.out.printf("[ShutdownIT] close during rebalance (B after %d polls, B was %s): A close %d ms, B close %d ms,"
                        + " group empty %d ms after both returned%n",
                bPollsBeforeClose, bStateAtClose.get(), aCloseMs.get(), bCloseMs.get(), millisSince(emptyStart));
        assertThat(aFailure.get()).as("exception in member A").isNull();
        assertThat(bFailure.get()).as("exception in member B").isNull();
        assertThat(aCloseMs.get()).isBetween(0L, 3_000 + SLACK_MS);
        assertThat(bCloseMs.get()).isBetween(0L, 3_000 + SLACK_MS);
    }

    // ------------------------------------------------------------------ (b) close with the broker down

    @ParameterizedTest(name = "auto-commit {0}")
    @ValueSource(booleans = {true, false})
    void closeWithTheBrokerUnreachableReturnsByItsDeadlineAndLogsWhatItDiscarded(boolean autoCommit) {
        KafkaBroker broker = BROKER.broker();
        String topic = unique("broker-down");
        String group = topic + "-group";
        broker.createTopic(topic, 2);
        produceToEveryPartition(broker, topic, 2, 30, 40);

        Logger networkLogger = (Logger) LoggerFactory.getLogger("dev.lanes.consumer.internals.background.NetworkThread");
        Level previousLevel = networkLogger.getLevel();
        ListAppender<ILoggingEvent> appender = new ListAppender<>();
        appender.start();
        networkLogger.addAppender(appender);
        networkLogger.setLevel(Level.DEBUG);
        String clientId = group + "-client";
        try {
            Map<String, Object> config = stringConsumerConfig(broker.proxiedBootstrapServers(), group, clientId);
            config.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, autoCommit);
            config.put(ConsumerConfig.AUTO_COMMIT_INTERVAL_MS_CONFIG, 60_000); // so close owes a commit
            LanesConsumer<String, String> consumer = new LanesConsumer<>(config);
            List<Exception> commitCallbackErrors = new java.util.concurrent.CopyOnWriteArrayList<>();
            long closeMs;
            try {
                consumer.subscribe(List.of(topic));
                assertThat(pollRecords(consumer, 60, Duration.ofSeconds(20))).hasSize(60);
                broker.proxy().cut(TcpProxy.Cut.BLACKHOLE);
                // One poll after the cut: fetches and a heartbeat go out into the void; so does an async commit.
                consumer.commitAsync((offsets, exception) -> commitCallbackErrors.add(exception));
                consumer.poll(Duration.ofMillis(600));
            } finally {
                long start = System.nanoTime();
                consumer.close(Duration.ofSeconds(2));
                closeMs = millisSince(start);
            }
            boolean loggedBeforeCloseReturned = discardLines(appender).size() > 0;
            // The background thread may finish its shutdown (and log) just after close returned: when the
            // commit owed on close used the whole budget, close only waits 1 ms for the thread (see report).
            long waitStart = System.nanoTime();
            while (discardLines(appender).isEmpty() && millisSince(waitStart) < SLACK_MS) {
                sleep(20);
            }
            List<String> discardLines = discardLines(appender);
            System.out.printf("[ShutdownIT] close(2 s) with the broker blackholed, auto-commit %s, took %d ms; discard line logged %s: %s%n",
                    autoCommit, closeMs, loggedBeforeCloseReturned ? "before close returned" : "after close returned", discardLines);
            assertThat(closeMs).isLessThan(2_000 + SLACK_MS);
            // close runs every commit callback (R11). The commit failed (the connection was lost) or close cut it
            // short: either way a retriable failure, as KafkaConsumer reports a commit whose coordinator it lost.
            assertThat(commitCallbackErrors).singleElement()
                    .isInstanceOf(org.apache.kafka.clients.consumer.RetriableCommitFailedException.class);
            assertThat(discardLines).as("NetworkThread log lines: %s", lines(appender)).isNotEmpty();
            assertThat(discardLines).anyMatch(l -> l.matches(".*discarded [1-9][0-9]* requests.*"));
            assertThat(discardLines).anyMatch(l -> l.contains(clientId));
        } finally {
            networkLogger.detachAppender(appender);
            networkLogger.setLevel(previousLevel);
        }
    }

    private static List<String> lines(ListAppender<ILoggingEvent> appender) {
        synchronized (appender) { // AppenderBase.doAppend appends under the appender's lock
            return appender.list.stream().map(ILoggingEvent::getFormattedMessage).toList();
        }
    }

    private static List<String> discardLines(ListAppender<ILoggingEvent> appender) {
        return lines(appender).stream().filter(l -> l.contains("discarded")).toList();
    }

    // ------------------------------------------------------------------ (c) subscribe / unsubscribe / subscribe

    @Test
    void resubscribingWhileAnotherMemberIsInTheGroupKeepsBothMembersConsuming() throws Exception {
        KafkaBroker broker = BROKER.broker();
        String topic = unique("resubscribe");
        String group = topic + "-group";
        int partitions = 4;
        broker.createTopic(topic, partitions);

        Map<String, Integer> consumedByA = new ConcurrentHashMap<>();
        AtomicBoolean running = new AtomicBoolean(true);
        AtomicReference<Throwable> aFailure = new AtomicReference<>();
        AtomicReference<LanesConsumer<String, String>> aRef = new AtomicReference<>();
        CountDownLatch aCreated = new CountDownLatch(1);
        Thread a = new Thread(() -> {
            try (LanesConsumer<String, String> consumer = new LanesConsumer<>(stringConsumerConfig(broker.bootstrapServers(), group, group + "-a"))) {
                aRef.set(consumer);
                consumer.subscribe(List.of(topic));
                aCreated.countDown();
                while (running.get()) {
                    for (ConsumerRecord<String, String> record : consumer.poll(Duration.ofMillis(100))) {
                        consumedByA.merge(record.partition() + "-" + record.offset(), 1, Integer::sum);
                    }
                }
            } catch (Throwable t) {
                aFailure.compareAndSet(null, t);
            } finally {
                aCreated.countDown();
            }
        }, "shutdown-it-resubscribe-a");
        a.start();
        assertThat(aCreated.await(30, TimeUnit.SECONDS)).isTrue();
        LanesConsumer<String, String> memberA = aRef.get();
        assertThat(memberA).isNotNull();
        waitUntil(Duration.ofSeconds(20), () -> memberA.assignmentSnapshot().size() == partitions, "A to own every partition");

        Map<String, Integer> consumedByB = new HashMap<>();
        try (LanesConsumer<String, String> b = new LanesConsumer<>(stringConsumerConfig(broker.bootstrapServers(), group, group + "-b"))) {
            Runnable pollB = () -> b.poll(Duration.ofMillis(100)).forEach(r -> consumedByB.merge(r.partition() + "-" + r.offset(), 1, Integer::sum));
            int cycles = 3;
            for (int cycle = 0; cycle < cycles; cycle++) {
                b.subscribe(List.of(topic));
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
                while (b.assignment().isEmpty() && System.nanoTime() < deadline) {
                    pollB.run();
                }
                assertThat(b.assignment()).as("B's assignment in cycle %d", cycle).isNotEmpty();
                b.unsubscribe();
                assertThat(b.assignment()).isEmpty();
                assertThat(b.subscription()).isEmpty();
            }
            b.subscribe(List.of(topic));
            // Settled: A and B split the partitions between them, nothing owned twice.
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
            while (System.nanoTime() < deadline) {
                pollB.run();
                Set<TopicPartition> ownedByA = memberA.assignmentSnapshot();
                Set<TopicPartition> ownedByB = b.assignment();
                Set<TopicPartition> union = new HashSet<>(ownedByA);
                union.addAll(ownedByB);
                if (!ownedByA.isEmpty() && !ownedByB.isEmpty() && union.size() == partitions
                        && ownedByA.size() + ownedByB.size() == partitions) {
                    break;
                }
            }
            Set<TopicPartition> ownedByA = memberA.assignmentSnapshot();
            Set<TopicPartition> ownedByB = b.assignment();
            assertThat(ownedByA).isNotEmpty();
            assertThat(ownedByB).isNotEmpty().doesNotContainAnyElementsOf(ownedByA);

            int perPartition = 10;
            produceToEveryPartition(broker, topic, partitions, perPartition, 20);
            int total = partitions * perPartition;
            long consumeDeadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
            while (consumedByA.size() + consumedByB.size() < total && System.nanoTime() < consumeDeadline) {
                pollB.run();
            }
            System.out.printf("[ShutdownIT] resubscribe: A owns %s and consumed %d, B owns %s and consumed %d, of %d%n",
                    ownedByA, consumedByA.size(), ownedByB, consumedByB.size(), total);
            assertThat(consumedByA).as("records consumed by A").isNotEmpty();
            assertThat(consumedByB).as("records consumed by B").isNotEmpty();
            Set<String> all = new HashSet<>(consumedByA.keySet());
            all.addAll(consumedByB.keySet());
            assertThat(all).hasSize(total); // every partition-offset seen
            assertThat(consumedByA.values().stream().mapToInt(Integer::intValue).sum()
                    + consumedByB.values().stream().mapToInt(Integer::intValue).sum()).isEqualTo(total);
        } finally {
            running.set(false);
            a.join(TimeUnit.SECONDS.toMillis(40));
        }
        assertThat(aFailure.get()).as("exception in member A").isNull();
    }
}
