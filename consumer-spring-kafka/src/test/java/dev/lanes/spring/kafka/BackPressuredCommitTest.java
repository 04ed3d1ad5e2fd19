package dev.lanes.spring.kafka;

import org.apache.kafka.clients.consumer.CommitFailedException;
import org.apache.kafka.clients.consumer.MockConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.consumer.internals.AutoOffsetResetStrategy;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

class BackPressuredCommitTest {

    private static final TopicPartition PARTITION = new TopicPartition("orders", 0);

    @Test
    void commitsTheGivenOffsetsSynchronouslyAndTellsTheCallback() {
        MockConsumer<String, String> consumer = new MockConsumer<>(AutoOffsetResetStrategy.EARLIEST.name());
        consumer.assign(List.of(PARTITION));
        List<Object> outcomes = new ArrayList<>();
        Map<TopicPartition, OffsetAndMetadata> offsets = Map.of(PARTITION, new OffsetAndMetadata(42));

        BackPressuredCommit.commit(consumer, offsets, (committed, exception) -> {
            outcomes.add(committed);
            outcomes.add(String.valueOf(exception));
        }, Duration.ofSeconds(1));

        assertThat(consumer.committed(Set.of(PARTITION))).containsEntry(PARTITION, new OffsetAndMetadata(42));
        assertThat(outcomes).containsExactly(offsets, "null");
    }

    @Test
    void aFailedCommitReachesTheCallbackInsteadOfTheCaller() {
        MockConsumer<String, String> consumer = new MockConsumer<>(AutoOffsetResetStrategy.EARLIEST.name()) {
            @Override
            public synchronized void commitSync(Map<TopicPartition, OffsetAndMetadata> offsets, Duration timeout) {
                throw new CommitFailedException("fenced");
            }
        };
        List<Exception> failures = new ArrayList<>();

        BackPressuredCommit.commit(consumer, Map.of(PARTITION, new OffsetAndMetadata(7)),
                (committed, exception) -> failures.add(exception), Duration.ofSeconds(1));

        assertThat(failures).singleElement().isInstanceOf(CommitFailedException.class);
    }
}
