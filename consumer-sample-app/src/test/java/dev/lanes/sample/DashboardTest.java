package dev.lanes.sample;

import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.ObjectMapper;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The dashboard imports into any Grafana: its datasource is a template variable, its legends tell consumers
 * apart, member states have colours and thresholds mark what needs attention. DashboardQueriesIT runs the queries.
 */
class DashboardTest {

    private static final JsonNode DASHBOARD = new ObjectMapper().readTree(
            Path.of("..", "grafana", "dashboards", "lanes-consumer.json").toFile());

    private static List<JsonNode> panels() {
        List<JsonNode> panels = new ArrayList<>();
        DASHBOARD.path("panels").forEach(panels::add);
        return panels.stream().filter(panel -> !"row".equals(panel.path("type").asString())).toList();
    }

    private static JsonNode panel(String title) {
        return panels().stream().filter(panel -> title.equals(panel.path("title").asString())).findFirst()
                .orElseThrow(() -> new AssertionError("no panel " + title));
    }

    @Test
    void theDatasourceIsATemplateVariableEverywhere() {
        JsonNode first = DASHBOARD.path("templating").path("list").get(0);
        assertThat(first.path("name").asString()).isEqualTo("datasource");
        assertThat(first.path("type").asString()).isEqualTo("datasource");
        assertThat(first.path("query").asString()).isEqualTo("prometheus");
        List<JsonNode> uses = new ArrayList<>();
        DASHBOARD.path("templating").path("list").forEach(variable -> {
            if (!"datasource".equals(variable.path("type").asString())) {
                uses.add(variable.path("datasource"));
            }
        });
        for (JsonNode panel : panels()) {
            uses.add(panel.path("datasource"));
            panel.path("targets").forEach(target -> uses.add(target.path("datasource")));
        }
        assertThat(uses).isNotEmpty().allSatisfy(datasource ->
                assertThat(datasource.path("uid").asString()).isEqualTo("${datasource}"));
    }

    @Test
    void everyLegendNamesTheListenerAndTheClient() {
        for (JsonNode panel : panels()) {
            panel.path("targets").forEach(target -> assertThat(target.path("legendFormat").asString())
                    .as(panel.path("title").asString()).contains("{{listener_id}}").contains("{{client_id}}"));
        }
    }

    @Test
    void memberStatesHaveColoursWithFatalRedAndFencedOrange() {
        JsonNode overrides = panel("Member state").path("fieldConfig").path("overrides");
        assertThat(colourOf(overrides, "FATAL")).isEqualTo("red");
        assertThat(colourOf(overrides, "FENCED")).isEqualTo("orange");
        assertThat(colourOf(overrides, "STABLE")).isEqualTo("green");
    }

    @Test
    void thresholdsMarkTheHeartbeatGapBackPressureAndLag() {
        assertThat(steps(panel("Heartbeat gap / interval"))).containsExactly("green", "orange@1.5", "red@3.0");
        assertThat(panel("Heartbeat gap / interval").path("targets").get(0).path("expr").asString())
                .contains("lanes_consumer_heartbeat_gap_max_seconds").contains("/ lanes_consumer_heartbeat_interval_seconds");
        assertThat(steps(panel("Back-pressure rejections"))).containsExactly("green", "red@0.001");
        assertThat(steps(panel("Consumer lag"))).hasSize(3).startsWith("green");
    }

    private static String colourOf(JsonNode overrides, String state) {
        for (JsonNode override : overrides) {
            if (override.path("matcher").path("options").asString().endsWith(" " + state + "$")) {
                return override.path("properties").get(0).path("value").path("steps").get(1).path("color").asString();
            }
        }
        throw new AssertionError("no colour for " + state);
    }

    private static List<String> steps(JsonNode panel) {
        List<String> steps = new ArrayList<>();
        panel.path("fieldConfig").path("defaults").path("thresholds").path("steps").forEach(step -> steps.add(
                step.path("value").isNull() ? step.path("color").asString()
                        : step.path("color").asString() + "@" + step.path("value").asDouble()));
        return steps;
    }
}
