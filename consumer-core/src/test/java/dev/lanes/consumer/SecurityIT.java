package dev.lanes.consumer;

import dev.lanes.consumer.testing.KafkaBroker;
import dev.lanes.consumer.testing.KafkaBrokerExtension;
import dev.lanes.consumer.testing.SelfSignedCertificate;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.Metric;
import org.apache.kafka.common.MetricName;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.errors.SaslAuthenticationException;
import org.apache.kafka.common.errors.SslAuthenticationException;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

/**
 * The SSL and SASL settings reach the network layer: a consumer with the right credentials (or the right
 * truststore) consumes over a secured listener, and one with the wrong ones gets the authentication
 * failure promptly instead of retrying silently until its deadline, without hammering the broker.
 */
class SecurityIT {

    private static final Logger log = LoggerFactory.getLogger(SecurityIT.class);

    @RegisterExtension
    static final KafkaBrokerExtension BROKER = new KafkaBrokerExtension(KafkaBroker.builder().withSaslPlain().withSsl());

    private static final String TOPIC = "secured";
    private static final int RECORDS = 20;
    /** How soon an authentication failure must surface; the settings below would allow far longer. */
    private static final Duration PROMPTLY = Duration.ofSeconds(15);
    private static final AtomicInteger IDS = new AtomicInteger();

    @BeforeAll
    static void produce() {
        BROKER.broker().createTopic(TOPIC, 1);
        BROKER.broker().produce(TOPIC, 0, RECORDS, 16);
    }

    private static Map<String, Object> config(Map<String, Object> security) {
        Map<String, Object> config = new HashMap<>(security);
        config.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        config.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        config.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        config.put(ConsumerConfig.CLIENT_ID_CONFIG, "security-" + IDS.incrementAndGet());
        // Long enough that a failure seen within PROMPTLY was surfaced, not timed out.
        config.put(ConsumerConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 60_000);
        config.put(ConsumerConfig.REQUEST_TIMEOUT_MS_CONFIG, 30_000);
        return config;
    }

    @Test
    void saslPlainWithTheRightPasswordConsumes() {
        try (LanesConsumer<String, String> consumer = new LanesConsumer<>(config(
                BROKER.broker().saslClientConfig("alice", KafkaBroker.SASL_USERS.get("alice"))))) {
            assertConsumesEverything(consumer);
        }
    }

    @Test
    void saslPlainWithAWrongPasswordFailsPromptlyWithoutAReconnectStorm() {
        try (LanesConsumer<String, String> consumer = new LanesConsumer<>(config(
                BROKER.broker().saslClientConfig("alice", "not-alice-secret")))) {
            TopicPartition partition = new TopicPartition(TOPIC, 0);
            consumer.assign(List.of(partition));

            long started = System.nanoTime();
            RuntimeException failure = pollUntilFailure(consumer);
            long elapsedMs = (System.nanoTime() - started) / 1_000_000;
            log.info("SASL wrong password: poll failed after {} ms with {}", elapsedMs, failure.toString());
            assertCausedBy(failure, SaslAuthenticationException.class);
            assertThat(elapsedMs).isLessThan(PROMPTLY.toMillis());

            assertNoReconnectStorm(consumer, "SASL wrong password");
        }
    }

    @Test
    void saslPlainWithAWrongPasswordFailsLookupsPromptly() {
        try (LanesConsumer<String, String> consumer = new LanesConsumer<>(config(
                BROKER.broker().saslClientConfig("alice", "not-alice-secret")))) {
            assertLookupsFailPromptly(consumer, SaslAuthenticationException.class);
        }
    }

    @Test
    void sslWithTheBrokersTruststoreConsumes() {
        try (LanesConsumer<String, String> consumer = new LanesConsumer<>(config(BROKER.broker().sslClientConfig()))) {
            assertConsumesEverything(consumer);
        }
    }

    @Test
    void sslWithAnotherCertificatesTruststoreFailsPromptly(@TempDir Path dir) {
        SelfSignedCertificate other = SelfSignedCertificate.generate(dir, "other");
        try (LanesConsumer<String, String> consumer = new LanesConsumer<>(config(SelfSignedCertificate.clientConfig(
                BROKER.broker().sslBootstrapServers(), other.truststore(), other.password())))) {
            TopicPartition partition = new TopicPartition(TOPIC, 0);
            consumer.assign(List.of(partition));

            long started = System.nanoTime();
            RuntimeException failure = pollUntilFailure(consumer);
            long elapsedMs = (System.nanoTime() - started) / 1_000_000;
            log.info("SSL untrusted certificate: poll failed after {} ms with {}", elapsedMs, failure.toString());
            assertCausedBy(failure, SslAuthenticationException.class);
            assertThat(elapsedMs).isLessThan(PROMPTLY.toMillis());

            assertNoReconnectStorm(consumer, "SSL untrusted certificate");
        }
    }

    @Test
    void sslWithAnotherCertificatesTruststoreFailsLookupsPromptly(@TempDir Path dir) {
        SelfSignedCertificate other = SelfSignedCertificate.generate(dir, "other");
        try (LanesConsumer<String, String> consumer = new LanesConsumer<>(config(SelfSignedCertificate.clientConfig(
                BROKER.broker().sslBootstrapServers(), other.truststore(), other.password())))) {
            assertLookupsFailPromptly(consumer, SslAuthenticationException.class);
        }
    }

