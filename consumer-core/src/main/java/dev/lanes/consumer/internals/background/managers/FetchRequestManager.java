package dev.lanes.consumer.internals.background.managers;

import dev.lanes.consumer.internals.adapter.FetchSessions;
import dev.lanes.consumer.internals.adapter.FetchedPartition;
import dev.lanes.consumer.internals.adapter.Network;
import dev.lanes.consumer.internals.common.Clock;
import dev.lanes.consumer.internals.shared.FetchBuffer;
import dev.lanes.consumer.internals.shared.PollTracker;
import dev.lanes.consumer.internals.metrics.LanesConsumerMetrics;
import dev.lanes.consumer.internals.shared.SubscriptionState;
import org.apache.kafka.clients.consumer.LogTruncationException;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.consumer.OffsetOutOfRangeException;
import org.apache.kafka.common.IsolationLevel;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.errors.CorruptRecordException;
import org.apache.kafka.common.errors.InvalidMetadataException;
import org.apache.kafka.common.errors.OffsetNotAvailableException;
import org.apache.kafka.common.errors.UnknownServerException;
import org.apache.kafka.common.errors.RetriableException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;
import java.util.function.IntSupplier;
import java.util.function.LongUnaryOperator;

/**
 * Fetches records for the assigned partitions that have a position and are not paused: one Fetch in
 * flight per broker, carrying every such partition. A partition whose data still waits for the
 * application is fetched on from where that data ends, so the next fetch is never narrower than the
 * last (the pipelining a single-threaded consumer cannot do). Each fetch asks for at most the room left
 * in the buffer (less what decoding ahead may fill meanwhile), so a consumer whose application stops polling stops fetching at the bound (R9), while
 * its other work goes on. Background thread only.
 */
public final class FetchRequestManager implements RequestManager {

    private static final Logger log = LoggerFactory.getLogger(FetchRequestManager.class);
    /**
     * How long records just fetched from the coordinator's broker count as about to be returned by the poll()
     * in progress; records the application does not take (a paused partition) hold nothing back for longer.
     */
    private static final long DELIVERY_GRACE_MS = 200;

    /** The fetch settings of ConsumerConfig. */
    public record FetchConfig(int minBytes, int maxBytes, int maxWaitMs, int partitionMaxBytes,
                              IsolationLevel isolationLevel, String rackId,
                              long requestTimeoutMs, long retryBackoffMs, long retryBackoffMaxMs) {
    }

    /**
     * Where a partition's next fetch starts while earlier data of it waits, the epoch of the record before, and the
     * position epoch the data before was fetched under: after a seek or reset the chain leads from a position the
     * application has left.
     */
    private record Chained(long offset, Optional<Integer> lastEpoch, int positionEpoch) {
    }

    /** A follower the leader told us to fetch a partition from (KIP-392), until {@code expiresAtMs}. */
    private record ReadReplica(int nodeId, long expiresAtMs) {
    }

    private final Clock clock;
    private final Network network;
    private final SubscriptionState subscriptions;
    private final FetchBuffer buffer;
    private final LanesConsumerMetrics metrics;
    private final FetchConfig config;
    private final Set<Integer> nodesInFlight = new HashSet<>();
    /** Where to fetch a partition next while earlier data of it waits in the buffer. */
    private final Map<TopicPartition, Chained> chainedOffsets = new HashMap<>();
    private final Map<Integer, Long> nodeBackoffUntilMs = new HashMap<>();
    /** Where each partition is fetched from instead of its leader, as the leader said. */
    private final Map<TopicPartition, ReadReplica> readReplicas = new java.util.concurrent.ConcurrentHashMap<>(); // read by a gauge
    /** Partitions whose last fetch failed with a retriable error: retried after a growing back-off. */
    private final Map<TopicPartition, RetryBackoff> partitionBackoffs = new HashMap<>();
    /** The topic id each assigned topic had when its partitions were fetched. */
    private final Map<String, Uuid> fetchedTopicIds = new HashMap<>();
    /** Brokers whose last fetch came back without records: the consumer has caught up with them. */
    private final Set<Integer> caughtUpNodes = new HashSet<>();
    private IntSupplier coordinatorNodeId = () -> -1;
    private PollTracker pollTracker;
    /** The poll() entry during which records of the coordinator's broker were last buffered, and when. */
    private long deliveredInPollEntry = -1;
    private long deliveredAtMs;
    private long reservedBytes;
    private long pausedSinceNanos = -1;
    private boolean enabled = true;
    /** The assignment the per-partition fetch metrics were last set up for. */
    private int metricsAssignmentVersion = -1;
    private LongUnaryOperator timeUntilNextHeartbeat = nowMs -> Long.MAX_VALUE;

