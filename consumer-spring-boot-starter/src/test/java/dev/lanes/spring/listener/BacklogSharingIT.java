package dev.lanes.spring.listener;

import dev.lanes.consumer.testing.KafkaBrokerExtension;
import dev.lanes.spring.LanesListener;
import dev.lanes.spring.autoconfigure.LanesAutoConfiguration;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.springframework.boot.WebApplicationType;
import org.springframework.boot.autoconfigure.ImportAutoConfiguration;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

import java.time.Duration;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** A container with concurrency 3 over a topic that already holds a backlog shares the backlog among its members. */
class BacklogSharingIT {

    @RegisterExtension
    static final KafkaBrokerExtension BROKER = new KafkaBrokerExtension();

    static final Map<String, AtomicInteger> perMember = new ConcurrentHashMap<>();

    @Test
    void theMembersOfAContainerShareABacklogThatWasWaitingForThem() {
        BROKER.broker().createTopic("backlog", 6);
        for (int partition = 0; partition < 6; partition++) {
            BROKER.broker().produce("backlog", partition, 1_000, 50);
        }
        ConfigurableApplicationContext context = new SpringApplicationBuilder(App.class).web(WebApplicationType.NONE).properties(
                "lanes.consumer.bootstrap-servers=" + BROKER.broker().bootstrapServers(),
                "lanes.consumer.auto-offset-reset=earliest",
                "lanes.consumer.poll-timeout=200ms",
                "lanes.consumer.key-deserializer=org.apache.kafka.common.serialization.ByteArrayDeserializer",
                "lanes.consumer.value-deserializer=org.apache.kafka.common.serialization.ByteArrayDeserializer").run();
        try {
            await().atMost(Duration.ofSeconds(90)).until(() -> total() == 6_000);
            Map<String, Integer> records = new TreeMap<>();
            perMember.forEach((member, count) -> records.put(member, count.get()));
            System.out.println("Records per member of container 'backlog': " + records);
            assertThat(records).containsOnlyKeys("lanes-listener-backlog-0", "lanes-listener-backlog-1", "lanes-listener-backlog-2");
            // Six partitions over three members: two each, 1,000 records per partition.
            assertThat(records.values()).allSatisfy(count -> assertThat(count).isEqualTo(2_000));
        } finally {
            context.close();
        }
    }

    private static int total() {
        return perMember.values().stream().mapToInt(AtomicInteger::get).sum();
    }

    static class Listener {
        @LanesListener(id = "backlog", topics = "backlog", groupId = "backlog-group", concurrency = "3")
        void onRecord(ConsumerRecord<byte[], byte[]> record) {
            perMember.computeIfAbsent(Thread.currentThread().getName(), name -> new AtomicInteger()).incrementAndGet();
        }
    }

    @Configuration(proxyBeanMethods = false)
    @ImportAutoConfiguration(LanesAutoConfiguration.class)
    static class App {
        @Bean
        Listener listener() {
            return new Listener();
        }
    }
}
