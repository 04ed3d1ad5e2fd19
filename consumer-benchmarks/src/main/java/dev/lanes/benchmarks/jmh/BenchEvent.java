package dev.lanes.benchmarks.jmh;

import dev.lanes.consumer.internals.events.ApplicationEvent;
import dev.lanes.consumer.internals.events.ApplicationEventVisitor;

/** An event that does nothing when visited: the lanes carry it, nothing handles it. */
final class BenchEvent extends ApplicationEvent<Void> {

    BenchEvent() {
        super(Long.MAX_VALUE);
    }

    @Override
    public void accept(ApplicationEventVisitor visitor) {
        // nothing: only the hand-off is measured
    }
}