    public FetchRequestManager(Clock clock, Network network, SubscriptionState subscriptions, FetchBuffer buffer,
                               LanesConsumerMetrics metrics, FetchConfig config) {
        this.clock = clock;
        this.network = network;
        this.subscriptions = subscriptions;
        this.buffer = buffer;
        this.metrics = metrics;
        this.config = config;
    }

    /**
     * A broker answers one request per connection at a time, so a fetch waiting on the broker holds back a
     * heartbeat sent behind it (R6): each fetch's wait ends before the next heartbeat is due.
     */
    public void boundWaitBy(LongUnaryOperator timeUntilNextHeartbeat) {
        this.timeUntilNextHeartbeat = timeUntilNextHeartbeat;
    }

    /**
     * Keeps the group coordinator's connection free for commits. A broker answers one request per connection at a
     * time (R6), so a commit sent while a fetch long-polls a caught-up broker waits up to {@code fetch.max.wait.ms}.
     * A commit comes from the application thread outside poll(), after records were returned; so, on the
     * coordinator's broker, a fetch after one that returned records does not wait on the broker (with data
     * flowing it returns at once anyway), and once caught up, no fetch goes there while the application is outside
     * poll(): the next one goes out, long-polling as configured, when it enters poll() again, as with a
     * single-threaded consumer. Not with {@code fetch.min.bytes} above 1, whose batching needs the wait.
     */
    public void keepCoordinatorConnectionFree(IntSupplier coordinatorNodeId, PollTracker pollTracker) {
        if (config.minBytes() <= 1) {
            this.coordinatorNodeId = coordinatorNodeId;
            this.pollTracker = pollTracker;
        }
    }

    /** Stops fetching for good (the consumer is closing). */
    public void disable() {
        enabled = false;
    }

