package dev.lanes.spring.listener;

import dev.lanes.consumer.MemberState;
import dev.lanes.consumer.BackPressureException;
import dev.lanes.consumer.ConsumerClosedException;
import dev.lanes.consumer.LanesConsumer;
import dev.lanes.spring.CommitMode;
import dev.lanes.spring.ConfigurableLanesListenerContainer;
import dev.lanes.spring.LanesConsumerFactory;
import dev.lanes.spring.LanesErrorHandler;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.RecordDeserializationException;
import org.apache.kafka.common.errors.WakeupException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

/**
 * Runs {@code concurrency} Lanes consumers of one listener endpoint, each on its own thread named
 * {@code lanes-listener-<id>-<n>}. Offsets are committed after processing (per record or per poll),
 * processed offsets are committed synchronously when partitions are revoked and when the container stops.
 * <p>
 * When a slot's consumer fails while the container runs (its background thread died, so {@code poll} or a
 * commit throws {@link ConsumerClosedException}, or anything unexpected escapes the slot's loop), the slot
 * commits nothing further with it and closes it through the {@link LanesConsumerFactory}. With
 * {@linkplain #setReplaceFailedConsumers(boolean) replacement} on (the default), the slot then waits the
 * {@linkplain #setReplaceBackOff(Duration) back-off} (a stop ends the wait at once), creates a fresh consumer
 * through the factory with the same settings and client id, subscribes it and carries on from the group's
 * committed offsets. The failed consumer stays in {@link #consumers()} until its replacement runs, so the
 * health indicator reports the listener DOWN meanwhile; without replacement it stays there and the slot stays dead.
 */
public class DefaultLanesListenerContainer implements ConfigurableLanesListenerContainer {

    private static final Logger log = LoggerFactory.getLogger(DefaultLanesListenerContainer.class);

    private final LanesListenerEndpoint endpoint;
    private final LanesConsumerFactory<Object, Object> consumerFactory;
    private final String groupId;
    private final Map<String, Object> consumerProperties = new LinkedHashMap<>();
    private final List<Slot> slots = new CopyOnWriteArrayList<>();
    private final Object lifecycleMonitor = new Object();
    private volatile boolean autoStartup;
    private volatile int concurrency;
    private volatile CommitMode commitMode = CommitMode.BATCH;
    private volatile Duration pollTimeout = Duration.ofSeconds(1);
    private volatile Duration shutdownTimeout = Duration.ofSeconds(10);
    private volatile LanesErrorHandler errorHandler;
    private volatile ConsumerRebalanceListener rebalanceListener;
    private volatile boolean running;
    private volatile boolean pauseRequested;
    private volatile long stopDeadlineNanos;
    private volatile boolean replaceFailedConsumers = true;
    private volatile Duration replaceBackOff = Duration.ofSeconds(5);
    private volatile Duration startBalanceTimeout = Duration.ofSeconds(30);
    private volatile StartBalance startBalance = StartBalance.open("");

    @SuppressWarnings("unchecked")
    public DefaultLanesListenerContainer(LanesListenerEndpoint endpoint, LanesConsumerFactory<?, ?> consumerFactory,
                                         String groupId, int concurrency, LanesErrorHandler errorHandler) {
        this.endpoint = endpoint;
        this.consumerFactory = (LanesConsumerFactory<Object, Object>) consumerFactory;
        this.groupId = groupId;
        this.concurrency = concurrency;
        this.autoStartup = endpoint.autoStartup();
        this.errorHandler = errorHandler;
        this.consumerProperties.putAll(endpoint.properties());
    }

    public LanesListenerEndpoint endpoint() {
        return endpoint;
    }

    @Override
    public String id() {
        return endpoint.id();
    }

    @Override
    public String groupId() {
        return groupId;
    }

    @Override
    public Collection<String> topics() {
        if (endpoint.isAssigned()) {
            return endpoint.assignments().stream().map(a -> a.partition().toString()).toList();
        }
        return endpoint.topicPattern() != null ? List.of(endpoint.topicPattern().pattern()) : endpoint.topics();
    }

    @Override
    public List<LanesConsumer<?, ?>> consumers() {
        List<LanesConsumer<?, ?>> consumers = new ArrayList<>();
        slots.forEach(slot -> consumers.add(slot.consumer));
        return consumers;
    }

    // ------------------------------------------------------------------ settings

