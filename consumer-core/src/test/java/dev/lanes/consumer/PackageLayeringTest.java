package dev.lanes.consumer;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The thread boundary is the package boundary, and this test keeps it so: it reads every source file of
 * consumer-core and fails when a package uses one it must not (by import, static import or a qualified name
 * in code), or when code outside {@code internals.adapter} uses a kafka-clients package that is not public API.
 *
 * <p>Allowed directions, lowest first: {@code common} ← {@code adapter} ← {@code events} ← {@code shared} ←
 * {@code metrics} ← {@code app} | {@code background.managers} ← {@code background} ← the public package. The
 * application side and the background side never use each other; they meet only in {@code shared}. Internal
 * packages may use the public package's types (exceptions, {@code MemberState}, metric names) but not the
 * {@code LanesConsumer} facade.
 */
class PackageLayeringTest {

    private static final String ROOT = "dev.lanes.consumer";
    private static final String INTERNALS = ROOT + ".internals.";

    /** For each internal package (relative to internals), the internal packages it may use besides itself. */
    private static final Map<String, Set<String>> ALLOWED = Map.of(
            "common", Set.of(),
            "adapter", Set.of("common"),
            "events", Set.of("adapter", "common"),
            "shared", Set.of("events", "adapter", "common"),
            "metrics", Set.of("shared", "events", "adapter", "common"),
            "app", Set.of("metrics", "shared", "events", "adapter", "common"),
            "background.managers", Set.of("metrics", "shared", "events", "adapter", "common"),
            "background", Set.of("background.managers", "metrics", "shared", "events", "adapter", "common"));

    /** The kafka-clients packages that are public API; any other org.apache.kafka package is for the adapter only. */
    private static final Set<String> PUBLIC_KAFKA_PACKAGES = Set.of(
            "org.apache.kafka.clients.consumer",
            "org.apache.kafka.common",
            "org.apache.kafka.common.config",
            "org.apache.kafka.common.errors",
            "org.apache.kafka.common.header",
            "org.apache.kafka.common.metrics",
            "org.apache.kafka.common.metrics.stats",
            "org.apache.kafka.common.serialization");

    /** A qualified reference to a type: lower-case package segments, then a capitalized name. */
    private static final Pattern TYPE_REFERENCE =
            Pattern.compile("\\b((?:dev\\.lanes|org\\.apache\\.kafka)(?:\\.[a-z][a-z0-9_]*)*)\\.([A-Z]\\w*)");
    private static final Pattern PACKAGE_LINE = Pattern.compile("^package\\s+([\\w.]+)\\s*;", Pattern.MULTILINE);
    private static final Pattern COMMENTS = Pattern.compile("/\\*.*?\\*/|//[^\\n]*", Pattern.DOTALL);
    private static final Pattern STRINGS = Pattern.compile("\"(?:\\\\.|[^\"\\\\])*\"");

    @Test
    void everyPackageUsesOnlyTheLayersBelowIt() throws IOException {
        Path sources = Path.of("src/main/java");
        assertThat(sources).as("run from consumer-core's directory").isDirectory();
        List<String> violations = new ArrayList<>();
        try (Stream<Path> files = Files.walk(sources)) {
            files.filter(file -> file.toString().endsWith(".java"))
                    .forEach(file -> violations.addAll(violations(sources.relativize(file).toString(), read(file))));
        }
        assertThat(violations).as("uses against the layering").isEmpty();
    }

    @Test
    void theCheckFindsEachKindOfViolation() {
        assertThat(violations("A.java", """
                package dev.lanes.consumer.internals.app;
                import dev.lanes.consumer.internals.background.NetworkThread;
                class A { }
                """)).singleElement().asString().contains("internals.app uses internals.background");
        assertThat(violations("B.java", """
                package dev.lanes.consumer.internals.shared;
                class B { Object o = new dev.lanes.consumer.internals.metrics.LanesConsumerMetrics(null, null); }
                """)).singleElement().asString().contains("internals.shared uses internals.metrics");
        assertThat(violations("C.java", """
                package dev.lanes.consumer.internals.background.managers;
                import org.apache.kafka.common.requests.FetchRequest;
                class C { }
                """)).singleElement().asString().contains("org.apache.kafka.common.requests");
        assertThat(violations("D.java", """
                package dev.lanes.consumer.internals.metrics;
                import dev.lanes.consumer.LanesConsumer;
                class D { }
                """)).singleElement().asString().contains("the LanesConsumer facade");
        assertThat(violations("E.java", """
                package dev.lanes.consumer.internals.adapter;
                import org.apache.kafka.common.requests.FetchRequest;
                import dev.lanes.consumer.internals.common.Clock;
                import dev.lanes.consumer.ConsumerClosedException;
                /** Mentions {@link dev.lanes.consumer.internals.background.NetworkThread} in a comment only. */
                class E { String s = "dev.lanes.consumer.internals.app.Nothing"; }
                """)).isEmpty();
    }

    private static List<String> violations(String file, String source) {
        Matcher packageLine = PACKAGE_LINE.matcher(source);
        if (!packageLine.find()) {
            return List.of(file + ": no package line");
        }
        String own = packageLine.group(1);
        String code = STRINGS.matcher(COMMENTS.matcher(source).replaceAll(" ")).replaceAll("\"\"");
        List<String> found = new ArrayList<>();
        Matcher reference = TYPE_REFERENCE.matcher(code);
        while (reference.find()) {
            String used = reference.group(1);
            String problem = problem(own, used, reference.group(2));
            if (problem != null && !found.contains(file + ": " + problem)) {
                found.add(file + ": " + problem);
            }
        }
        return found;
    }

    /** Why {@code own} may not use the type {@code type} of package {@code used}, or null if it may. */
    private static String problem(String own, String used, String type) {
        if (used.equals(own) || (used + "." + type).equals(own)) {
            return null; // its own package, or the package line itself
        }
        boolean ownInternal = own.startsWith(INTERNALS);
        if (used.startsWith("org.apache.kafka")) {
            if (ownInternal && layer(own).equals("adapter")) {
                return null;
            }
            return PUBLIC_KAFKA_PACKAGES.contains(used) ? null
                    : own + " uses " + used + "." + type + ", which is not kafka-clients' public API: only internals.adapter may";
        }
        if (!ownInternal) {
            return null; // the public package assembles everything
        }
        if (used.equals(ROOT)) {
            return type.equals("LanesConsumer") ? "internals." + layer(own) + " uses the LanesConsumer facade" : null;
        }
        if (!used.startsWith(INTERNALS)) {
            return null; // dev.lanes.consumer.testing and the like are not layers
        }
        String ownLayer = layer(own);
        String usedLayer = layer(used);
        Set<String> allowed = ALLOWED.get(ownLayer);
        if (allowed == null) {
            return "internals." + ownLayer + " is not a known layer: add it to PackageLayeringTest with its direction";
        }
        return usedLayer.equals(ownLayer) || allowed.contains(usedLayer) ? null
                : "internals." + ownLayer + " uses internals." + usedLayer + " (" + used + "." + type + ")";
    }

    /** The layer of an internal package: the sub-package of internals, background.managers counted apart. */
    private static String layer(String internalPackage) {
        String rest = internalPackage.substring(INTERNALS.length());
        return rest.startsWith("background.managers") ? "background.managers" : rest.split("\\.")[0];
    }

    private static String read(Path file) {
        try {
            return Files.readString(file);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
