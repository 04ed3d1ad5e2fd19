package dev.lanes.consumer.internals.background.managers;

import java.util.List;

/**
 * What one {@link RequestManager#poll} produced.
 *
 * @param timeUntilNextPollMs how long the background thread may block before this manager has work
 *                            again ({@code Long.MAX_VALUE} for "only when something happens")
 * @param requests            requests to send, in order
 */
public record PollResult(long timeUntilNextPollMs, List<UnsentRequest<?>> requests) {

    public static final PollResult NOTHING = new PollResult(Long.MAX_VALUE, List.of());

    public static PollResult waitFor(long timeUntilNextPollMs) {
        return new PollResult(timeUntilNextPollMs, List.of());
    }
}