    @Override
    public void setAutoStartup(boolean autoStartup) {
        this.autoStartup = autoStartup;
    }

    @Override
    public boolean isAutoStartup() {
        return autoStartup;
    }

    @Override
    public void setConcurrency(int concurrency) {
        if (concurrency < 1) {
            throw new IllegalArgumentException("concurrency must be at least 1, was " + concurrency);
        }
        this.concurrency = concurrency;
    }

    @Override
    public int getConcurrency() {
        return concurrency;
    }

    @Override
    public void setCommitMode(CommitMode commitMode) {
        this.commitMode = commitMode;
    }

    @Override
    public CommitMode getCommitMode() {
        return commitMode;
    }

    @Override
    public void setPollTimeout(Duration pollTimeout) {
        this.pollTimeout = pollTimeout;
    }

    public Duration getPollTimeout() {
        return pollTimeout;
    }

    @Override
    public void setShutdownTimeout(Duration shutdownTimeout) {
        this.shutdownTimeout = shutdownTimeout;
    }

    public Duration getShutdownTimeout() {
        return shutdownTimeout;
    }

    @Override
    public void setErrorHandler(LanesErrorHandler errorHandler) {
        this.errorHandler = errorHandler;
    }

    @Override
    public LanesErrorHandler getErrorHandler() {
        return errorHandler;
    }

    @Override
    public void setRebalanceListener(ConsumerRebalanceListener rebalanceListener) {
        this.rebalanceListener = rebalanceListener;
    }

    @Override
    public ConsumerRebalanceListener getRebalanceListener() {
        return rebalanceListener;
    }

    /**
     * Whether a slot whose consumer failed (its background thread died) gets a fresh consumer after the
     * {@linkplain #setReplaceBackOff(Duration) back-off}; without it the slot stays dead. Default true.
     */
    @Override
    public void setReplaceFailedConsumers(boolean replaceFailedConsumers) {
        this.replaceFailedConsumers = replaceFailedConsumers;
    }

    @Override
    public boolean isReplaceFailedConsumers() {
        return replaceFailedConsumers;
    }

    /** How long a slot waits between the failure of its consumer and the creation of the replacement. Default 5 s. */
    @Override
    public void setReplaceBackOff(Duration replaceBackOff) {
        if (replaceBackOff == null || replaceBackOff.isNegative()) {
            throw new IllegalArgumentException("replaceBackOff must not be negative, was " + replaceBackOff);
        }
        this.replaceBackOff = replaceBackOff;
    }

    @Override
    public Duration getReplaceBackOff() {
        return replaceBackOff;
    }

    /**
     * How long, at most, the consumers of a container with concurrency above 1 hold back records when it starts,
     * until the group has shared the partitions out among them; zero starts each one at once. Default 30 s.
     */
    public void setStartBalanceTimeout(Duration startBalanceTimeout) {
        if (startBalanceTimeout == null || startBalanceTimeout.isNegative()) {
            throw new IllegalArgumentException("startBalanceTimeout must not be negative, was " + startBalanceTimeout);
        }
        this.startBalanceTimeout = startBalanceTimeout;
    }

    public Duration getStartBalanceTimeout() {
        return startBalanceTimeout;
    }

    @Override
    public void setConsumerProperty(String key, Object value) {
        consumerProperties.put(key, value);
    }

    /** The per-container consumer settings (listener properties plus customizer additions). */
    public Map<String, Object> consumerProperties() {
        return Map.copyOf(consumerProperties);
    }

    // ------------------------------------------------------------------ lifecycle

    @Override
    public void start() {
        synchronized (lifecycleMonitor) {
            if (running) {
                return;
            }
            List<Slot> created = new ArrayList<>();
            try {
                int slotCount = slotCount();
                if (slotCount < concurrency) {
                    log.info("Listener {} runs {} consumer(s), one per assigned partition, not its concurrency {}", id(),
                            slotCount, concurrency);
                }
                for (int n = 0; n < slotCount; n++) {
                    created.add(new Slot(n, createConsumer(n)));
                }
            } catch (RuntimeException e) {
                created.forEach(slot -> consumerFactory.closeConsumer(id(), slot.consumer, Duration.ZERO));
                throw e;
            }
            startBalance = created.size() < 2 || endpoint.isAssigned() ? StartBalance.open(id())
                    : new StartBalance(id(), startBalanceTimeout);
            running = true;
            slots.addAll(created);
            for (Slot slot : created) {
                slot.thread = new Thread(() -> run(slot), "lanes-listener-" + id() + "-" + slot.index);
                slot.thread.start();
            }
            log.info("Started listener container {} (group {}, topics {}, {} consumer(s))", id(), groupId, topics(), created.size());
        }
    }