    @Override
    public PollResult poll(long nowMs) {
        if (!enabled) {
            return PollResult.NOTHING;
        }
        int assignmentVersion = subscriptions.assignmentVersion();
        if (assignmentVersion != metricsAssignmentVersion) {
            metricsAssignmentVersion = assignmentVersion;
            metrics.fetchManager().assignment(subscriptions.assignedPartitions(), this::readReplicaId);
        }
        // Fetching into a sliver of room would cost a request per few records: fetching waits until a useful
        // amount is free again (a partition's worth, or a quarter of the bound if that is smaller).
        long usefulRoom = Math.max(1, Math.min(config.partitionMaxBytes(), buffer.maxBytes() / 4));
        long fetchRoom = buffer.fetchRoom();
        if (fetchRoom < usefulRoom) {
            if (pausedSinceNanos < 0) {
                pausedSinceNanos = clock.nanoseconds();
            }
            return PollResult.NOTHING; // the buffer wakes the background thread when room is freed
        }
        if (pausedSinceNanos >= 0) {
            metrics.fetchPaused(clock.nanoseconds() - pausedSinceNanos);
            pausedSinceNanos = -1;
        }
        long room = fetchRoom - reservedBytes;
        if (room < usefulRoom) {
            return PollResult.NOTHING; // fetches in flight may fill what is left; their responses wake us
        }
        Map<Node, Map<TopicPartition, FetchSessions.PartitionFetch>> byLeader = new LinkedHashMap<>();
        // The offsets manager, polled earlier in this iteration, looks the reset positions up in the next one.
        long wait = resetPositionsOfRecreatedTopics() ? 0 : Long.MAX_VALUE;
        int coordinatorNode = coordinatorNodeId.getAsInt();
        boolean deferred = false;
        Map<TopicPartition, Integer> positionEpochs = new HashMap<>();
        for (Map.Entry<TopicPartition, SubscriptionState.FetchPosition> entry : subscriptions.fetchablePositions().entrySet()) {
            TopicPartition partition = entry.getKey();
            SubscriptionState.FetchPosition position = entry.getValue();
            Optional<Node> leader = network.leader(partition);
            Optional<Integer> leaderEpoch = network.leaderEpoch(partition);
            if (leader.isPresent() && subscriptions.validateOnLeaderChange(partition, leaderEpoch)) {
                chainedOffsets.remove(partition);
                wait = 0; // the offsets manager, polled before this one, checks the position next time round
                continue;
            }
            long offset;
            Optional<Integer> lastEpoch;
            if (buffer.isBuffered(partition)) {
                Chained chained = chainedOffsets.get(partition);
                if (chained == null) {
                    continue;
                }
                if (chained.positionEpoch() != position.positionEpoch()) {
                    // A seek or reset since: what is buffered is being dropped, and the chain leads nowhere.
                    chainedOffsets.remove(partition);
                    continue;
                }
                offset = chained.offset();
                lastEpoch = chained.lastEpoch();
            } else {
                chainedOffsets.remove(partition);
                // Read again now that nothing of the partition is buffered: since the snapshot above the application
                // may have read on to the end of its last fetch and released it. Fetched from the snapshot's offset,
                // the answer would start behind the position and be dropped as stale, with every fetch chained to it.
                // Responses are buffered on this thread only, so the partition stays unbuffered until the fetch goes.
                Optional<SubscriptionState.FetchPosition> now = subscriptions.fetchPosition(partition);
                if (now.isEmpty()) {
                    continue;
                }
                position = now.get();
                offset = position.offset();
                lastEpoch = position.leaderEpoch();
            }
            RetryBackoff partitionBackoff = partitionBackoffs.get(partition);
            if (partitionBackoff != null && !partitionBackoff.canSend(nowMs)) {
                wait = Math.min(wait, partitionBackoff.remainingBackoffMs(nowMs));
                continue;
            }
            if (leader.isEmpty()) {
                network.requestMetadataUpdate();
                continue;
            }
            Node target = readReplicaOrLeader(partition, leader.get(), nowMs);
            int nodeId = target.id();
            long backoffUntil = nodeBackoffUntilMs.getOrDefault(nodeId, 0L);
            if (nodesInFlight.contains(nodeId)) {
                continue;
            }
            if (backoffUntil > nowMs) {
                wait = Math.min(wait, backoffUntil - nowMs);
                continue;
            }
            if (nodeId == coordinatorNode && caughtUpNodes.contains(nodeId)) {
                long deferMs = commitLikelyForMs(nowMs);
                if (deferMs > 0) {
                    deferred = true;
                    wait = Math.min(wait, deferMs);
                    continue;
                }
            }
            byLeader.computeIfAbsent(target, node -> new LinkedHashMap<>())
                    .put(partition, new FetchSessions.PartitionFetch(offset, leaderEpoch, lastEpoch));
            positionEpochs.put(partition, position.positionEpoch());
        }
        if (deferred) {
            pollTracker.requestWakeOnEntry();
        }
        List<UnsentRequest<?>> requests = new ArrayList<>();
        // The room is shared by the brokers fetched from now, so that none of them waits for another.
        long share = byLeader.isEmpty() ? room : Math.max(1, room / byLeader.size());
        for (Map.Entry<Node, Map<TopicPartition, FetchSessions.PartitionFetch>> entry : byLeader.entrySet()) {
            if (room <= 0) {
                break;
            }
            Node node = entry.getKey();
            int maxBytes = (int) Math.min(config.maxBytes(), Math.min(share, room));
            int partitionMaxBytes = (int) Math.min(config.partitionMaxBytes(), room);
            room -= maxBytes;
            reservedBytes += maxBytes;
            nodesInFlight.add(node.id());
            int maxWaitMs = node.id() == coordinatorNode && !caughtUpNodes.contains(node.id()) ? 0
                    : (int) Math.max(1, Math.min(config.maxWaitMs(), timeUntilNextHeartbeat.applyAsLong(nowMs)));
            FetchSessions.FetchLimits limits = new FetchSessions.FetchLimits(maxWaitMs, config.minBytes(),
                    maxBytes, partitionMaxBytes, config.isolationLevel(), config.rackId());
            // A seek or reset after the positions were read makes the answer stale: remember their epochs.
            Map<TopicPartition, Integer> sentEpochs = new HashMap<>();
            entry.getValue().keySet().forEach(partition -> sentEpochs.put(partition, positionEpochs.get(partition)));
            requests.add(new UnsentRequest<>(network.fetchRequest(node.id(), entry.getValue(), limits),
                    Optional.of(node), Priority.USER, nowMs + config.requestTimeoutMs() + config.maxWaitMs(),
                    (result, error) -> onResponse(node, maxBytes, sentEpochs, nowMs, result, error)));
        }
        return new PollResult(wait, requests);
    }

