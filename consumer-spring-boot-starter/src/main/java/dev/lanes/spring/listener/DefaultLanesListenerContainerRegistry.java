package dev.lanes.spring.listener;

import dev.lanes.spring.CommitMode;
import dev.lanes.spring.LanesConsumerFactory;
import dev.lanes.spring.LanesErrorHandler;
import dev.lanes.spring.LanesListenerContainer;
import dev.lanes.spring.LanesListenerContainerCustomizer;
import dev.lanes.spring.LanesListenerContainerRegistry;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.springframework.beans.factory.BeanFactory;
import org.springframework.beans.factory.BeanInitializationException;
import org.springframework.beans.factory.DisposableBean;
import org.springframework.beans.factory.NoSuchBeanDefinitionException;
import org.springframework.context.SmartLifecycle;
import org.springframework.core.task.SimpleAsyncTaskExecutor;
import org.springframework.core.task.TaskExecutor;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * Creates a {@link DefaultLanesListenerContainer} for every registered endpoint, applies the
 * {@link LanesListenerContainerCustomizer}s, and starts and stops the containers with the context.
 */
public class DefaultLanesListenerContainerRegistry
        implements LanesListenerContainerRegistry, LanesListenerEndpointRegistrar, SmartLifecycle, DisposableBean {

    /**
     * Container defaults from the {@code lanes.consumer.*} properties.
     *
     * @param virtualThreads whether the consumers run on virtual threads
     */
    public record ContainerSettings(int concurrency, CommitMode commitMode, Duration pollTimeout, Duration shutdownTimeout,
                                    boolean replaceFailedConsumers, Duration replaceBackOff, Duration startBalanceTimeout,
                                    boolean virtualThreads) {

        /** Settings whose consumers run on platform threads. */
        public ContainerSettings(int concurrency, CommitMode commitMode, Duration pollTimeout, Duration shutdownTimeout,
                                 boolean replaceFailedConsumers, Duration replaceBackOff, Duration startBalanceTimeout) {
            this(concurrency, commitMode, pollTimeout, shutdownTimeout, replaceFailedConsumers, replaceBackOff,
                    startBalanceTimeout, false);
        }

        /** Settings that replace failed consumers after 5 seconds and wait up to 30 seconds for a balanced start. */
        public ContainerSettings(int concurrency, CommitMode commitMode, Duration pollTimeout, Duration shutdownTimeout) {
            this(concurrency, commitMode, pollTimeout, shutdownTimeout, true, Duration.ofSeconds(5), Duration.ofSeconds(30));
        }
    }

    /**
     * What one listener's own settings ({@code lanes.consumer.listeners.<id>.*}) decide.
     *
     * @param concurrency null when the listener's settings name none
     * @param replaceFailedConsumers null to keep the container settings; likewise the durations and virtualThreads
     */
    public record ListenerSettings(Integer concurrency, CommitMode commitMode, LanesErrorHandler errorHandler,
                                   Boolean replaceFailedConsumers, Duration replaceBackOff, Duration startBalanceTimeout,
                                   Boolean virtualThreads) {

        /** Settings that keep the container settings' threads. */
        public ListenerSettings(Integer concurrency, CommitMode commitMode, LanesErrorHandler errorHandler,
                                Boolean replaceFailedConsumers, Duration replaceBackOff, Duration startBalanceTimeout) {
            this(concurrency, commitMode, errorHandler, replaceFailedConsumers, replaceBackOff, startBalanceTimeout, null);
        }

        /** Settings that change only concurrency, commit mode and error handler. */
        public ListenerSettings(Integer concurrency, CommitMode commitMode, LanesErrorHandler errorHandler) {
            this(concurrency, commitMode, errorHandler, null, null, null, null);
        }
    }

    private final LanesConsumerFactory<?, ?> consumerFactory;
    private final ContainerSettings settings;
    private final Function<String, ListenerSettings> listenerSettings;
    private volatile Consumer<Collection<String>> beforeStart = ids -> { };
    private final List<LanesListenerContainerCustomizer> customizers;
    private final Supplier<ConsumerRebalanceListener> defaultRebalanceListener;
    private final BeanFactory beanFactory;
    private final Map<String, DefaultLanesListenerContainer> containers = new ConcurrentHashMap<>();
    private final List<DefaultLanesListenerContainer> ordered = new java.util.concurrent.CopyOnWriteArrayList<>();
    private volatile boolean running;

    public DefaultLanesListenerContainerRegistry(LanesConsumerFactory<?, ?> consumerFactory, ContainerSettings settings,
                                                 LanesErrorHandler errorHandler,
                                                 List<LanesListenerContainerCustomizer> customizers,
                                                 Supplier<ConsumerRebalanceListener> defaultRebalanceListener,
                                                 BeanFactory beanFactory) {
        this(consumerFactory, settings, id -> new ListenerSettings(null, settings.commitMode(), errorHandler), customizers,
                defaultRebalanceListener, beanFactory);
    }

    /** @param listenerSettings each listener's own settings, by listener id */
    public DefaultLanesListenerContainerRegistry(LanesConsumerFactory<?, ?> consumerFactory, ContainerSettings settings,
                                                 Function<String, ListenerSettings> listenerSettings,
                                                 List<LanesListenerContainerCustomizer> customizers,
                                                 Supplier<ConsumerRebalanceListener> defaultRebalanceListener,
                                                 BeanFactory beanFactory) {
        this.consumerFactory = consumerFactory;
        this.settings = settings;
        this.listenerSettings = listenerSettings;
        this.customizers = List.copyOf(customizers);
        this.defaultRebalanceListener = defaultRebalanceListener;
        this.beanFactory = beanFactory;
    }

    @Override
    public void registerEndpoint(LanesListenerEndpoint endpoint) {
        String groupId = endpoint.groupId();
        if (groupId == null) {
            Object configured = consumerFactory.configuration().get(ConsumerConfig.GROUP_ID_CONFIG);
            groupId = configured == null ? null : configured.toString();
        }
        if (groupId == null || groupId.isEmpty()) {
            throw new BeanInitializationException("Invalid @LanesListener method " + endpoint.methodName()
                    + ": no consumer group; set lanes.consumer.group-id or @LanesListener(groupId = ...)");
        }
        ListenerSettings own = listenerSettings.apply(endpoint.id());
        int concurrency = own.concurrency() != null ? own.concurrency()
                : endpoint.concurrency() != null ? endpoint.concurrency() : settings.concurrency();
        LanesErrorHandler errorHandler = endpoint.errorHandler() != null ? errorHandler(endpoint) : own.errorHandler();
        DefaultLanesListenerContainer container =
                new DefaultLanesListenerContainer(endpoint, consumerFactory, groupId, Math.max(1, concurrency), errorHandler);
        container.setCommitMode(own.commitMode());
        container.setPollTimeout(settings.pollTimeout());
        container.setShutdownTimeout(settings.shutdownTimeout());
        container.setReplaceFailedConsumers(own.replaceFailedConsumers() != null ? own.replaceFailedConsumers()
                : settings.replaceFailedConsumers());
        container.setReplaceBackOff(own.replaceBackOff() != null ? own.replaceBackOff() : settings.replaceBackOff());
        container.setStartBalanceTimeout(own.startBalanceTimeout() != null ? own.startBalanceTimeout()
                : settings.startBalanceTimeout());
        container.setRebalanceListener(rebalanceListener(endpoint));
        if (own.virtualThreads() != null ? own.virtualThreads() : settings.virtualThreads()) {
            container.setTaskExecutor(virtualThreadExecutor(endpoint.id()));
        }
        customizers.forEach(customizer -> customizer.customize(container));
        if (endpoint.arguments().takesAcknowledgment() && !container.getCommitMode().isManual()) {
            throw new BeanInitializationException("Invalid @LanesListener method " + endpoint.methodName()
                    + ": it takes an Acknowledgment, but its commit mode is " + container.getCommitMode().name().toLowerCase()
                    + ", where the container commits by itself; set lanes.consumer.listeners." + endpoint.id()
                    + ".commit-mode (or lanes.consumer.listener.commit-mode) to manual or manual-immediate");
        }
        if (containers.putIfAbsent(endpoint.id(), container) != null) {
            throw new BeanInitializationException("Invalid @LanesListener method " + endpoint.methodName()
                    + ": another listener already has the id '" + endpoint.id() + "'");
        }
        ordered.add(container);
        if (running && container.isAutoStartup()) {
            container.start();
        }
    }

    private static TaskExecutor virtualThreadExecutor(String listenerId) {
        SimpleAsyncTaskExecutor executor = new SimpleAsyncTaskExecutor("lanes-listener-" + listenerId + "-");
        executor.setVirtualThreads(true);
        return executor;
    }

    private LanesErrorHandler errorHandler(LanesListenerEndpoint endpoint) {
        try {
            return beanFactory.getBean(endpoint.errorHandler(), LanesErrorHandler.class);
        } catch (NoSuchBeanDefinitionException e) {
            throw new BeanInitializationException("Invalid @LanesListener method " + endpoint.methodName()
                    + ": no LanesErrorHandler bean named '" + endpoint.errorHandler() + "'", e);
        }
    }

    /** Runs with the ids of all registered listeners just before the containers first start. */
    public void setBeforeStart(Consumer<Collection<String>> beforeStart) {
        this.beforeStart = beforeStart;
    }

    private ConsumerRebalanceListener rebalanceListener(LanesListenerEndpoint endpoint) {
        if (endpoint.rebalanceListener() != null) {
            try {
                return beanFactory.getBean(endpoint.rebalanceListener(), ConsumerRebalanceListener.class);
            } catch (NoSuchBeanDefinitionException e) {
                throw new BeanInitializationException("Invalid @LanesListener method " + endpoint.methodName()
                        + ": no ConsumerRebalanceListener bean named '" + endpoint.rebalanceListener() + "'", e);
            }
        }
        return defaultRebalanceListener == null ? null : defaultRebalanceListener.get();
    }

    @Override
    public Collection<LanesListenerContainer> containers() {
        return List.copyOf(ordered);
    }

    @Override
    public Optional<LanesListenerContainer> container(String id) {
        return Optional.ofNullable(containers.get(id));
    }

    @Override
    public void start() {
        beforeStart.accept(ordered.stream().map(DefaultLanesListenerContainer::id).toList());
        for (DefaultLanesListenerContainer container : ordered) {
            if (container.isAutoStartup()) {
                container.start();
            }
        }
        running = true;
    }

    @Override
    public void stop() {
        running = false;
        List<DefaultLanesListenerContainer> all = new ArrayList<>(ordered);
        all.forEach(DefaultLanesListenerContainer::initiateStop);
        all.forEach(DefaultLanesListenerContainer::stop);
    }

    @Override
    public boolean isRunning() {
        return running;
    }

    @Override
    public int getPhase() {
        // Start late and stop early: listeners run only while every other bean is available.
        return SmartLifecycle.DEFAULT_PHASE - 100;
    }

    @Override
    public void destroy() {
        if (ordered.stream().anyMatch(DefaultLanesListenerContainer::isRunning)) {
            stop();
        }
    }
}
