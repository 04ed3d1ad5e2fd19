package dev.lanes.sample.listener;

import dev.lanes.spring.LanesListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.springframework.stereotype.Component;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;

/** Consumes the sample load, taking the configured processing time for each record. */
@Component
public class SampleListener {

    private final ProcessingDelay delay;
    private final AtomicLong processed = new AtomicLong();

    public SampleListener(ProcessingDelay delay) {
        this.delay = delay;
    }

    @LanesListener(id = "sample", topics = "${sample.load.topic}")
    public void onRecord(ConsumerRecord<String, byte[]> record) throws InterruptedException {
        Duration processing = delay.get();
        if (!processing.isZero()) {
            Thread.sleep(processing.toMillis(), processing.toNanosPart() % 1_000_000);
        }
        processed.incrementAndGet();
    }

    public long processed() {
        return processed.get();
    }
}
