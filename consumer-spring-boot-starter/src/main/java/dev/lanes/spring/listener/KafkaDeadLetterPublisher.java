package dev.lanes.spring.listener;

import dev.lanes.spring.DeadLetterPublisher;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.Serializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.DisposableBean;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Publishes dead letters to {@code <topic><suffix>} and waits for the broker's acknowledgement. The key and
 * value are written with the configured serializers; the record keeps its headers (minus the exception
 * headers of an earlier failure) and gets spring-kafka's {@code kafka_dlt-*} headers.
 * <p>
 * A missing dead-letter topic is created, when topic creation is on, with as many partitions as the
 * original topic, so that a record goes to the same partition number it came from; a record whose partition
 * number the dead-letter topic does not have goes wherever the producer's partitioner puts it.
 * Called from the listener threads; safe for several at once.
 */
public class KafkaDeadLetterPublisher implements DeadLetterPublisher, DisposableBean {

    private static final Logger log = LoggerFactory.getLogger(KafkaDeadLetterPublisher.class);
    private static final Duration TIMEOUT = Duration.ofSeconds(30);

    private final Map<String, Object> clientConfig;
    private final String topicSuffix;
    private final Serializer<Object> keySerializer;
    private final Serializer<Object> valueSerializer;
    private final boolean createTopics;
    private final Map<String, Integer> partitionCounts = new ConcurrentHashMap<>();
    private volatile Producer<byte[], byte[]> producer;
    private volatile Admin admin;

    /**
     * @param clientConfig producer settings, as {@link #producerConfig(Map)} makes them
     * @param keySerializer writes keys that are not bytes; configured here as a key serializer
     * @param valueSerializer writes values that are not bytes; configured here as a value serializer
     * @param createTopics whether a missing dead-letter topic is created
     */
    @SuppressWarnings("unchecked")
    public KafkaDeadLetterPublisher(Map<String, Object> clientConfig, String topicSuffix, Serializer<?> keySerializer,
                                    Serializer<?> valueSerializer, boolean createTopics) {
        this.clientConfig = Map.copyOf(clientConfig);
        this.topicSuffix = topicSuffix == null ? ".DLT" : topicSuffix;
        this.keySerializer = (Serializer<Object>) keySerializer;
        this.valueSerializer = (Serializer<Object>) valueSerializer;
        this.createTopics = createTopics;
        this.keySerializer.configure(this.clientConfig, true);
        this.valueSerializer.configure(this.clientConfig, false);
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
        return config;
    }

    @Override
    public String deadLetterTopic(String topic) {
        return topic + topicSuffix;
    }

    public String topicSuffix() {
        return topicSuffix;
    }

