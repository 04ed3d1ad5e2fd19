package dev.lanes.sample.listener;

import org.springframework.beans.factory.annotation.Value;
import org.springframework.stereotype.Component;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicReference;

/**
 * How long the sample listener takes per record, changeable while the sample runs (through
 * {@link ProcessingDelayController}) to push the consumer into back-pressure and watch it.
 */
@Component
public class ProcessingDelay {

    private final AtomicReference<Duration> delay;

    public ProcessingDelay(@Value("${sample.processing.delay:0ms}") Duration initial) {
        this.delay = new AtomicReference<>(initial);
    }

    public Duration get() {
        return delay.get();
    }

    public void set(Duration value) {
        if (value.isNegative()) {
            throw new IllegalArgumentException("The processing delay must not be negative, was " + value);
        }
        delay.set(value);
    }
}