    /**
     * A topic deleted and created again under the same name has a new topic id and a new log: positions in the
     * old one mean nothing there, so they are reset by auto.offset.reset (with none, the lookup fails with
     * NoOffsetForPartitionException) instead of reading the new topic from the old topic's offsets. Returns
     * whether any position was reset.
     */
    private boolean resetPositionsOfRecreatedTopics() {
        boolean reset = false;
        Map<String, Uuid> ids = network.topicIds();
        Set<String> assigned = subscriptions.assignedTopics();
        for (String topic : assigned) {
            Uuid id = ids.get(topic);
            if (id == null || Uuid.ZERO_UUID.equals(id)) {
                continue;
            }
            Uuid before = fetchedTopicIds.put(topic, id);
            if (before == null || before.equals(id)) {
                continue;
            }
            List<TopicPartition> partitions = new ArrayList<>();
            for (TopicPartition partition : subscriptions.assignedPartitions()) {
                if (partition.topic().equals(topic)) {
                    partitions.add(partition);
                    chainedOffsets.remove(partition);
                    readReplicas.remove(partition);
                    partitionBackoffs.remove(partition);
                }
            }
            log.info("Topic {} was deleted and created again (topic id {} is now {}); positions of {} are reset by "
                    + "auto.offset.reset", topic, before, id, partitions);
            for (TopicPartition partition : partitions) {
                subscriptions.requestReset(List.of(partition), subscriptions.resetStrategy(partition));
            }
            reset = true;
        }
        fetchedTopicIds.keySet().retainAll(assigned);
        return reset;
    }

    /**
     * The broker to fetch a partition from: the follower its leader named (KIP-392) while that holds and the
     * follower is online, else the leader.
     */
    private Node readReplicaOrLeader(TopicPartition partition, Node leader, long nowMs) {
        ReadReplica replica = readReplicas.get(partition);
        if (replica == null) {
            return leader;
        }
        Optional<Node> node = nowMs < replica.expiresAtMs() ? network.replicaIfOnline(partition, replica.nodeId())
                : Optional.empty();
        if (node.isEmpty()) {
            readReplicas.remove(partition);
            if (nowMs < replica.expiresAtMs()) {
                network.requestMetadataUpdate(); // metadata no longer lists it online: it may be stale
            }
            return leader;
        }
        return node.get();
    }

    /**
     * How long the application may still commit before it waits in poll() again: while it is outside poll(),
     * until its next entry (it wakes this thread); while the poll() in progress is about to return records just
     * fetched from the coordinator's broker, a short grace. Zero when a long poll cannot delay a commit.
     */
    private long commitLikelyForMs(long nowMs) {
        if (!pollTracker.inPoll()) {
            return Long.MAX_VALUE;
        }
        boolean deliveringNow = pollTracker.entries() == deliveredInPollEntry && nowMs - deliveredAtMs < DELIVERY_GRACE_MS;
        return deliveringNow ? deliveredAtMs + DELIVERY_GRACE_MS - nowMs : 0;
    }

    /** The follower a partition is fetched from, or -1 for its leader: the preferred-read-replica gauge. */
    private int readReplicaId(TopicPartition partition) {
        ReadReplica replica = readReplicas.get(partition);
        return replica == null ? -1 : replica.nodeId();
    }