    private LanesConsumer<Object, Object> createConsumer(int n) {
        Map<String, Object> overrides = new HashMap<>(consumerProperties);
        overrides.put(ConsumerConfig.GROUP_ID_CONFIG, groupId);
        overrides.put(ConsumerConfig.CLIENT_ID_CONFIG, clientId(n));
        return consumerFactory.createConsumer(id(), overrides);
    }

    private String clientId(int n) {
        Object prefix = consumerProperties.getOrDefault(ConsumerConfig.CLIENT_ID_CONFIG,
                consumerFactory.configuration().get(ConsumerConfig.CLIENT_ID_CONFIG));
        String base = (prefix == null || prefix.toString().isEmpty() ? "" : prefix + "-") + id() + "-" + n;
        return base.replaceAll("[^A-Za-z0-9._-]", "-");
    }

    /** Asks every consumer to stop, without waiting. */
    public void initiateStop() {
        synchronized (lifecycleMonitor) {
            if (!running) {
                return;
            }
            stopDeadlineNanos = System.nanoTime() + shutdownTimeout.toNanos();
            running = false;
            lifecycleMonitor.notifyAll(); // ends the back-off of slots waiting to replace a failed consumer
        }
        for (Slot slot : slots) {
            try {
                slot.consumer.wakeup();
            } catch (RuntimeException e) {
                log.debug("Could not wake up consumer {} of listener {}: {}", slot.consumer.clientId(), id(), e.toString());
            }
        }
    }

