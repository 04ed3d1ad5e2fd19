package dev.lanes.consumer.internals.app;

import dev.lanes.consumer.internals.events.ApplicationEvent;
import dev.lanes.consumer.internals.events.CommitEvent;
import dev.lanes.consumer.internals.shared.BackgroundHandle;
import dev.lanes.consumer.internals.shared.Lane;
import dev.lanes.consumer.internals.shared.LoopState;

import java.util.ArrayList;
import java.util.List;

/**
 * A background thread played by the test thread itself: each wakeup takes every event off both lanes, writes
 * its name in {@code steps}, and answers it at once (a commit with its offsets, anything else with null),
 * except commits while {@link #answerCommits} is false. {@code join} is written in the steps too.
 */
final class ScriptedBackground implements BackgroundHandle {

    private final Lane systemLane;
    private final Lane userLane;
    private final List<String> steps;
    boolean answerCommits = true;
    LoopState state = LoopState.RUNNING;
    Throwable failure;

    ScriptedBackground(Lane systemLane, Lane userLane, List<String> steps) {
        this.systemLane = systemLane;
        this.userLane = userLane;
        this.steps = steps;
    }

    @Override
    public void wakeup() {
        List<ApplicationEvent<?>> events = new ArrayList<>();
        systemLane.drainTo(events, Integer.MAX_VALUE);
        userLane.drainTo(events, Integer.MAX_VALUE);
        for (ApplicationEvent<?> event : events) {
            steps.add(event.getClass().getSimpleName());
            if (event instanceof CommitEvent commit) {
                if (answerCommits) {
                    commit.future().complete(commit.offsets());
                }
            } else {
                event.future().complete(null);
            }
        }
    }

    @Override
    public void start() {
        state = LoopState.RUNNING;
    }

    @Override
    public LoopState state() {
        return state;
    }

    @Override
    public Throwable failure() {
        return failure;
    }

    @Override
    public boolean join(long timeoutMs) {
        steps.add("join");
        return true;
    }

    @Override
    public boolean isAlive() {
        return false;
    }

    @Override
    public String threadName() {
        return "scripted";
    }

    @Override
    public int unsentRequests() {
        return 0;
    }
}
