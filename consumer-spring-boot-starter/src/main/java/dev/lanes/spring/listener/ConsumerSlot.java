package dev.lanes.spring.listener;

import dev.lanes.consumer.ConsumerClosedException;
import dev.lanes.consumer.MemberState;
import dev.lanes.spring.ListenerConsumer;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.RecordDeserializationException;
import org.apache.kafka.common.errors.WakeupException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * One consumer of a container and the task that runs it: subscribes (or assigns its share of the partitions),
 * polls and hands the records to the {@link RecordDispatcher} until the container stops, then commits what was
 * processed and closes the consumer.
 * <p>
 * When the consumer fails while the container runs (its background thread died, so {@code poll} or a commit throws
 * {@link ConsumerClosedException}, or anything unexpected escapes the loop), the slot commits nothing further with it
 * and closes it. With replacement on, it then waits the back-off (a stop ends the wait at once), puts a fresh
 * consumer in its place and carries on from the group's committed offsets. The failed consumer stays the slot's
 * {@link #consumer()} until then, so that health reports it; without replacement it stays there and the slot ends.
 * <p>
 * {@link #run()} runs on a thread of the container's task executor, named {@code lanes-listener-<id>-<n>} while it
 * runs; the other methods may be called from any thread.
 */
final class ConsumerSlot implements Runnable, StartBalance.Member {

    private static final Logger log = LoggerFactory.getLogger(ConsumerSlot.class);

    /**
     * The container settings a slot reads, taken when the container starts.
     *
     * @param rebalanceListener the user's rebalance listener, or null
     */
    record Settings(Duration pollTimeout, boolean replaceFailedConsumers, Duration replaceBackOff,
                    ConsumerRebalanceListener rebalanceListener) {
    }

    private final SlotOwner owner;
    private final int index;
    private final LanesListenerEndpoint endpoint;
    private final RecordDispatcher dispatcher;
    private final Settings settings;
    private final CountDownLatch finished = new CountDownLatch(1);
    private volatile SlotConsumer current;
    private volatile boolean joined;
    private volatile Thread thread;
    private int replacements;

    ConsumerSlot(SlotOwner owner, int index, ListenerConsumer<Object, Object> consumer, LanesListenerEndpoint endpoint,
                 RecordDispatcher dispatcher, Settings settings) {
        this.owner = owner;
        this.index = index;
        this.endpoint = endpoint;
        this.dispatcher = dispatcher;
        this.settings = settings;
        this.current = new SlotConsumer(owner.listenerId(), consumer);
    }

    int index() {
        return index;
    }

    /** The slot's consumer now: the failed one until its replacement runs. */
    ListenerConsumer<Object, Object> consumer() {
        return current.listenerConsumer();
    }

    String threadName() {
        return "lanes-listener-" + owner.listenerId() + "-" + index;
    }

    @Override
    public boolean joined() {
        // A member given no partitions may get no assignment callback; being STABLE says it joined too.
        return joined || current.listenerConsumer().diagnostics().memberState() == MemberState.STABLE;
    }

    @Override
    public int assignedCount() {
        return current.progress().assignedCount();
    }

    /** Whether {@link #run()} runs on the given thread. */
    boolean runsOn(Thread thread) {
        return this.thread == thread;
    }

    /** Whether {@link #run()} has ended. */
    boolean isFinished() {
        return finished.getCount() == 0;
    }

    /** Waits up to {@code timeout} for {@link #run()} to end; true when it has. */
    boolean awaitFinished(Duration timeout) throws InterruptedException {
        return finished.await(timeout.toNanos(), TimeUnit.NANOSECONDS);
    }

    /** Asks a poll in progress to return at once. Any thread. */
    void wakeup() {
        SlotConsumer consumer = current;
        try {
            consumer.consumer().wakeup();
        } catch (RuntimeException e) {
            log.debug("Could not wake up consumer {} of listener {}: {}", consumer.clientId(), owner.listenerId(), e.toString());
        }
    }

    @Override
    public void run() {
        Thread running = Thread.currentThread();
        String executorName = running.getName();
        thread = running;
        // Operators find a listener by these names in thread dumps and logs, whichever executor lends the thread.
        running.setName(threadName());
        try {
            runConsumers();
        } finally {
            running.setName(executorName);
            finished.countDown();
        }
    }

    private void runConsumers() {
        while (true) {
            Throwable failure = consume();
            if (failure == null) {
                shutdown();
                return;
            }
            discardFailed(failure);
            if (!owner.isRunning()) {
                return;
            }
            if (!settings.replaceFailedConsumers()) {
                log.error("Listener thread {} of container {} stops: its consumer {} failed and "
                                + "lanes.consumer.listener.replace-failed-consumers is false", threadName(),
                        owner.listenerId(), current.clientId());
                return;
            }
            if (!replace()) {
                return;
            }
        }
    }

    /** Runs the consumer until the container stops (returns null) or it fails while the container runs (returns why). */
    private Throwable consume() {
        SlotConsumer slotConsumer = current;
        Consumer<Object, Object> consumer = slotConsumer.consumer();
        try {
            ConsumerRebalanceListener rebalanceListener = new SlotRebalanceListener(slotConsumer, () -> joined = true,
                    () -> owner.holding(this), owner::remaining, settings.rebalanceListener());
            if (endpoint.isAssigned()) {
                assign(slotConsumer);
            } else if (endpoint.topicPattern() != null) {
                consumer.subscribe(endpoint.topicPattern(), rebalanceListener);
            } else {
                consumer.subscribe(endpoint.topics(), rebalanceListener);
            }
            while (owner.isRunning()) {
                applyPause(consumer);
                ConsumerRecords<Object, Object> records;
                try {
                    records = consumer.poll(settings.pollTimeout());
                } catch (WakeupException e) {
                    continue;
                } catch (RecordDeserializationException e) {
                    dispatcher.skipUndeserializable(slotConsumer, e);
                    continue;
                }
                if (!records.isEmpty()) {
                    dispatcher.dispatch(slotConsumer, records);
                } else {
                    dispatcher.commitAcknowledged(slotConsumer);
                }
                failIfDead(slotConsumer);
            }
            return null;
        } catch (WakeupException e) {
            if (owner.isRunning()) {
                log.warn("Listener thread {} woken up unexpectedly; stopping it", threadName(), e);
            }
            return null;
        } catch (Throwable e) {
            if (!owner.isRunning() && !(e instanceof ConsumerClosedException)
                    && slotConsumer.listenerConsumer().diagnostics().backgroundFailure().isEmpty()) {
                log.warn("Listener thread {} of container {} failed while stopping", threadName(), owner.listenerId(), e);
                return null;
            }
            return e;
        }
    }

    /**
     * Assigns the slot its share of the listener's partitions (every Nth, N being the slot count) and, unless it runs
     * a replacement consumer, seeks those with an initial offset.
     */
    private void assign(SlotConsumer slotConsumer) {
        int slotCount = owner.slotCount();
        List<TopicPartition> partitions = new ArrayList<>();
        Map<TopicPartition, Long> initialOffsets = new HashMap<>();
        List<LanesListenerEndpoint.Assignment> assignments = endpoint.assignments();
        for (int i = index; i < assignments.size(); i += slotCount) {
            LanesListenerEndpoint.Assignment assignment = assignments.get(i);
            partitions.add(assignment.partition());
            if (assignment.initialOffset() != null) {
                initialOffsets.put(assignment.partition(), assignment.initialOffset());
            }
        }
        Consumer<Object, Object> consumer = slotConsumer.consumer();
        consumer.assign(partitions);
        slotConsumer.progress().assignExactly(partitions);
        if (replacements > 0 || initialOffsets.isEmpty()) {
            return; // a replacement carries on from the committed offsets
        }
        Map<TopicPartition, Long> ends = initialOffsets.values().stream().anyMatch(offset -> offset < 0)
                ? consumer.endOffsets(initialOffsets.keySet()) : Map.of();
        initialOffsets.forEach((partition, offset) -> {
            long target = offset >= 0 ? offset : Math.max(0, ends.get(partition) + offset);
            consumer.seek(partition, target);
            log.info("Listener {} starts {} at offset {}", owner.listenerId(), partition, target);
        });
    }

    private void applyPause(Consumer<Object, Object> consumer) {
        if (owner.holding(this)) {
            Set<TopicPartition> assignment = consumer.assignment();
            if (!assignment.isEmpty() && !consumer.paused().containsAll(assignment)) {
                consumer.pause(assignment);
            }
        } else if (!consumer.paused().isEmpty()) {
            consumer.resume(consumer.paused());
        }
    }

    /** The background thread may die while the listener works; commits would then fail quietly (async). */
    private static void failIfDead(SlotConsumer slotConsumer) {
        Throwable failure = slotConsumer.listenerConsumer().diagnostics().backgroundFailure().orElse(null);
        if (failure != null) {
            throw new ConsumerClosedException("The consumer " + slotConsumer.clientId()
                    + " is closed because its background thread died: " + failure, failure);
        }
    }

    /** Commits what was processed and closes the consumer, within what is left of the stop deadline. */
    private void shutdown() {
        SlotConsumer slotConsumer = current;
        slotConsumer.committer().commitSync(slotConsumer.progress().processedOffsets(), owner.remaining());
        slotConsumer.progress().clearProcessed();
        try {
            owner.closeConsumer(slotConsumer.listenerConsumer(), owner.remaining());
        } catch (RuntimeException e) {
            log.warn("Closing consumer {} of listener {} failed", slotConsumer.clientId(), owner.listenerId(), e);
        }
    }

    /** Closes a failed consumer without committing anything further with it. */
    private void discardFailed(Throwable failure) {
        SlotConsumer slotConsumer = current;
        slotConsumer.committer().disable();
        log.error("Listener thread {} of container {} failed; its consumer {} is closed{}", threadName(),
                owner.listenerId(), slotConsumer.clientId(), owner.isRunning() && settings.replaceFailedConsumers()
                        ? " and will be replaced in " + settings.replaceBackOff() : "", failure);
        PartitionProgress progress = slotConsumer.progress();
        if (!progress.processedOffsets().isEmpty()) {
            log.warn("Listener {} commits nothing further with its failed consumer {} (last processed offsets {}, committed "
                    + "unless their asynchronous commit was still in flight); work past the group's committed offsets is "
                    + "consumed again", owner.listenerId(), slotConsumer.clientId(), progress.processedOffsets());
        }
        progress.clearProcessed();
        try {
            // A consumer whose background thread died has nothing to flush; one that is still alive (the failure
            // came from elsewhere) gets the usual time to leave its group.
            owner.closeConsumer(slotConsumer.listenerConsumer(),
                    slotConsumer.listenerConsumer().diagnostics().isBackgroundThreadAlive() ? owner.remaining() : Duration.ZERO);
        } catch (RuntimeException e) {
            log.warn("Closing failed consumer {} of listener {} failed", slotConsumer.clientId(), owner.listenerId(), e);
        }
    }

    /** Waits the back-off, then puts a fresh consumer in the slot; false when the slot ends instead. */
    private boolean replace() {
        SlotConsumer failed = current;
        try {
            boolean replaced = owner.replaceAfter(settings.replaceBackOff(),
                    () -> current = new SlotConsumer(owner.listenerId(), owner.createConsumer(index)));
            if (!replaced) {
                return false;
            }
        } catch (InterruptedException e) {
            log.warn("Listener thread {} interrupted while waiting to replace its failed consumer; it stops", threadName());
            Thread.currentThread().interrupt();
            return false;
        } catch (RuntimeException e) {
            log.error("Listener {} could not create a consumer to replace {}; the slot stays dead", owner.listenerId(),
                    failed.clientId(), e);
            return false;
        }
        replacements++;
        log.info("Listener {} replaced its failed consumer {} (replacement {} of slot {})", owner.listenerId(),
                failed.clientId(), replacements, index);
        return true;
    }
}
