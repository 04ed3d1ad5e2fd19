package dev.lanes.consumer.internals.background;

import dev.lanes.consumer.internals.common.Clock;
import dev.lanes.consumer.internals.shared.BackgroundHandle;
import dev.lanes.consumer.internals.shared.FetchBuffer;
import dev.lanes.consumer.internals.shared.MembershipView;
import dev.lanes.consumer.internals.shared.Lane;
import dev.lanes.consumer.internals.shared.PollTracker;
import dev.lanes.consumer.internals.shared.RebalanceCallbackQueue;
import dev.lanes.consumer.internals.adapter.Network;
import dev.lanes.consumer.internals.background.managers.CommitRequestManager;
import dev.lanes.consumer.internals.background.managers.CoordinatorRequestManager;
import dev.lanes.consumer.internals.background.managers.FetchRequestManager;
import dev.lanes.consumer.internals.background.managers.HeartbeatRequestManager;
import dev.lanes.consumer.MemberState;
import dev.lanes.consumer.internals.background.managers.MembershipManager;
import dev.lanes.consumer.internals.background.managers.OffsetsRequestManager;
import dev.lanes.consumer.internals.background.managers.TopicMetadataRequestManager;
import dev.lanes.consumer.internals.metrics.LanesConsumerMetrics;
import dev.lanes.consumer.internals.shared.SubscriptionState;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.IsolationLevel;

import java.util.Arrays;
import java.util.Map;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * The background side of one consumer, as the application thread sees it: the network thread, which owns
 * the request managers, and the group membership (present with a group.id), whose state the application
 * thread reads.
 *
 * @param networkThread the background thread, not started yet
 * @param membership    what the application thread reads of the group member, present with a group.id
 */
public record BackgroundSide(BackgroundHandle networkThread, Optional<MembershipView> membership) {

    /**
     * Builds the request managers (coordinator, commits, offsets, topic metadata, membership and heartbeat,
     * fetches) from the consumer's configuration, registers the group metrics, and puts the managers in an
     * unstarted network thread. Called once, from the consumer's constructor on the application thread.
     * The lanes, the fetch buffer, the subscriptions, the poll tracker and the callback queue passed in are
     * shared with the application thread, and {@code ownCommits} receives the commits the consumer makes on its
     * own (auto-commit, before a reconciliation); the caller keeps owning the network and the metrics, and closes
     * them if construction fails. {@code decodeAhead} says whether the background thread decodes buffered fetches
     * ahead of the application ({@code lanes.decode.ahead}).
     *
     * <p>Each manager is built with the managers it reads from; a link that needs both ends to exist first is made
     * afterwards by a named step below. "A feeds B" means B calls A during its own work.
     */
    public static BackgroundSide assemble(ConsumerConfig config, int userLaneBudget, Optional<String> groupId,
                                          boolean autoCommitEnabled, IsolationLevel isolationLevel, Clock clock,
                                          Network network, LanesConsumerMetrics metrics, SubscriptionState subscriptions,
                                          Lane systemLane, Lane userLane, FetchBuffer fetchBuffer,
                                          boolean decodeAhead, PollTracker pollTracker,
                                          RebalanceCallbackQueue rebalanceCallbacks,
                                          Consumer<Map<TopicPartition, OffsetAndMetadata>> ownCommits) {
        String clientId = config.getString(ConsumerConfig.CLIENT_ID_CONFIG);
        long retryBackoffMs = config.getLong(ConsumerConfig.RETRY_BACKOFF_MS_CONFIG);
        long retryBackoffMaxMs = config.getLong(ConsumerConfig.RETRY_BACKOFF_MAX_MS_CONFIG);
        int requestTimeoutMs = config.getInt(ConsumerConfig.REQUEST_TIMEOUT_MS_CONFIG);
        long maxPollIntervalMs = config.getInt(ConsumerConfig.MAX_POLL_INTERVAL_MS_CONFIG);

        // The coordinator, commits, membership and heartbeat exist with a group.id only. The coordinator is looked
        // up only when one of them asks for it (R14).
        Optional<CoordinatorRequestManager> coordinator = groupId.map(group ->
                new CoordinatorRequestManager(group, clock, retryBackoffMs, retryBackoffMaxMs, requestTimeoutMs));
        // The coordinator feeds commits: commits and committed-offset lookups go to it, and a commit whose answer
        // says it moved makes it look the coordinator up again.
        Optional<CommitRequestManager> commits = coordinator.map(found -> new CommitRequestManager(groupId.get(), clock,
                found, subscriptions, metrics, autoCommitEnabled,
                config.getInt(ConsumerConfig.AUTO_COMMIT_INTERVAL_MS_CONFIG), retryBackoffMs, retryBackoffMaxMs,
                isolationLevel == IsolationLevel.READ_COMMITTED));
        // Commits feed offsets: with a group, a new position starts at the committed offset, looked up through the
        // commit manager. Offsets wake a poll waiting in the fetch buffer when a position fails, so it throws.
        OffsetsRequestManager offsets = new OffsetsRequestManager(clock, network, subscriptions, commits, metrics,
                isolationLevel, requestTimeoutMs, retryBackoffMs, retryBackoffMaxMs, fetchBuffer::notifyStateChanged);
        // Topic metadata (partitionsFor, listTopics) is linked to no other manager.
        TopicMetadataRequestManager topicMetadata = new TopicMetadataRequestManager(clock, metrics,
                retryBackoffMs, retryBackoffMaxMs, config.getBoolean(ConsumerConfig.ALLOW_AUTO_CREATE_TOPICS_CONFIG));
        // Commits feed the membership: with auto-commit, a reconciliation first commits what was consumed (R15).
        // Its callbacks run on the application thread through the callback queue; the poll tracker says when the
        // application is in poll().
        Optional<MembershipManager> membership = commits.map(commitManager -> new MembershipManager(groupId.get(),
                Optional.ofNullable(config.getString(ConsumerConfig.GROUP_INSTANCE_ID_CONFIG)), clock, subscriptions,
                network, commitManager, rebalanceCallbacks, pollTracker, metrics, autoCommitEnabled, maxPollIntervalMs));
        // The membership and the coordinator feed the heartbeat: it sends the member's state to the coordinator
        // and hands the answers back to the member. The poll tracker tells it when max.poll.interval.ms ran out.
        Optional<HeartbeatRequestManager> heartbeat = membership.map(member -> new HeartbeatRequestManager(clock,
                member, coordinator.get(), pollTracker, metrics, maxPollIntervalMs, requestTimeoutMs,
                retryBackoffMs, retryBackoffMaxMs,
                Optional.ofNullable(config.getString(ConsumerConfig.CLIENT_RACK_CONFIG)).filter(rack -> !rack.isEmpty()),
                Optional.ofNullable(config.getString(ConsumerConfig.GROUP_REMOTE_ASSIGNOR_CONFIG))));
        FetchRequestManager fetches = new FetchRequestManager(clock, network, subscriptions, fetchBuffer, metrics,
                new FetchRequestManager.FetchConfig(
                        config.getInt(ConsumerConfig.FETCH_MIN_BYTES_CONFIG),
                        config.getInt(ConsumerConfig.FETCH_MAX_BYTES_CONFIG),
                        config.getInt(ConsumerConfig.FETCH_MAX_WAIT_MS_CONFIG),
                        config.getInt(ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG),
                        isolationLevel,
                        config.getString(ConsumerConfig.CLIENT_RACK_CONFIG),
                        requestTimeoutMs,
                        retryBackoffMs,
                        retryBackoffMaxMs));

        // The links made once both ends exist.
        commits.ifPresent(manager -> manager.reportOwnCommitsTo(ownCommits));
        membership.ifPresent(member -> commitAsTheMember(commits.get(), member));
        heartbeat.ifPresent(beat -> endFetchWaitsBeforeHeartbeats(fetches, beat));
        coordinator.ifPresent(found -> keepCoordinatorConnectionFreeForCommits(fetches, found, pollTracker));
        membership.ifPresent(member -> registerGroupMetrics(metrics, member, heartbeat.get(), subscriptions));

        RequestManagers managers = new RequestManagers(membership, commits, offsets, topicMetadata, heartbeat, fetches,
                coordinator);
        NetworkThread networkThread = new NetworkThread(clientId, clock,
                new EventLanes(systemLane, userLane, userLaneBudget), network,
                new RequestSender(network, metrics, requestTimeoutMs), managers, subscriptions, fetchBuffer,
                decodeAhead ? new BackgroundDecoding(fetchBuffer, subscriptions::isConsumable, isolationLevel,
                        config.getBoolean(ConsumerConfig.CHECK_CRCS_CONFIG), clock) : BackgroundDecoding.OFF, metrics);
        return new BackgroundSide(networkThread, membership.map(MembershipManager::view));
    }

