package dev.lanes.sample;

import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.context.ConfigurableApplicationContext;

import java.net.URI;

/**
 * The real sample application, booted for a test: its own embedded broker on 127.0.0.1, a random HTTP
 * port, and a load with a little processing time per record so that every meter has something to show.
 */
final class SampleAppUnderTest implements AutoCloseable {

    private final ConfigurableApplicationContext context;
    private final int port;

    private SampleAppUnderTest(ConfigurableApplicationContext context) {
        this.context = context;
        this.port = Integer.parseInt(context.getEnvironment().getRequiredProperty("local.server.port"));
    }

    /** Starts the application (embedded broker included) and returns once it serves requests. */
    static SampleAppUnderTest start(String... extraArgs) {
        String[] defaults = {
                "--server.port=0",
                "--server.address=127.0.0.1",
                "--sample.load.records-per-second=500",
                "--sample.processing.delay=1ms"
        };
        String[] args = new String[defaults.length + extraArgs.length];
        System.arraycopy(defaults, 0, args, 0, defaults.length);
        System.arraycopy(extraArgs, 0, args, defaults.length, extraArgs.length);
        return new SampleAppUnderTest(new SpringApplicationBuilder(SampleApplication.class).run(args));
    }

    ConfigurableApplicationContext context() {
        return context;
    }

    URI baseUri() {
        return URI.create("http://127.0.0.1:" + port);
    }

    /** The full URL of the application's Prometheus scrape endpoint. */
    URI prometheusEndpoint() {
        return baseUri().resolve("/actuator/prometheus");
    }

    @Override
    public void close() {
        context.close();
    }
}