    private void onResponse(Node node, int reserved, Map<TopicPartition, Integer> positionEpochs, long sentAtMs,
                            FetchSessions.FetchResult result, Throwable error) {
        nodesInFlight.remove(node.id());
        reservedBytes -= reserved;
        long nowMs = clock.milliseconds();
        if (error != null) {
            caughtUpNodes.remove(node.id());
            readReplicas.values().removeIf(replica -> replica.nodeId() == node.id());
            network.fetchFailed(node.id(), error);
            nodeBackoffUntilMs.put(node.id(), nowMs + config.retryBackoffMs());
            if (!(error instanceof RetriableException)) {
                log.warn("Fetch from node {} failed: {}", node.id(), error.toString());
            }
            return;
        }
        metrics.fetchManager().fetchResponse(nowMs - sentAtMs, result.throttleTimeMs());
        boolean records = false;
        List<FetchedPartition> toBuffer = new ArrayList<>();
        for (FetchedPartition fetched : result.data().values()) {
            records |= fetched.sizeInBytes() > 0;
            TopicPartition partition = fetched.partition();
            subscriptions.updateFetchOffsets(partition, fetched.highWatermark(), fetched.lastStableOffset(),
                    fetched.logStartOffset());
            if (fetched.sizeInBytes() == 0 && !buffer.isBuffered(partition) && subscriptions.isAssigned(partition)) {
                // Nothing for the application to take, which would measure lag and lead as of its new position:
                // measured here, as KafkaConsumer does for an empty answer.
                metrics.fetchManager().partitionOffsets(partition,
                        subscriptions.lag(partition, config.isolationLevel() == IsolationLevel.READ_COMMITTED).orElse(-1),
                        subscriptions.lead(partition).orElse(-1));
            }
            partitionBackoffs.remove(partition);
            boolean current = Integer.valueOf(subscriptions.positionEpoch(partition)).equals(positionEpochs.get(partition))
                    && subscriptions.isConsumable(partition);
            if (!current) {
                chainedOffsets.remove(partition);
            } else if (fetched.sizeInBytes() > 0 && fetched.nextFetchOffset() > fetched.fetchOffset()) {
                toBuffer.add(fetched);
                chainedOffsets.put(partition, new Chained(fetched.nextFetchOffset(), fetched.lastEpoch(),
                        positionEpochs.get(partition)));
            } else if (fetched.sizeInBytes() > 0) {
                // Bytes, but not one complete batch from the fetch offset on: fetching again would get the same.
                chainedOffsets.remove(partition);
                partitionBackoff(partition, nowMs);
                buffer.addError(new KafkaException("Failed to make progress reading messages at " + partition + "="
                        + fetched.fetchOffset() + ". Received a non-empty fetch response from the server, but no "
                        + "complete records were found."));
            }
        }
        // What reaches the application from this response is counted once it is done with all of it.
        metrics.fetchManager().responseBuffered(toBuffer);
        toBuffer.forEach(buffer::add);
        result.preferredReadReplicas().forEach((partition, replica) -> {
            log.debug("Fetching {} from replica {} as its leader {} asks", partition, replica, node.id());
            readReplicas.put(partition, new ReadReplica(replica, nowMs + network.metadataMaxAgeMs()));
        });
        if (records) {
            caughtUpNodes.remove(node.id());
            if (pollTracker != null && node.id() == coordinatorNodeId.getAsInt()) {
                deliveredInPollEntry = pollTracker.entries();
                deliveredAtMs = nowMs;
            }
        } else {
            caughtUpNodes.add(node.id());
        }
        metrics.fetchBufferFilled(buffer.bytes());
        result.divergences().forEach((partition, divergence) -> {
            chainedOffsets.remove(partition);
            onDivergence(partition, divergence, positionEpochs.getOrDefault(partition, -1));
        });
        result.errors().forEach((partition, partitionError) -> {
            chainedOffsets.remove(partition);
            onPartitionError(partition, partitionError.error(), partitionError.fetchOffset(), nowMs);
        });
    }

    private void partitionBackoff(TopicPartition partition, long nowMs) {
        partitionBackoffs.computeIfAbsent(partition, key -> new RetryBackoff(config.retryBackoffMs(), config.retryBackoffMaxMs()))
                .onFailure(nowMs);
    }

