package dev.lanes.sample.load;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.context.SmartLifecycle;
import org.springframework.stereotype.Component;

import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Produces {@code sample.load.records-per-second} records to the sample topic, spread over ten ticks a
 * second, and creates the topic first. Starts before the listener containers and stops after them.
 */
@Component
public class LoadGenerator implements SmartLifecycle {

    private static final Logger log = LoggerFactory.getLogger(LoadGenerator.class);
    private static final int TICKS_PER_SECOND = 10;

    private final LoadProperties load;
    private final String bootstrapServers;
    private final AtomicLong produced = new AtomicLong();
    private ScheduledExecutorService ticker;
    private KafkaProducer<String, byte[]> producer;
    private volatile boolean running;

    public LoadGenerator(LoadProperties load, @Value("${lanes.consumer.bootstrap-servers}") String bootstrapServers) {
        this.load = load;
        this.bootstrapServers = bootstrapServers;
    }

    @Override
    public void start() {
        createTopic();
        if (!load.enabled() || load.recordsPerSecond() == 0) {
            running = true;
            return;
        }
        producer = new KafkaProducer<>(Map.of(
                ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers,
                ProducerConfig.CLIENT_ID_CONFIG, "lanes-sample-load",
                ProducerConfig.LINGER_MS_CONFIG, 5,
                ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class,
                ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class));
        byte[] payload = new byte[load.payloadBytes()];
        Arrays.fill(payload, (byte) 'x');
        int perTick = Math.max(1, load.recordsPerSecond() / TICKS_PER_SECOND);
        ticker = Executors.newSingleThreadScheduledExecutor(runnable -> {
            Thread thread = new Thread(runnable, "lanes-sample-load");
            thread.setDaemon(true);
            return thread;
        });
        ticker.scheduleAtFixedRate(() -> produce(perTick, payload), 0, 1000 / TICKS_PER_SECOND, TimeUnit.MILLISECONDS);
        running = true;
        log.info("Producing {} records/s of {} bytes to {}", load.recordsPerSecond(), load.payloadBytes(), load.topic());
    }

    private void produce(int count, byte[] payload) {
        try {
            for (int i = 0; i < count; i++) {
                long n = produced.incrementAndGet();
                producer.send(new ProducerRecord<>(load.topic(), "key-" + (n % 1000), payload));
            }
        } catch (RuntimeException e) {
            log.warn("Producing the sample load failed: {}", e.toString());
        }
    }

    private void createTopic() {
        try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers))) {
            admin.createTopics(List.of(new NewTopic(load.topic(), load.partitions(), (short) 1))).all().get(30, TimeUnit.SECONDS);
            log.info("Created topic {} with {} partitions", load.topic(), load.partitions());
        } catch (ExecutionException e) {
            if (!(e.getCause() instanceof TopicExistsException)) {
                throw new IllegalStateException("Cannot create the sample topic " + load.topic(), e.getCause());
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("Interrupted while creating the sample topic", e);
        } catch (java.util.concurrent.TimeoutException e) {
            throw new IllegalStateException("The broker at " + bootstrapServers + " did not create topic " + load.topic()
                    + " within 30 s", e);
        }
    }

    @Override
    public void stop() {
        running = false;
        if (ticker != null) {
            ticker.shutdownNow();
        }
        if (producer != null) {
            producer.close(java.time.Duration.ofSeconds(5));
        }
    }

    @Override
    public boolean isRunning() {
        return running;
    }

    /** Starts before the listener containers (which use the default phase) and stops after them. */
    @Override
    public int getPhase() {
        return Integer.MIN_VALUE + 1000;
    }

    /** Records handed to the producer so far. */
    public long produced() {
        return produced.get();
    }

}
