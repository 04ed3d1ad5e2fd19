package dev.lanes.spring.listener;

import dev.lanes.spring.LanesListener;
import dev.lanes.spring.autoconfigure.LanesAutoConfiguration;
import org.junit.jupiter.api.Test;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;

import static org.assertj.core.api.Assertions.assertThat;

/** Every @LanesListener attribute with a bad value stops start-up with a message naming the method and the attribute. */
class LanesListenerAttributeValidationTests {

    private final ApplicationContextRunner runner = new ApplicationContextRunner()
            .withConfiguration(AutoConfigurations.of(LanesAutoConfiguration.class))
            .withPropertyValues("lanes.consumer.group-id=g");

    private void failsWith(Class<?> listener, String... fragments) {
        runner.withBean(listener).run(context -> {
            assertThat(context).hasFailed();
            Throwable failure = context.getStartupFailure();
            while (failure.getCause() != null && !String.valueOf(failure.getMessage()).contains("Invalid @LanesListener")) {
                failure = failure.getCause();
            }
            assertThat(failure.getMessage()).contains("Invalid @LanesListener method " + listener.getName() + ".on");
            for (String fragment : fragments) {
                assertThat(failure.getMessage()).contains(fragment);
            }
        });
    }

    @Test
    void id() {
        failsWith(DuplicateId.class, "another listener already has the id 'same'");
    }

    @Test
    void topicsOrTopicPattern() {
        failsWith(NoTopics.class, "give either topics, topicPattern or topicPartitions");
        failsWith(BothTopicsAndPattern.class, "give either topics, topicPattern or topicPartitions");
    }

    @Test
    void topicPattern() {
        failsWith(BadPattern.class, "topicPattern '[a-' is not a regular expression");
    }

    @Test
    void topicsPlaceholder() {
        failsWith(UnresolvedTopic.class, "cannot resolve topics '${no.such.topic}'");
    }

    @Test
    void groupId() {
        new ApplicationContextRunner().withConfiguration(AutoConfigurations.of(LanesAutoConfiguration.class))
                .withBean(NoGroup.class).run(context -> assertThat(context.getStartupFailure())
                        .hasMessageContaining("NoGroup.on").hasMessageContaining("no consumer group; set lanes.consumer.group-id or @LanesListener(groupId"));
    }

    @Test
    void concurrency() {
        failsWith(ZeroConcurrency.class, "concurrency must be at least 1, was 0");
        failsWith(WordConcurrency.class, "concurrency 'three' is not a whole number");
    }

    @Test
    void autoStartup() {
        failsWith(BadAutoStartup.class, "autoStartup must be true or false, was 'maybe'");
    }

    @Test
    void properties() {
        failsWith(NotKeyValue.class, "properties entry 'max.poll.records' is not key=value");
        failsWith(BadPropertyValue.class, "properties entry 'max.poll.records=many' is invalid: Not a number of type INT");
        failsWith(AutoCommitProperty.class, "properties entry 'enable.auto.commit=true'", "auto-commit cannot be turned on");
    }

    @Test
    void topicPartitions() {
        failsWith(BadPartition.class, "topicPartitions: 'x' is not a partition number or a range such as 0-3");
        failsWith(BadInitialOffset.class, "topicPartitions: initialOffset 'start' of a-0 is not a whole number");
        failsWith(NoPartitions.class, "topicPartitions: topic 'a' names no partitions");
        failsWith(TopicsAndPartitions.class, "give either topics, topicPattern or topicPartitions");
        failsWith(AssignedWithRebalanceListener.class, "rebalanceListener has no use with topicPartitions");
    }

    @Test
    void errorHandler() {
        failsWith(MissingErrorHandler.class, "no LanesErrorHandler bean named 'nobody'");
    }

    @Test
    void rebalanceListener() {
        failsWith(MissingRebalanceListener.class, "no ConsumerRebalanceListener bean named 'nobody'");
    }

    @Test
    void parameters() {
        failsWith(TwoPayloads.class, "@LanesListener method takes");
        failsWith(AcknowledgingWithoutManualCommits.class, "it takes an Acknowledgment, but its commit mode is batch",
                "lanes.consumer.listeners.acks.commit-mode");
        runner.withBean(AcknowledgingWithoutManualCommits.class)
                .withPropertyValues("lanes.consumer.listeners.acks.commit-mode=manual-immediate")
                .run(context -> assertThat(context).hasNotFailed());
    }

    static class AcknowledgingWithoutManualCommits {
        @LanesListener(id = "acks", topics = "a", autoStartup = "false")
        void on(String value, dev.lanes.spring.Acknowledgment acknowledgment) {
        }
    }

    static class DuplicateId {
        @LanesListener(id = "same", topics = "a")
        void on(String value) {
        }

        @LanesListener(id = "same", topics = "b")
        void onOther(String value) {
        }
    }

    static class NoTopics {
        @LanesListener
        void on(String value) {
        }
    }

    static class BothTopicsAndPattern {
        @LanesListener(topics = "a", topicPattern = "a.*")
        void on(String value) {
        }
    }

    static class BadPattern {
        @LanesListener(topicPattern = "[a-")
        void on(String value) {
        }
    }

    static class UnresolvedTopic {
        @LanesListener(topics = "${no.such.topic}")
        void on(String value) {
        }
    }

    static class NoGroup {
        @LanesListener(topics = "a")
        void on(String value) {
        }
    }

    static class ZeroConcurrency {
        @LanesListener(topics = "a", concurrency = "0")
        void on(String value) {
        }
    }

    static class WordConcurrency {
        @LanesListener(topics = "a", concurrency = "three")
        void on(String value) {
        }
    }

    static class BadAutoStartup {
        @LanesListener(topics = "a", autoStartup = "maybe")
        void on(String value) {
        }
    }

    static class NotKeyValue {
        @LanesListener(topics = "a", properties = "max.poll.records")
        void on(String value) {
        }
    }

    static class BadPropertyValue {
        @LanesListener(topics = "a", properties = "max.poll.records=many")
        void on(String value) {
        }
    }

    static class AutoCommitProperty {
        @LanesListener(topics = "a", properties = "enable.auto.commit=true")
        void on(String value) {
        }
    }

    static class MissingRebalanceListener {
        @LanesListener(topics = "a", rebalanceListener = "nobody")
        void on(String value) {
        }
    }

    static class BadPartition {
        @LanesListener(topicPartitions = @dev.lanes.spring.TopicPartition(topic = "a", partitions = "x"))
        void on(String value) {
        }
    }

    static class BadInitialOffset {
        @LanesListener(topicPartitions = @dev.lanes.spring.TopicPartition(topic = "a",
                partitionOffsets = @dev.lanes.spring.PartitionOffset(partition = "0", initialOffset = "start")))
        void on(String value) {
        }
    }

    static class NoPartitions {
        @LanesListener(topicPartitions = @dev.lanes.spring.TopicPartition(topic = "a"))
        void on(String value) {
        }
    }

    static class TopicsAndPartitions {
        @LanesListener(topics = "b", topicPartitions = @dev.lanes.spring.TopicPartition(topic = "a", partitions = "0"))
        void on(String value) {
        }
    }

    static class AssignedWithRebalanceListener {
        @LanesListener(rebalanceListener = "r", topicPartitions = @dev.lanes.spring.TopicPartition(topic = "a", partitions = "0"))
        void on(String value) {
        }
    }

    static class MissingErrorHandler {
        @LanesListener(topics = "a", errorHandler = "nobody")
        void on(String value) {
        }
    }

    static class TwoPayloads {
        @LanesListener(topics = "a")
        void on(String value, String other) {
        }
    }
}
