package dev.lanes.sample;

import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.boot.context.properties.ConfigurationPropertiesScan;

/**
 * The Lanes sample: a steady synthetic load produced to a topic and consumed by an annotated listener
 * whose processing time can be changed while it runs, with Actuator and Prometheus endpoints to watch
 * the consumer. Without {@code lanes.consumer.bootstrap-servers} it starts its own broker on 127.0.0.1.
 */
@SpringBootApplication
@ConfigurationPropertiesScan
public class SampleApplication {

    public static void main(String[] args) {
        SpringApplication.run(SampleApplication.class, args);
    }
}
