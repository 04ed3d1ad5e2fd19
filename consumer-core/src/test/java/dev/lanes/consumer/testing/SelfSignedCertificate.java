package dev.lanes.consumer.testing;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

import org.apache.kafka.clients.CommonClientConfigs;

/**
 * A self-signed key pair for {@code CN=localhost} (SAN {@code ip:127.0.0.1,dns:localhost}) in a PKCS12
 * keystore, and a PKCS12 truststore holding its certificate, made with the running JDK's {@code keytool}.
 *
 * @param keystore   the key pair, for a server
 * @param truststore the certificate only, for clients
 * @param password   the password of both stores and of the key
 */
public record SelfSignedCertificate(Path keystore, Path truststore, String password) {

    private static final String PASSWORD = "lanes-test-secret";
    private static final long KEYTOOL_TIMEOUT_SECONDS = 60;

    /** Generates {@code <name>.keystore.p12}, {@code <name>.crt} and {@code <name>.truststore.p12} in {@code dir}. */
    public static SelfSignedCertificate generate(Path dir, String name) {
        Path keystore = dir.resolve(name + ".keystore.p12");
        Path certificate = dir.resolve(name + ".crt");
        Path truststore = dir.resolve(name + ".truststore.p12");
        keytool("-genkeypair", "-alias", name, "-keyalg", "RSA", "-keysize", "2048", "-validity", "30",
                "-dname", "CN=localhost", "-ext", "SAN=ip:127.0.0.1,dns:localhost",
                "-keystore", keystore.toString(), "-storetype", "PKCS12",
                "-storepass", PASSWORD, "-keypass", PASSWORD, "-noprompt");
        keytool("-exportcert", "-alias", name, "-rfc", "-file", certificate.toString(),
                "-keystore", keystore.toString(), "-storetype", "PKCS12", "-storepass", PASSWORD);
        keytool("-importcert", "-alias", name, "-file", certificate.toString(),
                "-keystore", truststore.toString(), "-storetype", "PKCS12", "-storepass", PASSWORD, "-noprompt");
        return new SelfSignedCertificate(keystore, truststore, PASSWORD);
    }

    /** Client settings for an SSL listener at {@code bootstrapServers} that trust what {@code truststore} holds. */
    public static Map<String, Object> clientConfig(String bootstrapServers, Path truststore, String password) {
        Map<String, Object> config = new HashMap<>();
        config.put(CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
        config.put(CommonClientConfigs.SECURITY_PROTOCOL_CONFIG, "SSL");
        config.put("ssl.truststore.type", "PKCS12");
        config.put("ssl.truststore.location", truststore.toString());
        config.put("ssl.truststore.password", password);
        return config;
    }

    private static void keytool(String... args) {
        List<String> command = new ArrayList<>();
        command.add(keytoolPath().toString());
        command.addAll(List.of(args));
        try {
            Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
            byte[] output = process.getInputStream().readAllBytes();
            if (!process.waitFor(KEYTOOL_TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                throw new IllegalStateException("keytool did not finish: " + command);
            }
            if (process.exitValue() != 0) {
                throw new IllegalStateException("keytool failed (exit " + process.exitValue() + "): " + command
                        + "\n" + new String(output, StandardCharsets.UTF_8));
            }
        } catch (IOException e) {
            throw new IllegalStateException("Could not run keytool: " + command, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** The {@code keytool} of the running JDK: next to {@code java.home}'s launcher, or next to this process's command. */
    static Path keytoolPath() {
        String executable = System.getProperty("os.name", "").startsWith("Windows") ? "keytool.exe" : "keytool";
        Path fromJavaHome = Path.of(System.getProperty("java.home"), "bin", executable);
        if (Files.isExecutable(fromJavaHome)) {
            return fromJavaHome;
        }
        Optional<Path> sibling = ProcessHandle.current().info().command()
                .map(Path::of)
                .map(java -> java.resolveSibling(executable))
                .filter(Files::isExecutable);
        return sibling.orElseThrow(() -> new IllegalStateException("No keytool next to " + fromJavaHome
                + " or this process's java"));
    }
}
