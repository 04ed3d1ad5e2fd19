package dev.lanes.spring.listener;

import dev.lanes.consumer.ConsumerClosedException;
import dev.lanes.consumer.LanesConsumer;
import dev.lanes.spring.CommitMode;
import dev.lanes.spring.ConfigurableLanesListenerContainer;
import dev.lanes.spring.LanesConsumerFactory;
import dev.lanes.spring.LanesErrorHandler;
import dev.lanes.spring.ListenerConsumer;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.common.PartitionInfo;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.core.task.SimpleAsyncTaskExecutor;
import org.springframework.core.task.TaskExecutor;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

/**
 * Runs {@code concurrency} Lanes consumers of one listener endpoint: this class holds the settings and the
 * lifecycle (start, graceful stop, pause, the balanced start of several consumers); each consumer runs in a
 * {@link ConsumerSlot} on a thread of the container's {@link TaskExecutor}, named {@code lanes-listener-<id>-<n>}
 * while it runs; a {@link RecordDispatcher} hands the records to the listener and commits after processing (per
 * record or per poll). Processed offsets are committed synchronously when partitions are revoked and when the
 * container stops. Settings are read when the container starts.
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
    private final List<ConsumerSlot> slots = new CopyOnWriteArrayList<>();
    private final SlotOwner slotOwner = new Owner();
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
    private volatile TaskExecutor taskExecutor;

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
    public List<ListenerConsumer<?, ?>> consumers() {
        List<ListenerConsumer<?, ?>> consumers = new ArrayList<>();
        slots.forEach(slot -> consumers.add(slot.consumer()));
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

    /**
     * The executor whose threads run the consumers, one task per consumer for as long as the container runs: a
     * {@link SimpleAsyncTaskExecutor}, for example, with virtual threads turned on. Null (the default) starts a new
     * platform thread per consumer.
     */
    @Override
    public void setTaskExecutor(TaskExecutor taskExecutor) {
        this.taskExecutor = taskExecutor;
    }

    @Override
    public TaskExecutor getTaskExecutor() {
        return taskExecutor;
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
            List<ConsumerSlot> created = new ArrayList<>();
            try {
                int slotCount = slotCount();
                if (slotCount < concurrency) {
                    log.info("Listener {} runs {} consumer(s), one per assigned partition, not its concurrency {}", id(),
                            slotCount, concurrency);
                }
                RecordDispatcher dispatcher = new RecordDispatcher(endpoint, groupId, commitMode, errorHandler, () -> !running);
                ConsumerSlot.Settings settings = new ConsumerSlot.Settings(pollTimeout, replaceFailedConsumers,
                        replaceBackOff, rebalanceListener);
                for (int n = 0; n < slotCount; n++) {
                    created.add(new ConsumerSlot(slotOwner, n, slotOwner.createConsumer(n), endpoint, dispatcher, settings));
                }
            } catch (RuntimeException e) {
                created.forEach(slot -> slotOwner.closeConsumer(slot.consumer(), Duration.ZERO));
                throw e;
            }
            startBalance = created.size() < 2 || endpoint.isAssigned() ? StartBalance.open(id())
                    : new StartBalance(id(), startBalanceTimeout);
            running = true;
            slots.addAll(created);
            TaskExecutor executor = taskExecutor != null ? taskExecutor : new SimpleAsyncTaskExecutor("lanes-listener-" + id() + "-");
            for (ConsumerSlot slot : created) {
                try {
                    executor.execute(slot);
                } catch (RuntimeException e) {
                    abortStart(slot, e);
                    throw e;
                }
            }
            log.info("Started listener container {} (group {}, topics {}, {} consumer(s))", id(), groupId, topics(), created.size());
        }
    }

    /**
     * The executor refused a slot: the slots already running stop as on a stop, those not started close their
     * consumers here.
     */
    private void abortStart(ConsumerSlot refused, RuntimeException cause) {
        log.error("Listener container {} could not start: its task executor refused consumer {}", id(),
                refused.consumer().clientId(), cause);
        List<ConsumerSlot> notStarted = List.copyOf(slots.subList(slots.indexOf(refused), slots.size()));
        notStarted.forEach(slot -> slotOwner.closeConsumer(slot.consumer(), Duration.ZERO));
        slots.removeAll(notStarted);
        initiateStop();
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
        slots.forEach(ConsumerSlot::wakeup);
    }

    @Override
    public void stop() {
        initiateStop();
        long deadline = stopDeadlineNanos;
        for (ConsumerSlot slot : slots) {
            if (slot.runsOn(Thread.currentThread())) {
                continue;
            }
            try {
                Duration remaining = Duration.ofNanos(Math.max(1_000_000, deadline - System.nanoTime() + 500_000_000));
                if (!slot.awaitFinished(remaining)) {
                    log.warn("Listener thread {} did not stop within {}", slot.threadName(), shutdownTimeout);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        slots.removeIf(ConsumerSlot::isFinished);
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

    /** How many consumers the container runs: its concurrency, but no more than it has assigned partitions for. */
    private int slotCount() {
        return endpoint.isAssigned() ? Math.min(concurrency, endpoint.assignments().size()) : concurrency;
    }

    private String clientId(int n) {
        Object prefix = consumerProperties.getOrDefault(ConsumerConfig.CLIENT_ID_CONFIG,
                consumerFactory.configuration().get(ConsumerConfig.CLIENT_ID_CONFIG));
        String base = (prefix == null || prefix.toString().isEmpty() ? "" : prefix + "-") + id() + "-" + n;
        return base.replaceAll("[^A-Za-z0-9._-]", "-");
    }

    /** How many partitions the listener's topics have, or -1 when that cannot be told (a pattern, a missing topic). */
    private int expectedPartitions(ConsumerSlot slot) {
        if (endpoint.topicPattern() != null) {
            return -1;
        }
        int count = 0;
        try {
            for (String topic : endpoint.topics()) {
                List<PartitionInfo> partitions = slot.consumer().consumer().partitionsFor(topic, Duration.ofSeconds(5));
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

    @Override
    public String toString() {
        return "DefaultLanesListenerContainer[" + id() + "]";
    }

    /** The container as its slots see it. */
    private final class Owner implements SlotOwner {

        @Override
        public String listenerId() {
            return id();
        }

        @Override
        public boolean isRunning() {
            return running;
        }

        @Override
        public boolean holding(ConsumerSlot slot) {
            return pauseRequested || !startBalance.isOpen(slots, () -> expectedPartitions(slot));
        }

        @Override
        public Duration remaining() {
            if (running || stopDeadlineNanos == 0) {
                return shutdownTimeout;
            }
            return Duration.ofNanos(Math.max(0, stopDeadlineNanos - System.nanoTime()));
        }

        @Override
        public int slotCount() {
            return DefaultLanesListenerContainer.this.slotCount();
        }

        @Override
        public ListenerConsumer<Object, Object> createConsumer(int slotIndex) {
            Map<String, Object> overrides = new HashMap<>(consumerProperties);
            overrides.put(ConsumerConfig.GROUP_ID_CONFIG, groupId);
            overrides.put(ConsumerConfig.CLIENT_ID_CONFIG, clientId(slotIndex));
            return ListenerConsumer.of(consumerFactory.createConsumer(id(), overrides));
        }

        @Override
        public boolean replaceAfter(Duration backOff, Runnable replace) throws InterruptedException {
            long deadline = System.nanoTime() + backOff.toNanos();
            synchronized (lifecycleMonitor) {
                long remaining;
                while (running && (remaining = deadline - System.nanoTime()) > 0) {
                    TimeUnit.NANOSECONDS.timedWait(lifecycleMonitor, remaining);
                }
                if (!running) {
                    return false;
                }
                replace.run();
                return true;
            }
        }

        @Override
        @SuppressWarnings("unchecked")
        public void closeConsumer(ListenerConsumer<Object, Object> consumer, Duration timeout) {
            // Every consumer of the container came from createConsumer, so from the factory.
            consumerFactory.closeConsumer(id(), (LanesConsumer<Object, Object>) consumer.consumer(), timeout);
        }
    }
}
