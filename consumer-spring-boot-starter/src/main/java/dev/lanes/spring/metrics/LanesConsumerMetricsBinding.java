package dev.lanes.spring.metrics;

import dev.lanes.consumer.LanesConsumer;
import dev.lanes.spring.LanesConsumerFactory;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.binder.kafka.KafkaClientMetrics;
import org.apache.kafka.clients.consumer.Consumer;
import org.springframework.beans.factory.DisposableBean;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.beans.factory.SmartInitializingSingleton;

import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;

/**
 * Binds a {@link LanesConsumerMeterBinder} to every consumer that a {@link LanesConsumerFactory} of the
 * context creates, and closes it (removing its meters) when the consumer closes. Listens to the factories
 * once every singleton exists, before any listener container starts.
 *
 * <p>Unless turned off, each consumer's standard Kafka metrics ({@code consumer-metrics},
 * {@code consumer-fetch-manager-metrics}, {@code consumer-coordinator-metrics} and the network ones) are also bound
 * with Micrometer's {@link KafkaClientMetrics}, tagged with the listener id: the {@code kafka.consumer.*} meters
 * Spring Boot gives spring-kafka's consumers, so that dashboards made for those work here. Lanes' own group is left
 * to {@link LanesConsumerMeterBinder} (see {@link LanesMetricsAutoConfiguration}'s meter filter), so that nothing is
 * exported twice.
 */
public class LanesConsumerMetricsBinding
        implements LanesConsumerFactory.ConsumerLifecycleListener, SmartInitializingSingleton, DisposableBean {

    static final Duration REFRESH_INTERVAL = Duration.ofSeconds(10);

    private final MeterRegistry registry;
    private final ObjectProvider<LanesConsumerFactory<?, ?>> factories;
    private final boolean kafkaClientMetrics;
    private final ConsumerMeterBinders binders;
    private final Map<Consumer<?, ?>, KafkaClientMetrics> standardBinders = new ConcurrentHashMap<>();
    /**
     * Looks for new metrics of every consumer (a partition's lag exists once it is fetched). One daemon thread for all
     * consumers, every {@link #REFRESH_INTERVAL} rather than KafkaClientMetrics' default minute, so that a newly
     * assigned partition's lag shows within one scrape or two.
     */
    private final ScheduledExecutorService refresher = Executors.newSingleThreadScheduledExecutor(runnable -> {
        Thread thread = new Thread(runnable, "lanes-kafka-client-metrics");
        thread.setDaemon(true);
        return thread;
    });

    public LanesConsumerMetricsBinding(MeterRegistry registry, ObjectProvider<LanesConsumerFactory<?, ?>> factories) {
        this(registry, factories, true);
    }

    /** @param kafkaClientMetrics whether the standard Kafka metrics are bound with {@link KafkaClientMetrics} too */
    public LanesConsumerMetricsBinding(MeterRegistry registry, ObjectProvider<LanesConsumerFactory<?, ?>> factories,
                                       boolean kafkaClientMetrics) {
        this.registry = registry;
        this.factories = factories;
        this.kafkaClientMetrics = kafkaClientMetrics;
        this.binders = new ConsumerMeterBinders(registry);
    }

    @Override
    public void afterSingletonsInstantiated() {
        factories.orderedStream().forEach(factory -> factory.addListener(this));
    }

    @Override
    public void consumerCreated(String listenerId, LanesConsumer<?, ?> consumer) {
        binders.bind(listenerId, consumer);
        if (kafkaClientMetrics) {
            standardBinders.computeIfAbsent(consumer, created -> {
                KafkaClientMetrics standard = new KafkaClientMetrics(created, Tags.of("listener.id", listenerId),
                        refresher, REFRESH_INTERVAL);
                standard.bindTo(registry);
                return standard;
            });
        }
    }

    @Override
    public void consumerClosed(String listenerId, LanesConsumer<?, ?> consumer) {
        binders.unbind(consumer);
        KafkaClientMetrics standard = standardBinders.remove(consumer);
        if (standard != null) {
            standard.close();
        }
    }

    /** The binders of the consumers alive now. */
    public Map<Consumer<?, ?>, LanesConsumerMeterBinder> binders() {
        return binders.binders();
    }

    @Override
    public void destroy() {
        binders.close();
        standardBinders.values().forEach(KafkaClientMetrics::close);
        standardBinders.clear();
        refresher.shutdownNow();
    }
}
