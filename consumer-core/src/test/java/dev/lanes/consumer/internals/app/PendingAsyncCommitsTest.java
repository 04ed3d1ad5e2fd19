package dev.lanes.consumer.internals.app;

import dev.lanes.consumer.ConsumerClosedException;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.consumer.RetriableCommitFailedException;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class PendingAsyncCommitsTest {

    private static final TopicPartition TP = new TopicPartition("topic", 0);

    private final List<Map<TopicPartition, OffsetAndMetadata>> committed = new ArrayList<>();
    private final List<String> calls = new ArrayList<>();
    private final PendingAsyncCommits commits = new PendingAsyncCommits(committed::add);

    private static Map<TopicPartition, OffsetAndMetadata> offsets(long offset) {
        return Map.of(TP, new OffsetAndMetadata(offset));
    }

    private CompletableFuture<Map<TopicPartition, OffsetAndMetadata>> add(String name, long offset) {
        CompletableFuture<Map<TopicPartition, OffsetAndMetadata>> result = new CompletableFuture<>();
        commits.add(offsets(offset), result, (offsets, exception) ->
                calls.add(name + (exception == null ? " ok " : " failed ") + offsets.get(TP).offset()));
        return result;
    }

    @Test
    void callbacksRunOnlyWhenTheApplicationThreadDrainsThem() {
        CompletableFuture<Map<TopicPartition, OffsetAndMetadata>> first = add("first", 1);

        first.complete(offsets(1));

        assertThat(calls).isEmpty();
        commits.runCompletedCallbacks();
        assertThat(calls).containsExactly("first ok 1");
        assertThat(commits.size()).isZero();
    }

    @Test
    void callbacksRunOnTheThreadThatDrainsNotTheOneThatCompletes() throws Exception {
        List<Thread> callbackThreads = new ArrayList<>();
        CompletableFuture<Map<TopicPartition, OffsetAndMetadata>> result = new CompletableFuture<>();
        commits.add(offsets(1), result, (offsets, exception) -> callbackThreads.add(Thread.currentThread()));

        Thread completer = new Thread(() -> result.complete(offsets(1)));
        completer.start();
        completer.join();
        commits.runCompletedCallbacks();

        assertThat(callbackThreads).containsExactly(Thread.currentThread());
    }

    @Test
    void callbacksRunInTheOrderTheCommitsWereMade() {
        CompletableFuture<Map<TopicPartition, OffsetAndMetadata>> first = add("first", 1);
        CompletableFuture<Map<TopicPartition, OffsetAndMetadata>> second = add("second", 2);
        CompletableFuture<Map<TopicPartition, OffsetAndMetadata>> third = add("third", 3);

        second.complete(offsets(2));
        commits.runCompletedCallbacks();
        assertThat(calls).as("a completed commit waits for the older one").isEmpty();

        first.complete(offsets(2));
        commits.runCompletedCallbacks();
        assertThat(calls).containsExactly("first ok 1", "second ok 2");
        assertThat(commits.size()).isEqualTo(1);

        third.complete(offsets(3));
        commits.runCompletedCallbacks();
        assertThat(calls).containsExactly("first ok 1", "second ok 2", "third ok 3");
    }

    @Test
    void eachCallerHearsAboutItsOwnOffsetsAndOnlySuccessesReachOnCommitted() {
        CompletableFuture<Map<TopicPartition, OffsetAndMetadata>> merged1 = add("merged1", 1);
        CompletableFuture<Map<TopicPartition, OffsetAndMetadata>> merged2 = add("merged2", 2);
        CompletableFuture<Map<TopicPartition, OffsetAndMetadata>> failing = add("failing", 3);

        merged1.complete(offsets(2));
        merged2.complete(offsets(2));
        failing.completeExceptionally(new RetriableCommitFailedException("coordinator moved"));
        commits.runCompletedCallbacks();

        assertThat(calls).containsExactly("merged1 ok 1", "merged2 ok 2", "failing failed 3");
        assertThat(committed).containsExactly(offsets(1), offsets(2));
    }

    @Test
    void anErrorThatIsNotAnExceptionReachesTheCallbackWrapped() {
        List<Exception> errors = new ArrayList<>();
        CompletableFuture<Map<TopicPartition, OffsetAndMetadata>> result = new CompletableFuture<>();
        commits.add(offsets(1), result, (offsets, exception) -> errors.add(exception));

        result.completeExceptionally(new AssertionError("boom"));
        commits.runCompletedCallbacks();

        assertThat(errors).singleElement().isInstanceOf(KafkaException.class)
                .extracting(Throwable::getCause).isInstanceOf(AssertionError.class);
    }

    @Test
    void aCommitCutShortByCloseIsARetriableCommitFailureThatSaysWhy() {
        List<Exception> errors = new ArrayList<>();
        CompletableFuture<Map<TopicPartition, OffsetAndMetadata>> result = new CompletableFuture<>();
        commits.add(offsets(1), result, (offsets, exception) -> errors.add(exception));

        ConsumerClosedException closed = new ConsumerClosedException("The consumer was closed before this commit completed", null);
        assertThat(commits.failAll(closed)).isEqualTo(1);
        commits.runCompletedCallbacks();

        assertThat(errors).singleElement().isInstanceOf(RetriableCommitFailedException.class)
                .extracting(Throwable::getCause).isSameAs(closed);
    }

    @Test
    void aCallbackThatThrowsLeavesTheLaterOnesForTheNextDrain() {
        CompletableFuture<Map<TopicPartition, OffsetAndMetadata>> throwing = new CompletableFuture<>();
        commits.add(offsets(1), throwing, (offsets, exception) -> {
            throw new IllegalStateException("from the callback");
        });
        CompletableFuture<Map<TopicPartition, OffsetAndMetadata>> next = add("next", 2);
        throwing.complete(offsets(1));
        next.complete(offsets(2));

        assertThatThrownBy(commits::runCompletedCallbacks).hasMessage("from the callback");
        assertThat(calls).isEmpty();

        commits.runCompletedCallbacks();
        assertThat(calls).containsExactly("next ok 2");
    }

    @Test
    void aCallbackMayCommitAgain() {
        CompletableFuture<Map<TopicPartition, OffsetAndMetadata>> first = new CompletableFuture<>();
        List<CompletableFuture<Map<TopicPartition, OffsetAndMetadata>>> added = new ArrayList<>();
        commits.add(offsets(1), first, (offsets, exception) -> {
            commits.runCompletedCallbacks();
            added.add(add("from callback", 2));
        });

        first.complete(offsets(1));
        commits.runCompletedCallbacks();

        assertThat(added).hasSize(1);
        assertThat(commits.size()).isEqualTo(1);
        added.get(0).complete(offsets(2));
        commits.runCompletedCallbacks();
        assertThat(calls).containsExactly("from callback ok 2");
    }

    @Test
    void failAllFailsEveryPendingCommitAtOnceAndCountsThem() {
        CompletableFuture<Map<TopicPartition, OffsetAndMetadata>> done = add("done", 1);
        CompletableFuture<Map<TopicPartition, OffsetAndMetadata>> inFlight = add("in flight", 2);
        CompletableFuture<Map<TopicPartition, OffsetAndMetadata>> queued = add("queued", 3);
        done.complete(offsets(1));
        IllegalStateException closed = new IllegalStateException("closed");

        int failed = commits.failAll(closed);

        assertThat(failed).as("the commit the background thread had completed is not counted").isEqualTo(2);
        assertThat(inFlight).isCompletedExceptionally();
        assertThat(queued).isCompletedExceptionally();
        assertThat(calls).as("callbacks still wait for the application thread").isEmpty();
        commits.runCompletedCallbacks();
        assertThat(calls).containsExactly("done ok 1", "in flight failed 2", "queued failed 3");
        assertThat(commits.size()).isZero();
    }

    @Test
    void aCommitCompletedByTheBackgroundThreadKeepsItsResultWhenFailAllComesLater() {
        CompletableFuture<Map<TopicPartition, OffsetAndMetadata>> result = add("raced", 1);
        result.complete(offsets(1));

        assertThat(commits.failAll(new IllegalStateException("closed"))).isZero();
        commits.runCompletedCallbacks();

        assertThat(calls).containsExactly("raced ok 1");
    }
}
