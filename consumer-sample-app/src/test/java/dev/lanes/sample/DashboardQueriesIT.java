package dev.lanes.sample;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Runs every query of the Grafana dashboard ({@code grafana/dashboards/lanes-consumer.json}) through a real
 * Prometheus that scrapes the sample app, and fails listing each query that returns no series. Also checks
 * {@code prometheus/prometheus.yml} with {@code promtool check config}.
 *
 * <p>Needs Debian's {@code prometheus} package (which also provides {@code promtool}); skipped without it.
 * The scraped endpoint is {@link SampleAppUnderTest}, or the URL in the system property
 * {@value #TARGET_PROPERTY} (for example {@code http://127.0.0.1:8080/actuator/prometheus}).
 */
class DashboardQueriesIT {

    static final String TARGET_PROPERTY = "lanes.dashboard.target";
    private static final String INSTALL_HINT =
            "install it with `apt-get install -y --no-install-recommends prometheus` (.ci/run does so on CI)";
    /** Values for Grafana's built-in interval variables; every other template variable matches anything. */
    private static final Map<String, String> BUILT_IN_VARIABLES =
            Map.of("__rate_interval", "30s", "__interval", "5s", "__range", "1m");
    private static final Pattern VARIABLE = Pattern.compile("\\$\\{(\\w+)(?::\\w+)?}|\\$(\\w+)|\\[\\[(\\w+)]]");
    private static final Pattern EQUALS_VARIABLE =
            Pattern.compile("(\\w+)\\s*=\\s*\"(\\$\\{\\w+(?::\\w+)?}|\\$\\w+|\\[\\[\\w+]])\"");
    private static final Pattern LABEL_VALUES = Pattern.compile("^\\s*label_values\\((.*),\\s*(\\w+)\\s*\\)\\s*$");

    private static final Path REPO_ROOT = findRepoRoot();
    private static final Path DASHBOARD = REPO_ROOT.resolve("grafana/dashboards/lanes-consumer.json");
    private static final Path PROMETHEUS_CONFIG = REPO_ROOT.resolve("prometheus/prometheus.yml");

    private final ObjectMapper json = new ObjectMapper();
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

    @Test
    @Timeout(value = 30, unit = TimeUnit.SECONDS)
    void prometheusConfigurationIsValid() throws Exception {
        Path promtool = findExecutable("promtool");
        Assumptions.assumeTrue(promtool != null, "No promtool on PATH or in /usr/bin; " + INSTALL_HINT);
        Process process = new ProcessBuilder(promtool.toString(), "check", "config", PROMETHEUS_CONFIG.toString())
                .redirectErrorStream(true).start();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(process.waitFor(20, TimeUnit.SECONDS)).as("promtool finished").isTrue();
        assertThat(process.exitValue()).as("promtool check config %s:%n%s", PROMETHEUS_CONFIG, output).isZero();
    }

    @Test
    @Timeout(value = 180, unit = TimeUnit.SECONDS)
    void everyDashboardQueryReturnsSeries() throws Exception {
        Path prometheus = findExecutable("prometheus");
        Assumptions.assumeTrue(prometheus != null, "No prometheus binary on PATH or at /usr/bin/prometheus; " + INSTALL_HINT);

        JsonNode dashboard = json.readTree(DASHBOARD);
        Map<String, String> panelQueries = panelQueries(dashboard);
        Map<String, String> variableQueries = variableQueries(dashboard);
        assertThat(panelQueries).as("panel queries in %s", DASHBOARD).isNotEmpty();

        String configuredTarget = System.getProperty(TARGET_PROPERTY, "").trim();
        try (SampleAppUnderTest app = configuredTarget.isEmpty() ? SampleAppUnderTest.start() : null;
             RunningPrometheus server = RunningPrometheus.start(prometheus,
                     configuredTarget.isEmpty() ? app.prometheusEndpoint() : URI.create(configuredTarget))) {
            server.awaitScrapes(http, json);

            List<String> failures = new ArrayList<>();
            Map<String, String> pending = new LinkedHashMap<>(panelQueries);
            // A freshly exported meter can miss the first rate() window: retry the empty ones for a few scrapes.
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
            while (true) {
                failures.clear();
                for (var it = pending.entrySet().iterator(); it.hasNext(); ) {
                    var query = it.next();
                    String problem = server.problemWith(http, json, query.getValue(), "a series", result -> result.size() > 0);
                    if (problem == null) {
                        it.remove();
                    } else {
                        failures.add(query.getKey() + "\n      " + query.getValue() + "\n      -> " + problem);
                    }
                }
                if (pending.isEmpty() || System.nanoTime() > deadline) {
                    break;
                }
                Thread.sleep(1000);
            }
            for (var variable : variableQueries.entrySet()) {
                String problem = server.problemWith(http, json, variable.getValue(), "a series with the variable's label", variableHasValues(variable.getKey()));
                if (problem != null) {
                    failures.add(variable.getKey() + "\n      " + variable.getValue() + "\n      -> " + problem);
                }
            }
            assertThat(failures)
                    .as("Dashboard queries without data (%d of %d panel queries, %d variable queries checked) from %s:%n  %s",
                            failures.size(), panelQueries.size(), variableQueries.size(), server.target,
                            String.join("\n  ", failures))
                    .isEmpty();
        }
    }

    // ---- dashboard parsing ----

    /** Every panel target's expression (nested rows included), keyed by "panel title [refId]", variables substituted. */
    static Map<String, String> panelQueries(JsonNode dashboard) {
        Map<String, String> queries = new LinkedHashMap<>();
        collectPanelQueries(dashboard.path("panels"), queries);
        return queries;
    }

    private static void collectPanelQueries(JsonNode panels, Map<String, String> queries) {
        for (JsonNode panel : panels) {
            for (JsonNode target : panel.path("targets")) {
                String expr = target.path("expr").asString("");
                if (!expr.isBlank() && !target.path("hide").asBoolean(false)) {
                    String key = "panel \"" + panel.path("title").asString("") + "\" [" + target.path("refId").asString("?") + "]";
                    queries.put(key, substituteVariables(expr));
                }
            }
            collectPanelQueries(panel.path("panels"), queries);
        }
    }

    /**
     * Each query template variable's {@code label_values(selector, label)} as a PromQL query that groups the
     * selector's series by the label, keyed by "variable name label".
     */
    static Map<String, String> variableQueries(JsonNode dashboard) {
        Map<String, String> queries = new LinkedHashMap<>();
        for (JsonNode variable : dashboard.path("templating").path("list")) {
            if (!"query".equals(variable.path("type").asString(""))) {
                continue;
            }
            JsonNode query = variable.path("query");
            String text = query.isObject() ? query.path("query").asString("") : query.asString("");
            Matcher m = LABEL_VALUES.matcher(text);
            if (m.matches()) {
                queries.put("variable $" + variable.path("name").asString("") + " " + m.group(2),
                        "group by (" + m.group(2) + ") (" + substituteVariables(m.group(1)) + ")");
            }
        }
        return queries;
    }

    /** Replaces Grafana variables: interval built-ins by durations, all others by the match-anything regex. */
    static String substituteVariables(String expr) {
        // label="$var" cannot take a regex; make it label=~"$var" first.
        String regexMatchers = EQUALS_VARIABLE.matcher(expr).replaceAll(m -> {
            String name = m.group(2).replaceAll("[^\\w]", "");
            boolean builtIn = BUILT_IN_VARIABLES.containsKey(name);
            return Matcher.quoteReplacement(m.group(1) + (builtIn ? "=\"" : "=~\"") + m.group(2) + "\"");
        });
        return VARIABLE.matcher(regexMatchers).replaceAll(m -> {
            String name = m.group(1) != null ? m.group(1) : m.group(2) != null ? m.group(2) : m.group(3);
            return Matcher.quoteReplacement(BUILT_IN_VARIABLES.getOrDefault(name, ".*"));
        });
    }

    private static Predicate<JsonNode> variableHasValues(String key) {
        String label = key.substring(key.lastIndexOf(' ') + 1);
        return result -> {
            for (JsonNode series : result) {
                if (!series.path("metric").path(label).asString("").isEmpty()) {
                    return true;
                }
            }
            return false;
        };
    }

    // ---- environment ----

    private static Path findRepoRoot() {
        for (Path dir = Path.of("").toAbsolutePath(); dir != null; dir = dir.getParent()) {
            if (Files.isRegularFile(dir.resolve("grafana/dashboards/lanes-consumer.json"))) {
                return dir;
            }
        }
        throw new IllegalStateException("grafana/dashboards/lanes-consumer.json not found above " + Path.of("").toAbsolutePath());
    }

    /** The executable on PATH, else in /usr/bin (where Debian's package puts it), else null. */
    static Path findExecutable(String name) {
        String path = System.getenv().getOrDefault("PATH", "");
        Stream<Path> candidates = Stream.concat(
                Stream.of(path.split(java.io.File.pathSeparator)).filter(s -> !s.isBlank()).map(dir -> Path.of(dir, name)),
                Stream.of(Path.of("/usr/bin", name)));
        return candidates.filter(Files::isRegularFile).filter(Files::isExecutable).findFirst().orElse(null);
    }

    // ---- the Prometheus process ----

    /** A Prometheus server on 127.0.0.1 that scrapes one target every second, with its data in a temporary folder. */
    static final class RunningPrometheus implements AutoCloseable {

        static final String JOB = "lanes-dashboard-check";

        final URI target;
        private final Path workDir;
        private final Process process;
        private final URI api;

        private RunningPrometheus(URI target, Path workDir, Process process, URI api) {
            this.target = target;
            this.workDir = workDir;
            this.process = process;
            this.api = api;
        }

        static RunningPrometheus start(Path binary, URI target) throws IOException {
            Path workDir = Files.createTempDirectory("lanes-prometheus-");
            try {
                Path config = workDir.resolve("prometheus.yml");
                String path = target.getRawPath() == null || target.getRawPath().isEmpty() ? "/" : target.getRawPath();
                Files.writeString(config, String.join("\n",
                        "global:",
                        "  scrape_interval: 1s",
                        "  scrape_timeout: 1s",
                        "  evaluation_interval: 1s",
                        "scrape_configs:",
                        "  - job_name: " + JOB,
                        "    scheme: " + (target.getScheme() == null ? "http" : target.getScheme()),
                        "    metrics_path: \"" + path + "\"",
                        "    static_configs:",
                        "      - targets: [\"" + target.getHost() + ":" + target.getPort() + "\"]",
                        ""));
                int port = freePort();
                Process process = new ProcessBuilder(binary.toString(),
                        "--config.file=" + config,
                        "--storage.tsdb.path=" + workDir.resolve("data"),
                        "--web.listen-address=127.0.0.1:" + port,
                        "--log.level=warn")
                        .redirectErrorStream(true)
                        .redirectOutput(workDir.resolve("prometheus.log").toFile())
                        .start();
                return new RunningPrometheus(target, workDir, process, URI.create("http://127.0.0.1:" + port));
            } catch (IOException | RuntimeException e) {
                deleteRecursively(workDir);
                throw e;
            }
        }

        /** Waits until the target is up and has been scraped at least three times, so rate() over 30s has samples. */
        void awaitScrapes(HttpClient http, ObjectMapper json) throws InterruptedException {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            String lastState = "Prometheus not answering yet";
            while (System.nanoTime() < deadline) {
                if (!process.isAlive()) {
                    throw new AssertionError("Prometheus exited with " + process.exitValue() + ":\n" + log());
                }
                try {
                    JsonNode targets = json.readTree(get(http, "/api/v1/targets")).path("data").path("activeTargets");
                    lastState = "targets: " + targets;
                    boolean up = false;
                    for (JsonNode t : targets) {
                        up |= "up".equals(t.path("health").asString(""));
                    }
                    if (up) {
                        JsonNode result = json.readTree(get(http, "/api/v1/query?query="
                                + encode("count_over_time(up{job=\"" + JOB + "\"}[30s])"))).path("data").path("result");
                        double samples = result.size() == 0 ? 0 : Double.parseDouble(result.get(0).path("value").get(1).asString());
                        lastState = "target up, " + samples + " scrapes";
                        if (samples >= 3) {
                            return;
                        }
                    }
                } catch (IOException | RuntimeException e) {
                    lastState = "Prometheus API: " + e;
                }
                Thread.sleep(500);
            }
            throw new AssertionError("Prometheus did not scrape " + target + " within 60 s (" + lastState + "):\n" + log());
        }

        /** Null when the query succeeds and its result satisfies the check, else what went wrong. */
        String problemWith(HttpClient http, ObjectMapper json, String query, String expected, Predicate<JsonNode> check) {
            try {
                JsonNode response = json.readTree(get(http, "/api/v1/query?query=" + encode(query)));
                if (!"success".equals(response.path("status").asString(""))) {
                    return "error: " + response.path("error").asString(response.toString());
                }
                JsonNode result = response.path("data").path("result");
                return check.test(result) ? null : "expected " + expected + ", got " + result;
            } catch (IOException | RuntimeException e) {
                return "request failed: " + e;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return "interrupted";
            }
        }

        private String get(HttpClient http, String pathAndQuery) throws IOException, InterruptedException {
            HttpRequest request = HttpRequest.newBuilder(URI.create(api + pathAndQuery)).timeout(Duration.ofSeconds(5)).GET().build();
            HttpResponse<String> response = http.send(request, HttpResponse.BodyHandlers.ofString());
            // Query errors come back as 400/422 with a JSON body explaining them.
            if (response.statusCode() >= 500) {
                throw new IOException("HTTP " + response.statusCode() + " from " + pathAndQuery + ": " + response.body());
            }
            return response.body();
        }

        private String log() {
            try {
                return Files.readString(workDir.resolve("prometheus.log"));
            } catch (IOException e) {
                return "(no log: " + e + ")";
            }
        }

        /** Stops the process (SIGTERM, then SIGKILL after 10 s) and deletes the temporary folder. */
        @Override
        public void close() {
            try {
                process.destroy();
                if (!process.waitFor(10, TimeUnit.SECONDS)) {
                    process.destroyForcibly();
                    process.waitFor(5, TimeUnit.SECONDS);
                }
            } catch (InterruptedException e) {
                process.destroyForcibly();
                Thread.currentThread().interrupt();
            } finally {
                deleteRecursively(workDir);
            }
        }

        private static int freePort() throws IOException {
            try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
                return socket.getLocalPort();
            }
        }

        private static String encode(String s) {
            return URLEncoder.encode(s, StandardCharsets.UTF_8);
        }

        private static void deleteRecursively(Path dir) {
            if (!Files.exists(dir)) {
                return;
            }
            try (Stream<Path> paths = Files.walk(dir)) {
                paths.sorted(Comparator.reverseOrder()).forEach(p -> {
                    try {
                        Files.deleteIfExists(p);
                    } catch (IOException e) {
                        throw new UncheckedIOException(e);
                    }
                });
            } catch (IOException | UncheckedIOException e) {
                System.err.println("Could not delete " + dir + ": " + e);
            }
        }
    }
}