    @Override
    public void stop() {
        initiateStop();
        long deadline = stopDeadlineNanos;
        for (Slot slot : slots) {
            Thread thread = slot.thread;
            if (thread == null || thread == Thread.currentThread()) {
                continue;
            }
            try {
                long remainingMs = Math.max(1, (deadline - System.nanoTime()) / 1_000_000 + 500);
                thread.join(remainingMs);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
            if (thread.isAlive()) {
                log.warn("Listener thread {} did not stop within {}", thread.getName(), shutdownTimeout);
            }
        }
        slots.removeIf(slot -> slot.thread == null || !slot.thread.isAlive());
        log.info("Stopped listener container {}", id());
    }

    @Override
    public boolean isRunning() {
        return running;
    }

    @Override
    public void pause() {
        pauseRequested = true;
    }

    @Override
    public void resume() {
        pauseRequested = false;
    }

    @Override
    public boolean isPaused() {
        return pauseRequested;
    }

    // ------------------------------------------------------------------ the consumer threads

    private void run(Slot slot) {
        while (true) {
            Throwable failure = consume(slot);
            if (failure == null) {
                shutdown(slot);
                return;
            }
            discardFailed(slot, failure);
            if (!running) {
                return;
            }
            if (!replaceFailedConsumers) {
                log.error("Listener thread {} of container {} stops: its consumer {} failed and "
                                + "lanes.consumer.listener.replace-failed-consumers is false", Thread.currentThread().getName(),
                        id(), slot.consumer.clientId());
                return;
            }
            if (!replace(slot)) {
                return;
            }
        }
    }

    /**
     * Runs the slot's consumer until the container stops (returns null) or the consumer fails while the
     * container runs (returns why).
     */
    private Throwable consume(Slot slot) {
        LanesConsumer<Object, Object> consumer = slot.consumer;
        try {
            RebalanceAdapter adapter = new RebalanceAdapter(slot);
            if (endpoint.isAssigned()) {
                assign(slot);
            } else if (endpoint.topicPattern() != null) {
                consumer.subscribe(endpoint.topicPattern(), adapter);
            } else {
                consumer.subscribe(endpoint.topics(), adapter);
            }
            while (running) {
                applyPause(slot);
                ConsumerRecords<Object, Object> records;
                try {
                    records = consumer.poll(pollTimeout);
                } catch (WakeupException e) {
                    continue;
                } catch (RecordDeserializationException e) {
                    handleDeserializationFailure(slot, e);
                    continue;
                }
                if (!records.isEmpty()) {
                    process(slot, records);
                } else if (commitMode.isManual() && !slot.acknowledged.isEmpty()) {
                    commitAsync(slot, drainAcknowledged(slot)); // acknowledged from another thread
                }
                failIfDead(slot);
            }
            return null;
        } catch (WakeupException e) {
            if (running) {
                log.warn("Listener thread {} woken up unexpectedly; stopping it", Thread.currentThread().getName(), e);
            }
            return null;
        } catch (Throwable e) {
            if (!running && !(e instanceof ConsumerClosedException) && consumer.backgroundFailure().isEmpty()) {
                log.warn("Listener thread {} of container {} failed while stopping", Thread.currentThread().getName(), id(), e);
                return null;
            }
            return e;
        }
    }

    /**
     * Assigns the slot its share of the listener's partitions (every Nth, N being the slot count) and, the
     * first time since the container started, seeks those with an initial offset.
     */
    private void assign(Slot slot) {
        int slotCount = slotCount();
        List<TopicPartition> partitions = new ArrayList<>();
        Map<TopicPartition, Long> initialOffsets = new HashMap<>();
        List<LanesListenerEndpoint.Assignment> assignments = endpoint.assignments();
        for (int i = slot.index; i < assignments.size(); i += slotCount) {
            LanesListenerEndpoint.Assignment assignment = assignments.get(i);
            partitions.add(assignment.partition());
            if (assignment.initialOffset() != null) {
                initialOffsets.put(assignment.partition(), assignment.initialOffset());
            }
        }
        LanesConsumer<Object, Object> consumer = slot.consumer;
        consumer.assign(partitions);
        slot.assigned.clear();
        slot.assigned.addAll(partitions);
        if (slot.replacements > 0 || initialOffsets.isEmpty()) {
            return; // a replacement carries on from the committed offsets
        }
        Map<TopicPartition, Long> ends = initialOffsets.values().stream().anyMatch(offset -> offset < 0)
                ? consumer.endOffsets(initialOffsets.keySet()) : Map.of();
        initialOffsets.forEach((partition, offset) -> {
            long target = offset >= 0 ? offset : Math.max(0, ends.get(partition) + offset);
            consumer.seek(partition, target);
            log.info("Listener {} starts {} at offset {}", id(), partition, target);
        });
    }

    /** How many consumers the container runs: its concurrency, but no more than it has assigned partitions for. */
    private int slotCount() {
        return endpoint.isAssigned() ? Math.min(concurrency, endpoint.assignments().size()) : concurrency;
    }

    /** The background thread may die while the listener works; commits would then fail quietly (async). */
    private void failIfDead(Slot slot) {
        Throwable failure = slot.consumer.backgroundFailure().orElse(null);
        if (failure != null) {
            throw new ConsumerClosedException("The consumer " + slot.consumer.clientId()
                    + " is closed because its background thread died: " + failure, failure);
        }
    }

    /** Closes a failed consumer through the factory without committing anything further with it. */
    private void discardFailed(Slot slot, Throwable failure) {
        slot.failed = true;
        log.error("Listener thread {} of container {} failed; its consumer {} is closed{}", Thread.currentThread().getName(),
                id(), slot.consumer.clientId(), running && replaceFailedConsumers
                        ? " and will be replaced in " + replaceBackOff : "", failure);
        if (!slot.processed.isEmpty()) {
            log.warn("Listener {} commits nothing further with its failed consumer {} (last processed offsets {}, committed "
                    + "unless their asynchronous commit was still in flight); work past the group's committed offsets is "
                    + "consumed again", id(), slot.consumer.clientId(), slot.processed);
        }
        slot.processed.clear();
        try {
            // A consumer whose background thread died has nothing to flush; one that is still alive (the failure
            // came from elsewhere) gets the usual time to leave its group.
            consumerFactory.closeConsumer(id(), slot.consumer,
                    slot.consumer.isBackgroundThreadAlive() ? remaining() : Duration.ZERO);
        } catch (RuntimeException e) {
            log.warn("Closing failed consumer {} of listener {} failed", slot.consumer.clientId(), id(), e);
        }
    }

    /**
     * Waits the back-off, then puts a fresh consumer in the slot; false when the container stopped (or the
     * thread was interrupted) meanwhile or no consumer could be created. The failed consumer stays the
     * slot's consumer until then, so that health reports it.
     */
    private boolean replace(Slot slot) {
        long deadline = System.nanoTime() + replaceBackOff.toNanos();
        synchronized (lifecycleMonitor) {
            try {
                long remaining;
                while (running && (remaining = deadline - System.nanoTime()) > 0) {
                    TimeUnit.NANOSECONDS.timedWait(lifecycleMonitor, remaining);
                }
            } catch (InterruptedException e) {
                log.warn("Listener thread {} interrupted while waiting to replace its failed consumer; it stops",
                        Thread.currentThread().getName());
                return false;
            }
            if (!running) {
                return false;
            }
            LanesConsumer<Object, Object> failed = slot.consumer;
            LanesConsumer<Object, Object> replacement;
            try {
                replacement = createConsumer(slot.index);
            } catch (RuntimeException e) {
                log.error("Listener {} could not create a consumer to replace {}; the slot stays dead", id(),
                        failed.clientId(), e);
                return false;
            }
            slot.processed.clear();
            slot.acknowledged.clear();
            slot.assigned.clear();
            slot.assignedCount = 0;
            slot.revokedDuringBatch.clear();
            slot.consumer = replacement;
            slot.failed = false;
            slot.replacements++;
            log.info("Listener {} replaced its failed consumer {} (replacement {} of slot {})", id(), failed.clientId(),
                    slot.replacements, slot.index);
            return true;
        }
    }

    private void applyPause(Slot slot) {
        LanesConsumer<Object, Object> consumer = slot.consumer;
        if (holding(slot)) {
            Set<TopicPartition> assignment = consumer.assignment();
            if (!assignment.isEmpty() && !consumer.paused().containsAll(assignment)) {
                consumer.pause(assignment);
            }
        } else if (!consumer.paused().isEmpty()) {
            consumer.resume(consumer.paused());
        }
    }

    private void process(Slot slot, ConsumerRecords<Object, Object> records) {
        if (endpoint.shape().isBatch()) {
            List<ConsumerRecord<?, ?>> list = new ArrayList<>(records.count());
            records.forEach(list::add);
            boolean[] succeeded = {false};
            boolean done = errorHandler.invoke(id(), groupId, list, batch -> {
                succeeded[0] = false;
                endpoint.invokeBatch(batch, groupId, () -> acknowledge(slot, batch), slot.readOnlyConsumer);
                succeeded[0] = true;
            }, this::stopping);
            if (done) {
                Map<TopicPartition, OffsetAndMetadata> offsets = new HashMap<>();
                for (TopicPartition partition : records.partitions()) {
                    List<ConsumerRecord<Object, Object>> partitionRecords = records.records(partition);
                    long next = partitionRecords.get(partitionRecords.size() - 1).offset() + 1;
                    offsets.put(partition, new OffsetAndMetadata(next));
                }
                if (!commitMode.isManual()) {
                    slot.processed.putAll(offsets);
                    commitAsync(slot, offsets);
                    return;
                }
                if (!succeeded[0]) {
                    // The error handler skipped or dead-lettered what the listener could not acknowledge.
                    acknowledge(slot, list);
                }
            }
            commitAsync(slot, drainAcknowledged(slot));
            return;
        }
        Map<TopicPartition, OffsetAndMetadata> batch = new HashMap<>();
        outer:
        for (TopicPartition partition : records.partitions()) {
            for (ConsumerRecord<Object, Object> record : records.records(partition)) {
                if (!slot.assigned.contains(partition) && slot.revokedDuringBatch.contains(partition)) {
                    continue outer;
                }
                boolean[] succeeded = {false};
                boolean done = errorHandler.invoke(id(), groupId, List.of(record), single -> {
                    succeeded[0] = false;
                    endpoint.invokeRecord(record, groupId, () -> acknowledge(slot, List.of(record)), slot.readOnlyConsumer);
                    succeeded[0] = true;
                }, this::stopping);
                if (!done) {
                    break outer;
                }
                OffsetAndMetadata next = new OffsetAndMetadata(record.offset() + 1);
                if (commitMode.isManual()) {
                    if (!succeeded[0]) {
                        acknowledge(slot, List.of(record));
                    }
                    Map<TopicPartition, OffsetAndMetadata> acknowledged = drainAcknowledged(slot);
                    if (commitMode == CommitMode.MANUAL_IMMEDIATE) {
                        commitAsync(slot, acknowledged);
                    } else {
                        batch.putAll(acknowledged);
                    }
                } else {
                    slot.processed.put(partition, next);
                    if (commitMode == CommitMode.RECORD) {
                        commitAsync(slot, Map.of(partition, next));
                    } else {
                        batch.put(partition, next);
                    }
                }
                if (stopping()) {
                    break outer;
                }
            }
        }
        if (!batch.isEmpty()) {
            commitAsync(slot, batch);
        }
    }

    /** Called from the listener (any thread): marks the records up to the last of each partition as processed. */
    private void acknowledge(Slot slot, List<? extends ConsumerRecord<?, ?>> records) {
        if (!commitMode.isManual()) {
            return;
        }
        for (ConsumerRecord<?, ?> record : records) {
            slot.acknowledged.merge(new TopicPartition(record.topic(), record.partition()), record.offset() + 1, Math::max);
        }
    }

    /**
     * Moves what the listener acknowledged into the slot's processed offsets and returns it, leaving out partitions
     * the slot no longer owns. Called from the slot's thread.
     */
    private Map<TopicPartition, OffsetAndMetadata> drainAcknowledged(Slot slot) {
        Map<TopicPartition, OffsetAndMetadata> drained = new HashMap<>();
        for (TopicPartition partition : List.copyOf(slot.acknowledged.keySet())) {
            Long next = slot.acknowledged.remove(partition);
            if (next != null && slot.assigned.contains(partition)) {
                OffsetAndMetadata offset = new OffsetAndMetadata(next);
                OffsetAndMetadata before = slot.processed.get(partition);
                if (before == null || before.offset() < next) {
                    slot.processed.put(partition, offset);
                    drained.put(partition, offset);
                }
            }
        }
        return drained;
    }

    /** Whether the slots keep their partitions paused: the container is paused, or its consumers are not balanced yet. */
    private boolean holding(Slot slot) {
        return pauseRequested || !startBalance.isOpen(slots, () -> expectedPartitions(slot.consumer));
    }

    /** How many partitions the listener's topics have, or -1 when that cannot be told (a pattern, a missing topic). */
    private int expectedPartitions(LanesConsumer<Object, Object> consumer) {
        if (endpoint.topicPattern() != null) {
            return -1;
        }
        int count = 0;
        try {
            for (String topic : endpoint.topics()) {
                List<org.apache.kafka.common.PartitionInfo> partitions = consumer.partitionsFor(topic, Duration.ofSeconds(5));
                if (partitions == null || partitions.isEmpty()) {
                    return -1;
                }
                count += partitions.size();
            }
        } catch (RuntimeException e) {
            log.debug("Listener {} could not look up the partitions of {}: {}", id(), endpoint.topics(), e.toString());
            return -1;
        }
        return count;
    }

    private boolean stopping() {
        return !running;
    }

    private void handleDeserializationFailure(Slot slot, RecordDeserializationException e) {
        TopicPartition partition = e.topicPartition();
        long offset = e.offset();
        log.warn("Listener {} cannot deserialize the record at {} offset {}: {}", id(), partition, offset, e.getMessage());
        try {
            errorHandler.handleDeserializationFailure(id(), groupId, e);
        } catch (RuntimeException failure) {
            log.error("Error handler failed on the undeserializable record at {} offset {}; skipping it", partition, offset, failure);
        }
        slot.consumer.seek(partition, offset + 1);
        OffsetAndMetadata next = new OffsetAndMetadata(offset + 1);
        slot.processed.put(partition, next);
        commitAsync(slot, Map.of(partition, next));
    }

    private void commitAsync(Slot slot, Map<TopicPartition, OffsetAndMetadata> offsets) {
        if (slot.failed || offsets.isEmpty()) {
            return;
        }
        try {
            slot.consumer.commitAsync(Map.copyOf(offsets), (committed, exception) -> {
                if (exception != null) {
                    log.debug("Commit of {} failed for listener {}: {}", committed, id(), exception.toString());
                }
            });
        } catch (BackPressureException e) {
            // The offsets stay in 'processed' and go with the next commit, on revocation or at shutdown.
            log.debug("Commit deferred for listener {}: {}", id(), e.getMessage());
        }
    }

    private void commitSync(Slot slot, Map<TopicPartition, OffsetAndMetadata> offsets, Duration timeout) {
        if (offsets.isEmpty() || slot.failed) {
            return;
        }
        for (int attempt = 0; attempt < 2; attempt++) {
            try {
                slot.consumer.commitSync(Map.copyOf(offsets), timeout);
                return;
            } catch (WakeupException e) {
                // A wakeup meant for poll; try once more.
            } catch (RuntimeException e) {
                log.warn("Could not commit {} for listener {}: {}", offsets, id(), e.toString());
                return;
            }
        }
    }

    private void shutdown(Slot slot) {
        Duration remaining = remaining();
        commitSync(slot, slot.processed, remaining);
        slot.processed.clear();
        try {
            consumerFactory.closeConsumer(id(), slot.consumer, remaining());
        } catch (RuntimeException e) {
            log.warn("Closing consumer {} of listener {} failed", slot.consumer.clientId(), id(), e);
        }
    }

    private Duration remaining() {
        if (running || stopDeadlineNanos == 0) {
            return shutdownTimeout;
        }
        return Duration.ofNanos(Math.max(0, stopDeadlineNanos - System.nanoTime()));
    }

    @Override
    public String toString() {
        return "DefaultLanesListenerContainer[" + id() + "]";
    }

    /** One consumer and its thread. */
    private static final class Slot implements StartBalance.Member {
        final int index;
        volatile boolean joined;
        volatile int assignedCount;
        volatile LanesConsumer<Object, Object> consumer;
        volatile boolean failed;
        int replacements;
        final Map<TopicPartition, OffsetAndMetadata> processed = new HashMap<>();
        final Map<TopicPartition, Long> acknowledged = new java.util.concurrent.ConcurrentHashMap<>();
        final org.apache.kafka.clients.consumer.Consumer<Object, Object> readOnlyConsumer = ReadOnlyConsumer.of(() -> this.consumer);
        final Set<TopicPartition> assigned = new java.util.HashSet<>();
        final Set<TopicPartition> revokedDuringBatch = new java.util.HashSet<>();
        volatile Thread thread;

        Slot(int index, LanesConsumer<Object, Object> consumer) {
            this.index = index;
            this.consumer = consumer;
        }

        @Override
        public boolean joined() {
            // A member given no partitions may get no assignment callback; being STABLE says it joined too.
            return joined || consumer.memberState() == MemberState.STABLE;
        }

        @Override
        public int assignedCount() {
            return assignedCount;
        }
    }

    /** Commits processed work before partitions go, then calls the user's listener. */
    private final class RebalanceAdapter implements ConsumerRebalanceListener {
        private final Slot slot;

        RebalanceAdapter(Slot slot) {
            this.slot = slot;
        }

        @Override
        public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
            Map<TopicPartition, OffsetAndMetadata> offsets = new HashMap<>();
            for (TopicPartition partition : partitions) {
                OffsetAndMetadata offset = slot.processed.remove(partition);
                if (offset != null) {
                    offsets.put(partition, offset);
                }
            }
            commitSync(slot, offsets, remaining());
            slot.assigned.removeAll(partitions);
            slot.assignedCount = slot.assigned.size();
            slot.revokedDuringBatch.addAll(partitions);
            ConsumerRebalanceListener delegate = rebalanceListener;
            if (delegate != null) {
                delegate.onPartitionsRevoked(partitions);
            }
        }

        @Override
        public void onPartitionsAssigned(Collection<TopicPartition> partitions) {
            slot.assigned.addAll(partitions);
            slot.revokedDuringBatch.removeAll(partitions);
            slot.assignedCount = slot.assigned.size();
            slot.joined = true;
            if (holding(slot) && !partitions.isEmpty()) {
                slot.consumer.pause(partitions);
            }
            ConsumerRebalanceListener delegate = rebalanceListener;
            if (delegate != null) {
                delegate.onPartitionsAssigned(partitions);
            }
        }

        @Override
        public void onPartitionsLost(Collection<TopicPartition> partitions) {
            partitions.forEach(slot.processed::remove);
            slot.assigned.removeAll(partitions);
            slot.assignedCount = slot.assigned.size();
            slot.revokedDuringBatch.addAll(partitions);
            ConsumerRebalanceListener delegate = rebalanceListener;
            if (delegate != null) {
                delegate.onPartitionsLost(partitions);
            }
        }
    }
}
