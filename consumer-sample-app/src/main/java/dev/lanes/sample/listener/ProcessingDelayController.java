package dev.lanes.sample.listener;

import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PutMapping;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.RestController;

import java.time.Duration;
import java.util.Map;

/**
 * {@code GET /processing-delay} shows the listener's processing time per record;
 * {@code PUT /processing-delay?millis=N} changes it while the sample runs.
 */
@RestController
public class ProcessingDelayController {

    private final ProcessingDelay delay;

    public ProcessingDelayController(ProcessingDelay delay) {
        this.delay = delay;
    }

    @GetMapping("/processing-delay")
    public Map<String, Long> get() {
        return Map.of("millis", delay.get().toMillis());
    }

    @PutMapping("/processing-delay")
    public Map<String, Long> set(@RequestParam long millis) {
        delay.set(Duration.ofMillis(millis));
        return get();
    }
}