    /**
     * The membership feeds commits: a member's commits carry its id and epoch, so that the coordinator refuses a
     * commit from a member that lost its partitions; out of the group, commits are made as a non-member. Made after
     * both exist, since the membership itself commits through the commit manager.
     */
    private static void commitAsTheMember(CommitRequestManager commits, MembershipManager member) {
        commits.useMemberIdentity(() -> member.state().inGroup() ? member.memberId() : "",
                () -> member.state().inGroup() ? member.memberEpoch() : -1);
    }

    /**
     * The heartbeat feeds fetches: one connection answers one request at a time (R6), so a long-poll fetch would
     * hold back the heartbeat sent behind it; each fetch's wait ends before the next heartbeat is due.
     */
    private static void endFetchWaitsBeforeHeartbeats(FetchRequestManager fetches, HeartbeatRequestManager heartbeat) {
        fetches.boundWaitBy(heartbeat::timeUntilNextHeartbeatMs);
    }

    /**
     * The coordinator feeds fetches (without ever asking for a lookup): on the coordinator's broker, fetches do not
     * long-poll while a commit from the application is likely, so that the commit is not held behind them (R6).
     */
    private static void keepCoordinatorConnectionFreeForCommits(FetchRequestManager fetches,
                                                               CoordinatorRequestManager coordinator,
                                                               PollTracker pollTracker) {
        fetches.keepCoordinatorConnectionFree(coordinator::knownNodeId, pollTracker);
    }

    /** KafkaConsumer's group metrics, read from the heartbeat, the member and the subscriptions. */
    private static void registerGroupMetrics(LanesConsumerMetrics metrics, MembershipManager member,
                                             HeartbeatRequestManager heartbeat, SubscriptionState subscriptions) {
        metrics.registerGroup(heartbeat::heartbeatIntervalMs, heartbeat::lastHeartbeatMsAgo,
                heartbeat::lastHeartbeatSentMs,
                () -> member.view().state().ordinal(), Arrays.toString(MemberState.values()),
                () -> subscriptions.assignedPartitions().size());
    }
}
