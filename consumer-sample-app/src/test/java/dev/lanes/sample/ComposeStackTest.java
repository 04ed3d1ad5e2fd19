package dev.lanes.sample;

import org.junit.jupiter.api.Test;
import org.yaml.snakeyaml.Yaml;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * docker-compose.yml and the sample's Dockerfile, read as files (the machines that run the tests need no Docker):
 * every service has a healthcheck and waits for the healthy services it needs, ports are published on
 * 127.0.0.1 only, Grafana's admin password has no default, and the image runs as a non-root user without the
 * embedded broker.
 */
class ComposeStackTest {

    private static final Path ROOT = Path.of("..").toAbsolutePath().normalize();

    @SuppressWarnings("unchecked")
    private static Map<String, Map<String, Object>> services() throws IOException {
        Map<String, Object> compose = new Yaml().load(Files.readString(ROOT.resolve("docker-compose.yml")));
        return (Map<String, Map<String, Object>>) compose.get("services");
    }

    @Test
    void everyServiceHasAHealthcheckAndWaitsForTheHealthyServicesItNeeds() throws IOException {
        Map<String, Map<String, Object>> services = services();
        assertThat(services).containsOnlyKeys("kafka", "sample-app", "prometheus", "grafana");
        services.forEach((name, service) -> {
            assertThat(service).as(name).containsKey("healthcheck");
            @SuppressWarnings("unchecked")
            Map<String, Object> healthcheck = (Map<String, Object>) service.get("healthcheck");
            assertThat(healthcheck.get("test")).as(name + " healthcheck").isInstanceOf(List.class);
        });
        assertThat(healthcheckText(services, "sample-app")).contains("/actuator/health").contains("\"status\":\"UP\"");
        assertThat(healthcheckText(services, "prometheus")).contains("/-/ready");
        assertThat(healthcheckText(services, "grafana")).contains("/api/health");
        assertThat(dependsOn(services, "sample-app")).isEqualTo(Map.of("kafka", Map.of("condition", "service_healthy")));
        assertThat(dependsOn(services, "prometheus")).isEqualTo(Map.of("sample-app", Map.of("condition", "service_healthy")));
        assertThat(dependsOn(services, "grafana")).isEqualTo(Map.of("prometheus", Map.of("condition", "service_healthy")));
    }

    @Test
    void publishedPortsAreBoundTo127001() throws IOException {
        services().forEach((name, service) -> {
            @SuppressWarnings("unchecked")
            List<String> ports = (List<String>) service.getOrDefault("ports", List.of());
            assertThat(ports).as(name).isNotEmpty().allSatisfy(port -> assertThat(port).startsWith("127.0.0.1:"));
        });
    }

    @Test
    void grafanasAdminPasswordComesFromTheEnvironmentWithoutADefault() throws IOException {
        @SuppressWarnings("unchecked")
        Map<String, Object> environment = (Map<String, Object>) services().get("grafana").get("environment");
        String password = String.valueOf(environment.get("GF_SECURITY_ADMIN_PASSWORD"));
        // ${VAR:?message}: compose refuses to start when the variable is not set.
        assertThat(password).matches("\\$\\{GRAFANA_ADMIN_PASSWORD:\\?[^}]+}");
        assertThat(Files.readString(ROOT.resolve("docker-compose.yml"))).doesNotContainIgnoringCase("admin/admin");
    }

    @Test
    void theImageRunsAsANonRootUserWithCachedDependenciesAndNoEmbeddedBroker() throws IOException {
        List<String> lines = Files.readAllLines(ROOT.resolve("consumer-sample-app/Dockerfile")).stream()
                .map(String::trim).filter(line -> !line.startsWith("#") && !line.isEmpty()).toList();
        int runtimeStage = lastIndexStartingWith(lines, "FROM ");
        List<String> runtime = lines.subList(runtimeStage, lines.size());
        String user = runtime.stream().filter(line -> line.startsWith("USER ")).reduce((a, b) -> b).orElse("USER root");
        assertThat(user).doesNotContain("root").isNotEqualTo("USER 0").doesNotStartWith("USER 0:");
        assertThat(lastIndexStartingWith(runtime, "USER ")).isLessThan(lastIndexStartingWith(runtime, "ENTRYPOINT"));

        // The poms are copied and the dependencies fetched (a build without sources) before the sources are copied.
        int fetch = indexContaining(lines, "-Dspring-boot.repackage.skip=true");
        assertThat(fetch).isPositive().isLessThan(indexContaining(lines, "COPY . ."));
        assertThat(lines.get(fetch)).startsWith("RUN mvn");
        assertThat(indexContaining(lines, "COPY consumer-sample-app/pom.xml")).isLessThan(fetch);
        // The image profile puts the broker jars in test scope, so Boot's repackaging leaves them out.
        assertThat(lines.get(indexContaining(lines, " package "))).contains("-Pimage");
        String pom = Files.readString(ROOT.resolve("consumer-sample-app/pom.xml"));
        assertThat(pom).contains("<id>image</id>").contains("<embedded-broker.scope>test</embedded-broker.scope>")
                .contains("<exclude>dev/lanes/sample/broker/EmbeddedKafkaBroker.java</exclude>");
        assertThat(pom.split("<scope>\\$\\{embedded-broker.scope}</scope>", -1)).hasSize(5);
    }

    @SuppressWarnings("unchecked")
    private static Object dependsOn(Map<String, Map<String, Object>> services, String name) {
        return services.get(name).get("depends_on");
    }

    @SuppressWarnings("unchecked")
    private static String healthcheckText(Map<String, Map<String, Object>> services, String name) {
        return String.join(" ", (List<String>) ((Map<String, Object>) services.get(name).get("healthcheck")).get("test"));
    }

    private static int lastIndexStartingWith(List<String> lines, String prefix) {
        for (int i = lines.size() - 1; i >= 0; i--) {
            if (lines.get(i).startsWith(prefix)) {
                return i;
            }
        }
        return -1;
    }

    private static int indexContaining(List<String> lines, String text) {
        for (int i = 0; i < lines.size(); i++) {
            if (lines.get(i).contains(text)) {
                return i;
            }
        }
        return -1;
    }
}
