package dev.lanes.sample;

import dev.lanes.sample.listener.SampleListener;
import dev.lanes.spring.LanesListenerContainer;
import dev.lanes.spring.LanesListenerContainerRegistry;
import dev.lanes.spring.ListenerConsumer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The sample end to end, as a newcomer runs it: no configuration, its own broker, records flowing from
 * the load generator to the annotated listener, and the Actuator endpoints showing the consumer.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class SampleApplicationIT {

    private static SampleAppUnderTest app;
    private static final HttpClient http = HttpClient.newHttpClient();

    @BeforeAll
    static void startSample() {
        app = SampleAppUnderTest.start();
    }

    @AfterAll
    static void stopSample() {
        if (app != null) {
            app.close();
        }
    }

    @Test
    @Order(1)
    void theListenerConsumesTheGeneratedLoad() {
        SampleListener listener = app.context().getBean(SampleListener.class);
        await().atMost(Duration.ofSeconds(60)).until(() -> listener.processed() > 500);
    }

    @Test
    @Order(2)
    void everyPrometheusNameTheReadmeListsIsOnTheScrape() throws Exception {
        String readme = java.nio.file.Files.readString(java.nio.file.Path.of("..", "README.md"));
        String meters = readme.substring(readme.indexOf("| Meter (`lanes.consumer.` + ) |"));
        meters = meters.substring(0, meters.indexOf("\n\n"));
        java.util.Set<String> names = new java.util.TreeSet<>();
        java.util.regex.Matcher matcher = java.util.regex.Pattern.compile("lanes_consumer_[a-z_]+").matcher(meters);
        while (matcher.find()) {
            names.add(matcher.group());
        }
        assertThat(names).hasSizeGreaterThan(25);
        await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
            String body = get("/actuator/prometheus").body();
            for (String name : names) {
                assertThat(body).as(name).containsPattern("(?m)^" + name + "\\{(?=[^}]*listener_id=\"[^\"]+\")(?=[^}]*client_id=\"[^\"]+\")");
            }
        });
    }

    @Test
    @Order(2)
    void prometheusShowsTheLaneBackPressureAndCpuMetersWithData() {
        await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
            String body = get("/actuator/prometheus").body();
            assertThat(body)
                    .containsPattern("lanes_consumer_lane_queue_time_seconds_count\\{[^}]*lane=\"user\"[^}]*} [1-9]")
                    .contains("lanes_consumer_lane_queue_time_seconds_bucket")
                    .contains("lanes_consumer_lane_capacity_events")
                    .contains("lanes_consumer_back_pressure_rejections_calls_total")
                    .contains("lanes_consumer_fetch_buffer_bound_bytes")
                    .containsPattern("lanes_consumer_background_cpu_ratio\\{[^}]*} [0-9]")
                    .containsPattern("lanes_consumer_records_consumed_records_total\\{[^}]*} [1-9]")
                    .contains("application=\"lanes-sample\"");
        });
    }

    @Test
    @Order(3)
    void healthAndTheLanesEndpointDescribeTheConsumers() throws Exception {
        HttpResponse<String> health = get("/actuator/health");
        assertThat(health.statusCode()).isEqualTo(200);
        assertThat(health.body()).contains("\"lanes\"").contains("\"status\":\"UP\"");
        HttpResponse<String> lanes = get("/actuator/lanes");
        assertThat(lanes.statusCode()).isEqualTo(200);
        assertThat(lanes.body()).contains("\"sample\"").contains("lanes-sample-sample-0").contains("\"user\"");
    }

    @Test
    @Order(4)
    void theProcessingDelayCanBeChangedWhileTheSampleRuns() throws Exception {
        HttpResponse<String> changed = http.send(HttpRequest.newBuilder(uri("/processing-delay?millis=3"))
                .PUT(HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(changed.statusCode()).isEqualTo(200);
        assertThat(get("/processing-delay").body()).contains("\"millis\":3");
    }

    @Test
    @Order(5)
    void healthGoesDownWhenABackgroundThreadDiesAndUpAgainOnceTheConsumerIsReplaced() {
        LanesListenerContainer container = app.context().getBean(LanesListenerContainerRegistry.class)
                .container("sample").orElseThrow();
        ListenerConsumer<?, ?> dead = container.consumers().stream()
                .filter(consumer -> consumer.clientId().equals("lanes-sample-sample-0"))
                .findFirst().orElseThrow();
        // Both members own partitions before one dies: the dead member's partitions only move once the broker
        // expires its session (45 s), the other member's keep flowing meanwhile.
        await().atMost(Duration.ofSeconds(30)).until(() -> container.consumers().size() == 2
                && container.consumers().stream().noneMatch(consumer -> consumer.diagnostics().assignmentSnapshot().isEmpty()));
        Thread background = Thread.getAllStackTraces().keySet().stream()
                .filter(thread -> thread.getName().equals("lanes-consumer-network-thread | lanes-sample-sample-0"))
                .findFirst()
                .orElseThrow(() -> new AssertionError("no background thread of consumer lanes-sample-sample-0"));
        background.interrupt();
        // The container waits lanes.consumer.listener.replace-back-off (5 s) before replacing the consumer,
        // and the failed consumer is reported until then.
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
            HttpResponse<String> health = get("/actuator/health");
            assertThat(health.statusCode()).isEqualTo(503);
            assertThat(health.body()).contains("\"DOWN\"").contains("lanes-sample-sample-0");
        });

        await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
            assertThat(container.consumers()).hasSize(2).doesNotContain(dead);
            HttpResponse<String> health = get("/actuator/health");
            assertThat(health.statusCode()).isEqualTo(200);
            assertThat(health.body()).contains("\"status\":\"UP\"").contains("lanes-sample-sample-0");
        });
        SampleListener listener = app.context().getBean(SampleListener.class);
        long processed = listener.processed();
        await().atMost(Duration.ofSeconds(30)).until(() -> listener.processed() > processed + 500);
        assertThat(Thread.getAllStackTraces().keySet()).extracting(Thread::getName)
                .contains("lanes-consumer-network-thread | lanes-sample-sample-0");
    }

    private static HttpResponse<String> get(String path) throws IOException, InterruptedException {
        return http.send(HttpRequest.newBuilder(uri(path)).GET().build(), HttpResponse.BodyHandlers.ofString());
    }

    private static URI uri(String path) {
        return app.baseUri().resolve(path);
    }
}