    /** endOffsets and partitionsFor (no poll before them) throw the authentication failure well before their deadline. */
    private static void assertLookupsFailPromptly(LanesConsumer<String, String> consumer, Class<? extends Throwable> type) {
        TopicPartition partition = new TopicPartition(TOPIC, 0);
        consumer.assign(List.of(partition));
        long started = System.nanoTime();
        RuntimeException endOffsetsFailure = lookupFailure(consumer, partition);
        long endOffsetsMs = (System.nanoTime() - started) / 1_000_000;
        log.info("{}: endOffsets failed after {} ms with {}", type.getSimpleName(), endOffsetsMs, endOffsetsFailure.toString());
        started = System.nanoTime();
        RuntimeException partitionsForFailure;
        try {
            partitionsForFailure = fail("partitionsFor succeeded without authentication: "
                    + consumer.partitionsFor(TOPIC, PROMPTLY));
        } catch (RuntimeException e) {
            partitionsForFailure = e;
        }
        long partitionsForMs = (System.nanoTime() - started) / 1_000_000;
        log.info("{}: partitionsFor failed after {} ms with {}", type.getSimpleName(), partitionsForMs,
                partitionsForFailure.toString());
        assertCausedBy(endOffsetsFailure, type);
        assertThat(endOffsetsMs).isLessThan(PROMPTLY.toMillis() - 1000);
        assertCausedBy(partitionsForFailure, type);
        assertThat(partitionsForMs).isLessThan(PROMPTLY.toMillis() - 1000);
    }

    private static void assertConsumesEverything(LanesConsumer<String, String> consumer) {
        consumer.assign(List.of(new TopicPartition(TOPIC, 0)));
        List<ConsumerRecord<String, String>> records = new ArrayList<>();
        long deadline = System.nanoTime() + PROMPTLY.toNanos();
        while (records.size() < RECORDS && System.nanoTime() < deadline) {
            consumer.poll(Duration.ofMillis(200)).forEach(records::add);
        }
        assertThat(records).hasSize(RECORDS);
        for (int i = 0; i < RECORDS; i++) {
            assertThat(records.get(i).offset()).isEqualTo(i);
            assertThat(records.get(i).key()).isEqualTo(new String(KafkaBroker.key(i), StandardCharsets.US_ASCII));
        }
    }

    /** Polls until poll throws; fails (with the time waited) if it has not by {@link #PROMPTLY} plus a margin. */
    private static RuntimeException pollUntilFailure(LanesConsumer<String, String> consumer) {
        long deadline = System.nanoTime() + PROMPTLY.toNanos() + Duration.ofSeconds(5).toNanos();
        int records = 0;
        while (System.nanoTime() < deadline) {
            try {
                records += consumer.poll(Duration.ofMillis(200)).count();
            } catch (RuntimeException e) {
                assertThat(records).as("records consumed before the authentication failure").isZero();
                return e;
            }
        }
        return fail("poll did not surface the authentication failure within " + PROMPTLY.plusSeconds(5)
                + " (records: " + records + ", connection-creation-total: "
                + connectionMetric(consumer, "connection-creation-total") + ", failed-authentication-total: "
                + connectionMetric(consumer, "failed-authentication-total") + ")");
    }

    private static RuntimeException lookupFailure(LanesConsumer<String, String> consumer, TopicPartition partition) {
        try {
            Map<TopicPartition, Long> ends = consumer.endOffsets(List.of(partition), PROMPTLY);
            return fail("endOffsets succeeded without authentication: " + ends);
        } catch (RuntimeException e) {
            return e;
        }
    }

    /**
     * Keeps polling for about three seconds (as an application would) and counts the connections the
     * consumer opened meanwhile: the reconnect back-off (50 ms doubling to 1 s) allows a handful, not a storm.
     */
    private static void assertNoReconnectStorm(LanesConsumer<String, String> consumer, String what) {
        double connectionsBefore = connectionMetric(consumer, "connection-creation-total");
        double failuresBefore = connectionMetric(consumer, "failed-authentication-total");
        long end = System.nanoTime() + Duration.ofSeconds(3).toNanos();
        int failedPolls = 0;
        int polls = 0;
        while (System.nanoTime() < end) {
            polls++;
            try {
                consumer.poll(Duration.ofMillis(100));
            } catch (KafkaException e) {
                failedPolls++;
                // An application that keeps polling after a failure; pace it as poll(100 ms) would.
                sleep(Duration.ofMillis(100));
            }
        }
        double connections = connectionMetric(consumer, "connection-creation-total") - connectionsBefore;
        double failures = connectionMetric(consumer, "failed-authentication-total") - failuresBefore;
        log.info("{}: over 3 s of polling ({} polls, {} threw): {} connections created, {} failed authentications",
                what, polls, failedPolls, connections, failures);
        assertThat(connections).as("connections created in 3 s").isLessThanOrEqualTo(15);
    }

    private static double connectionMetric(LanesConsumer<?, ?> consumer, String name) {
        for (Map.Entry<MetricName, ? extends Metric> entry : consumer.metrics().entrySet()) {
            if (entry.getKey().name().equals(name) && entry.getKey().group().equals("consumer-metrics")) {
                return ((Number) entry.getValue().metricValue()).doubleValue();
            }
        }
        return Double.NaN;
    }

    private static void assertCausedBy(Throwable failure, Class<? extends Throwable> type) {
        for (Throwable t = failure; t != null; t = t.getCause()) {
            if (type.isInstance(t)) {
                return;
            }
        }
        throw new AssertionError("Expected " + type.getSimpleName() + " (or an exception caused by one), got " + failure, failure);
    }

    private static void sleep(Duration duration) {
        try {
            Thread.sleep(duration.toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