    @Override
    public void publish(ConsumerRecord<?, ?> record, String groupId, Throwable failure) {
        String topic = deadLetterTopic(record.topic());
        int partitions = partitionCount(record.topic(), topic);
        Integer partition = record.partition() < partitions ? record.partition() : null;
        RecordHeaders headers = headers(record, groupId, failure);
        byte[] key = keySerializer.serialize(topic, headers, record.key());
        byte[] value = valueSerializer.serialize(topic, headers, record.value());
        ProducerRecord<byte[], byte[]> letter = new ProducerRecord<>(topic, partition, key, value, headers);
        try {
            producer().send(letter).get(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("Interrupted while publishing to " + topic, e);
        } catch (ExecutionException | TimeoutException e) {
            throw new IllegalStateException("Could not publish to " + topic, e.getCause() != null ? e.getCause() : e);
        }
    }

    private static RecordHeaders headers(ConsumerRecord<?, ?> record, String groupId, Throwable failure) {
        RecordHeaders headers = new RecordHeaders();
        boolean hasOrigin = false;
        for (Header header : record.headers()) {
            // A record failing again keeps where it first came from, but only the latest failure.
            if (header.key().startsWith("kafka_dlt-exception-")) {
                continue;
            }
            hasOrigin |= header.key().equals(ORIGINAL_TOPIC);
            headers.add(header.key(), header.value());
        }
        if (!hasOrigin) {
            headers.add(ORIGINAL_TOPIC, utf8(record.topic()));
            headers.add(ORIGINAL_PARTITION, ByteBuffer.allocate(Integer.BYTES).putInt(record.partition()).array());
            headers.add(ORIGINAL_OFFSET, ByteBuffer.allocate(Long.BYTES).putLong(record.offset()).array());
            headers.add(ORIGINAL_TIMESTAMP, ByteBuffer.allocate(Long.BYTES).putLong(record.timestamp()).array());
            headers.add(ORIGINAL_TIMESTAMP_TYPE, utf8(record.timestampType().toString()));
            if (groupId != null) {
                headers.add(ORIGINAL_CONSUMER_GROUP, utf8(groupId));
            }
        }
        headers.add(EXCEPTION_FQCN, utf8(failure.getClass().getName()));
        if (failure.getCause() != null) {
            headers.add(EXCEPTION_CAUSE_FQCN, utf8(failure.getCause().getClass().getName()));
        }
        headers.add(EXCEPTION_MESSAGE, utf8(String.valueOf(failure.getMessage())));
        StringWriter trace = new StringWriter();
        failure.printStackTrace(new PrintWriter(trace));
        headers.add(EXCEPTION_STACKTRACE, utf8(trace.toString()));
        return headers;
    }

    /** The dead-letter topic's partition count, creating the topic first when it is missing and creation is on. */
    private int partitionCount(String originalTopic, String topic) {
        Integer known = partitionCounts.get(topic);
        if (known != null) {
            return known;
        }
        int count;
        if (createTopics) {
            count = describeOrCreate(originalTopic, topic);
        } else {
            count = producer().partitionsFor(topic).size();
        }
        partitionCounts.put(topic, count);
        return count;
    }

    private int describeOrCreate(String originalTopic, String topic) {
        Optional<Integer> existing = partitions(topic);
        if (existing.isPresent()) {
            return existing.get();
        }
        int count = partitions(originalTopic).orElseThrow(() ->
                new IllegalStateException("Cannot create dead-letter topic " + topic + ": topic " + originalTopic + " does not exist"));
        try {
            admin().createTopics(List.of(new NewTopic(topic, Optional.of(count), Optional.empty())))
                    .all().get(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
            log.info("Created dead-letter topic {} with {} partition(s), as many as {} has", topic, count, originalTopic);
            return count;
        } catch (ExecutionException e) {
            if (e.getCause() instanceof TopicExistsException) {
                return partitions(topic).orElse(count);
            }
            throw new IllegalStateException("Could not create dead-letter topic " + topic, e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("Interrupted while creating dead-letter topic " + topic, e);
        } catch (TimeoutException e) {
            throw new IllegalStateException("Timed out creating dead-letter topic " + topic, e);
        }
    }

    private Optional<Integer> partitions(String topic) {
        try {
            TopicDescription description = admin().describeTopics(List.of(topic)).allTopicNames()
                    .get(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS).get(topic);
            return Optional.of(description.partitions().size());
        } catch (ExecutionException e) {
            if (e.getCause() instanceof UnknownTopicOrPartitionException) {
                return Optional.empty();
            }
            throw new IllegalStateException("Could not describe topic " + topic, e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("Interrupted while describing topic " + topic, e);
        } catch (TimeoutException e) {
            throw new IllegalStateException("Timed out describing topic " + topic, e);
        }
    }

    private Producer<byte[], byte[]> producer() {
        Producer<byte[], byte[]> current = producer;
        if (current == null) {
            synchronized (this) {
                current = producer;
                if (current == null) {
                    Map<String, Object> config = new HashMap<>(clientConfig);
                    config.put(ProducerConfig.ACKS_CONFIG, "all");
                    config.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class);
                    config.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class);
                    current = new KafkaProducer<>(config);
                    producer = current;
                }
            }
        }
        return current;
    }

    private Admin admin() {
        Admin current = admin;
        if (current == null) {
            synchronized (this) {
                current = admin;
                if (current == null) {
                    Map<String, Object> config = new HashMap<>(clientConfig);
                    config.put(ProducerConfig.CLIENT_ID_CONFIG, clientConfig.get(ProducerConfig.CLIENT_ID_CONFIG) + "-admin");
                    current = Admin.create(config);
                    admin = current;
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
        Producer<byte[], byte[]> currentProducer = producer;
        if (currentProducer != null) {
            currentProducer.close(Duration.ofSeconds(5));
        }
        Admin currentAdmin = admin;
        if (currentAdmin != null) {
            currentAdmin.close(Duration.ofSeconds(5));
        }
        keySerializer.close();
        valueSerializer.close();
    }
}