    /**
     * Handles a partition's error as KafkaConsumer does. An answer about an offset the application has moved away
     * from since (a seek, or data still waiting at an earlier offset) changes nothing: it is met again, and
     * handled, if the application gets there.
     */
    private void onPartitionError(TopicPartition partition, RuntimeException error, long fetchOffset, long nowMs) {
        if (error instanceof org.apache.kafka.common.errors.OffsetOutOfRangeException) {
            if (readReplicas.remove(partition) != null) {
                log.debug("Offset {} of {} is out of range on the follower; fetching from the leader", fetchOffset, partition);
                return;
            }
            OptionalLong position = subscriptions.isAssigned(partition) ? subscriptions.position(partition) : OptionalLong.empty();
            if (position.isEmpty() || position.getAsLong() != fetchOffset) {
                return;
            }
            if (subscriptions.resetStrategy(partition).isNone()) {
                buffer.addError(new OffsetOutOfRangeException("Fetch position " + fetchOffset + " is out of range for "
                        + "partition " + partition + " and auto.offset.reset is none", Map.of(partition, fetchOffset)));
            } else {
                log.info("Fetch position {} of {} is out of range; resetting it by auto.offset.reset", fetchOffset, partition);
                subscriptions.resetAfterOutOfRange(partition, fetchOffset);
            }
        } else if (error instanceof InvalidMetadataException || error instanceof OffsetNotAvailableException) {
            // The leader moved or a replica is unavailable: metadata (or the new leader's hint, already applied) says
            // where to go next.
            log.debug("Fetching {} at offset {} failed: {}", partition, fetchOffset, error.toString());
            readReplicas.remove(partition);
            network.requestMetadataUpdate();
            partitionBackoff(partition, nowMs);
        } else if (error instanceof CorruptRecordException) {
            if (isCurrent(partition, fetchOffset)) {
                buffer.addError(new KafkaException("Encountered corrupt message when fetching offset " + fetchOffset
                        + " for topic-partition " + partition, error));
            }
            partitionBackoff(partition, nowMs);
        } else if (error instanceof UnknownServerException) {
            log.warn("Unknown server error while fetching offset {} for topic-partition {}", fetchOffset, partition);
            partitionBackoff(partition, nowMs);
        } else if (error instanceof RetriableException) {
            log.debug("Retriable error fetching {} at offset {}: {}", partition, fetchOffset, error.toString());
            partitionBackoff(partition, nowMs);
        } else {
            buffer.addError(error);
            partitionBackoff(partition, nowMs);
        }
    }

    /**
     * The leader's log diverges from what the application read (KIP-320): an unclean leader election truncated
     * it. As KafkaConsumer does: the position moves back to the first offset known to diverge, so the records
     * written since are read, not skipped; with auto.offset.reset none, poll() throws LogTruncationException
     * naming that offset until the application seeks. The same check KafkaConsumer makes with OffsetsForLeaderEpoch
     * after a leader change ({@code PositionValidator}), here carried by every fetch at no extra round trip.
     */
    private void onDivergence(TopicPartition partition, FetchSessions.Divergence divergence, int positionEpoch) {
        long fetchOffset = divergence.fetchOffset();
        if (!isCurrent(partition, fetchOffset)) {
            return; // data still waits at an earlier offset, or the application moved: met again if it gets here
        }
        boolean known = divergence.leaderEpoch() >= 0 && divergence.endOffset() >= 0;
        if (known && divergence.endOffset() >= fetchOffset) {
            // Nothing read is gone; only the epoch the position carried is unknown to this leader.
            subscriptions.truncateTo(partition, fetchOffset, fetchOffset, Optional.of(divergence.leaderEpoch()));
            return;
        }
        if (!subscriptions.resetStrategy(partition).isNone()) {
            if (known) {
                log.info("Truncation detected for partition {} at offset {}; resetting to the first offset known to "
                        + "diverge, {}", partition, fetchOffset, divergence.endOffset());
                subscriptions.truncateTo(partition, fetchOffset, divergence.endOffset(),
                        Optional.of(divergence.leaderEpoch()));
            } else {
                log.info("Truncation detected for partition {} at offset {}; resetting by auto.offset.reset", partition,
                        fetchOffset);
                subscriptions.resetAfterOutOfRange(partition, fetchOffset);
            }
            return;
        }
        Map<TopicPartition, OffsetAndMetadata> divergent = known
                ? Map.of(partition, new OffsetAndMetadata(divergence.endOffset(), Optional.of(divergence.leaderEpoch()), null))
                : Map.of();
        log.warn("Truncation detected for partition {} at offset {} (divergent offsets {}), and auto.offset.reset is "
                + "none", partition, fetchOffset, divergent);
        subscriptions.truncationWithoutReset(partition, positionEpoch, new LogTruncationException(
                "Truncated partitions detected with divergent offsets " + divergent, Map.of(partition, fetchOffset), divergent));
        buffer.notifyStateChanged();
    }

    private boolean isCurrent(TopicPartition partition, long fetchOffset) {
        return subscriptions.isAssigned(partition) && subscriptions.isCurrentPosition(partition, fetchOffset);
    }
}
