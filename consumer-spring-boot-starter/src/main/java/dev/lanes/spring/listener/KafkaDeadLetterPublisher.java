package dev.lanes.spring.listener;

import dev.lanes.spring.DeadLetterPublisher;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.springframework.beans.factory.DisposableBean;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Supplier;

/**
 * Publishes dead letters with a {@code KafkaProducer<byte[], byte[]>} (created on first use) to
 * {@code <topic><suffix>}, waiting for the broker's acknowledgement.
 */
public class KafkaDeadLetterPublisher implements DeadLetterPublisher, DisposableBean {

    private static final Duration SEND_TIMEOUT = Duration.ofSeconds(30);

    private final Supplier<Producer<byte[], byte[]>> producerSupplier;
    private final String topicSuffix;
    private volatile Producer<byte[], byte[]> producer;

    public KafkaDeadLetterPublisher(Map<String, Object> producerConfig, String topicSuffix) {
        this(() -> new KafkaProducer<>(withSerializers(producerConfig)), topicSuffix);
    }

    public KafkaDeadLetterPublisher(Supplier<Producer<byte[], byte[]>> producerSupplier, String topicSuffix) {
        this.producerSupplier = producerSupplier;
        this.topicSuffix = topicSuffix == null ? ".DLT" : topicSuffix;
    }

    /**
     * The producer settings for a consumer configuration: its bootstrap servers, its security settings
     * ({@code security.*}, {@code sasl.*}, {@code ssl.*}) and {@code client.dns.lookup}.
     */
    public static Map<String, Object> producerConfig(Map<String, Object> consumerConfig) {
        Map<String, Object> config = new HashMap<>();
        consumerConfig.forEach((key, value) -> {
            if (key.equals(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG) || key.startsWith("security.")
                    || key.startsWith("sasl.") || key.startsWith("ssl.") || key.equals("client.dns.lookup")) {
                config.put(key, value);
            }
        });
        Object clientId = consumerConfig.get(ProducerConfig.CLIENT_ID_CONFIG);
        config.put(ProducerConfig.CLIENT_ID_CONFIG, (clientId == null ? "lanes" : clientId) + "-dead-letter");
        config.put(ProducerConfig.ACKS_CONFIG, "all");
        return config;
    }

    private static Map<String, Object> withSerializers(Map<String, Object> config) {
        Map<String, Object> all = new HashMap<>(config);
        all.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class);
        all.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class);
        return all;
    }

    @Override
    public String deadLetterTopic(String topic) {
        return topic + topicSuffix;
    }

    public String topicSuffix() {
        return topicSuffix;
    }

    @Override
    public void publish(String originalTopic, int originalPartition, long originalOffset, byte[] key, byte[] value,
                        Headers headers, Throwable failure) {
        RecordHeaders out = new RecordHeaders();
        if (headers != null) {
            for (Header header : headers) {
                out.add(header.key(), header.value());
            }
        }
        out.add(EXCEPTION_CLASS, utf8(failure.getClass().getName()));
        out.add(EXCEPTION_MESSAGE, utf8(String.valueOf(failure.getMessage())));
        out.add(ORIGINAL_TOPIC, utf8(originalTopic));
        out.add(ORIGINAL_PARTITION, utf8(Integer.toString(originalPartition)));
        out.add(ORIGINAL_OFFSET, utf8(Long.toString(originalOffset)));
        ProducerRecord<byte[], byte[]> record = new ProducerRecord<>(deadLetterTopic(originalTopic), null, key, value, out);
        try {
            producer().send(record).get(SEND_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("Interrupted while publishing to " + record.topic(), e);
        } catch (ExecutionException | TimeoutException e) {
            throw new IllegalStateException("Could not publish to " + record.topic(), e.getCause() != null ? e.getCause() : e);
        }
    }

    private Producer<byte[], byte[]> producer() {
        Producer<byte[], byte[]> current = producer;
        if (current == null) {
            synchronized (this) {
                current = producer;
                if (current == null) {
                    current = producerSupplier.get();
                    producer = current;
                }
            }
        }
        return current;
    }

    private static byte[] utf8(String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }

    @Override
    public void destroy() {
        Producer<byte[], byte[]> current = producer;
        if (current != null) {
            current.close(Duration.ofSeconds(5));
        }
    }
}
