package dev.lanes.spring.listener;

import dev.lanes.spring.CommitMode;
import dev.lanes.spring.LanesErrorHandler;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.RecordDeserializationException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BooleanSupplier;

/**
 * Hands the records of one poll to the listener, per record or as a batch, through the error handler, and commits
 * what was processed as the commit mode says: after each record, after the poll, or what the listener acknowledged.
 * A record is processed once the listener returned or the error handler skipped or dead-lettered it. Called from
 * a slot's thread; one dispatcher serves every slot of a container.
 */
final class RecordDispatcher {

    private static final Logger log = LoggerFactory.getLogger(RecordDispatcher.class);

    private final LanesListenerEndpoint endpoint;
    private final String groupId;
    private final CommitMode commitMode;
    private final LanesErrorHandler errorHandler;
    private final BooleanSupplier stopping;

    /** @param stopping whether the container is stopping: the rest of the poll is left for the next owner */
    RecordDispatcher(LanesListenerEndpoint endpoint, String groupId, CommitMode commitMode, LanesErrorHandler errorHandler,
                     BooleanSupplier stopping) {
        this.endpoint = endpoint;
        this.groupId = groupId;
        this.commitMode = commitMode;
        this.errorHandler = errorHandler;
        this.stopping = stopping;
    }

    void dispatch(SlotConsumer consumer, ConsumerRecords<Object, Object> records) {
        if (endpoint.shape().isBatch()) {
            dispatchBatch(consumer, records);
        } else {
            dispatchRecords(consumer, records);
        }
    }

    private void dispatchBatch(SlotConsumer consumer, ConsumerRecords<Object, Object> records) {
        PartitionProgress progress = consumer.progress();
        List<ConsumerRecord<?, ?>> list = new ArrayList<>(records.count());
        records.forEach(list::add);
        boolean[] succeeded = {false};
        boolean done = errorHandler.invoke(endpoint.id(), groupId, list, batch -> {
            succeeded[0] = false;
            endpoint.invokeBatch(batch, groupId, () -> acknowledge(progress, batch), consumer.listenerView());
            succeeded[0] = true;
        }, stopping);
        if (done) {
            if (!commitMode.isManual()) {
                Map<TopicPartition, OffsetAndMetadata> offsets = nextOffsets(records);
                progress.processed(offsets);
                consumer.committer().commitAsync(offsets);
                return;
            }
            if (!succeeded[0]) {
                // The error handler skipped or dead-lettered what the listener could not acknowledge.
                acknowledge(progress, list);
            }
        }
        consumer.committer().commitAsync(progress.drainAcknowledged());
    }

    private static Map<TopicPartition, OffsetAndMetadata> nextOffsets(ConsumerRecords<Object, Object> records) {
        Map<TopicPartition, OffsetAndMetadata> offsets = new HashMap<>();
        for (TopicPartition partition : records.partitions()) {
            List<ConsumerRecord<Object, Object>> partitionRecords = records.records(partition);
            offsets.put(partition, new OffsetAndMetadata(partitionRecords.get(partitionRecords.size() - 1).offset() + 1));
        }
        return offsets;
    }

    private void dispatchRecords(SlotConsumer consumer, ConsumerRecords<Object, Object> records) {
        PartitionProgress progress = consumer.progress();
        OffsetCommitter committer = consumer.committer();
        Map<TopicPartition, OffsetAndMetadata> afterPoll = new HashMap<>();
        outer:
        for (TopicPartition partition : records.partitions()) {
            for (ConsumerRecord<Object, Object> record : records.records(partition)) {
                if (progress.revokedDuringBatch(partition)) {
                    continue outer;
                }
                boolean[] succeeded = {false};
                boolean done = errorHandler.invoke(endpoint.id(), groupId, List.of(record), single -> {
                    succeeded[0] = false;
                    endpoint.invokeRecord(record, groupId, () -> acknowledge(progress, List.of(record)), consumer.listenerView());
                    succeeded[0] = true;
                }, stopping);
                if (!done) {
                    break outer;
                }
                if (commitMode.isManual()) {
                    if (!succeeded[0]) {
                        acknowledge(progress, List.of(record));
                    }
                    Map<TopicPartition, OffsetAndMetadata> acknowledged = progress.drainAcknowledged();
                    if (commitMode == CommitMode.MANUAL_IMMEDIATE) {
                        committer.commitAsync(acknowledged);
                    } else {
                        afterPoll.putAll(acknowledged);
                    }
                } else {
                    OffsetAndMetadata next = new OffsetAndMetadata(record.offset() + 1);
                    progress.processed(partition, next);
                    if (commitMode == CommitMode.RECORD) {
                        committer.commitAsync(Map.of(partition, next));
                    } else {
                        afterPoll.put(partition, next);
                    }
                }
                if (stopping.getAsBoolean()) {
                    break outer;
                }
            }
        }
        committer.commitAsync(afterPoll);
    }

    /** Commits what the listener acknowledged from another thread since the last poll. */
    void commitAcknowledged(SlotConsumer consumer) {
        if (commitMode.isManual() && consumer.progress().hasAcknowledged()) {
            consumer.committer().commitAsync(consumer.progress().drainAcknowledged());
        }
    }

    /**
     * Gives a record that cannot be deserialized to the error handler, then moves past it and commits that, so
     * that it never comes back (no poison-pill loop).
     */
    void skipUndeserializable(SlotConsumer consumer, RecordDeserializationException e) {
        TopicPartition partition = e.topicPartition();
        long offset = e.offset();
        log.warn("Listener {} cannot deserialize the record at {} offset {}: {}", endpoint.id(), partition, offset, e.getMessage());
        try {
            errorHandler.handleDeserializationFailure(endpoint.id(), groupId, e);
        } catch (RuntimeException failure) {
            log.error("Error handler failed on the undeserializable record at {} offset {}; skipping it", partition, offset, failure);
        }
        consumer.consumer().seek(partition, offset + 1);
        OffsetAndMetadata next = new OffsetAndMetadata(offset + 1);
        consumer.progress().processed(partition, next);
        consumer.committer().commitAsync(Map.of(partition, next));
    }

    /** Called from the listener (any thread) in the manual commit modes; the other modes commit by themselves. */
    private void acknowledge(PartitionProgress progress, List<? extends ConsumerRecord<?, ?>> records) {
        if (commitMode.isManual()) {
            progress.acknowledge(records);
        }
    }
}
