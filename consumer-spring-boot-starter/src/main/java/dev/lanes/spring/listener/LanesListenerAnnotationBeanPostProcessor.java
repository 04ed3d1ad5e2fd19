package dev.lanes.spring.listener;

import dev.lanes.spring.LanesListener;
import dev.lanes.spring.PartitionOffset;
import dev.lanes.spring.TopicPartition;
import dev.lanes.spring.autoconfigure.ConsumerSettingCheck;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.springframework.aop.support.AopUtils;
import org.springframework.beans.BeansException;
import org.springframework.beans.factory.BeanFactory;
import org.springframework.beans.factory.BeanFactoryAware;
import org.springframework.beans.factory.BeanInitializationException;
import org.springframework.beans.factory.SmartInitializingSingleton;
import org.springframework.beans.factory.config.BeanExpressionContext;
import org.springframework.beans.factory.config.BeanPostProcessor;
import org.springframework.beans.factory.config.ConfigurableListableBeanFactory;
import org.springframework.context.EnvironmentAware;
import org.springframework.core.MethodIntrospector;
import org.springframework.core.annotation.AnnotatedElementUtils;
import org.springframework.core.env.Environment;
import org.springframework.messaging.converter.MessageConverter;
import org.springframework.util.ClassUtils;

import java.lang.reflect.Method;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * Finds {@link LanesListener} methods on beans, resolves their {@code ${...}} placeholders and
 * {@code #{...}} expressions, checks their
 * shape, and hands them to the {@link LanesListenerEndpointRegistrar} once all singletons exist. It only
 * finds and registers; the registry creates, starts and stops the containers.
 */
public class LanesListenerAnnotationBeanPostProcessor
        implements BeanPostProcessor, BeanFactoryAware, EnvironmentAware, SmartInitializingSingleton {

    private final Set<Class<?>> nonAnnotatedClasses = ConcurrentHashMap.newKeySet();
    private final List<LanesListenerEndpoint> endpoints = new ArrayList<>();
    private BeanFactory beanFactory;
    private volatile MessageConverter converter;
    private volatile boolean converterResolved;
    private Environment environment;

    @Override
    public void setBeanFactory(BeanFactory beanFactory) {
        this.beanFactory = beanFactory;
    }

    @Override
    public void setEnvironment(Environment environment) {
        this.environment = environment;
    }

    @Override
    public Object postProcessAfterInitialization(Object bean, String beanName) throws BeansException {
        Class<?> targetClass = AopUtils.getTargetClass(bean);
        if (nonAnnotatedClasses.contains(targetClass)) {
            return bean;
        }
        Map<Method, LanesListener> methods = MethodIntrospector.selectMethods(targetClass,
                (MethodIntrospector.MetadataLookup<LanesListener>) method ->
                        AnnotatedElementUtils.findMergedAnnotation(method, LanesListener.class));
        if (methods.isEmpty()) {
            nonAnnotatedClasses.add(targetClass);
            return bean;
        }
        methods.forEach((method, annotation) -> {
            Method invocable = AopUtils.selectInvocableMethod(method, bean.getClass());
            invocable.trySetAccessible();
            synchronized (endpoints) {
                endpoints.add(endpoint(bean, beanName, invocable, method, annotation));
            }
        });
        return bean;
    }

    /**
     * The application's MessageConverter (a unique bean of that type), else a Jackson JSON converter when Jackson is
     * on the classpath (with the application's JsonMapper bean when there is one), else none.
     */
    private MessageConverter messageConverter() {
        MessageConverter current = converter;
        if (current == null && !converterResolved) {
            synchronized (this) {
                if (!converterResolved) {
                    converter = beanFactory.getBeanProvider(MessageConverter.class).getIfUnique();
                    if (converter == null && ClassUtils.isPresent("tools.jackson.databind.json.JsonMapper", getClass().getClassLoader())) {
                        converter = JacksonConverter.create(beanFactory);
                    }
                    converterResolved = true;
                }
                current = converter;
            }
        }
        return current;
    }

    /** The endpoints found so far. */
    public List<LanesListenerEndpoint> endpoints() {
        synchronized (endpoints) {
            return List.copyOf(endpoints);
        }
    }

    @Override
    public void afterSingletonsInstantiated() {
        List<LanesListenerEndpoint> found = endpoints();
        if (found.isEmpty()) {
            return;
        }
        LanesListenerEndpointRegistrar registrar = beanFactory.getBeanProvider(LanesListenerEndpointRegistrar.class).getIfAvailable();
        if (registrar == null) {
            throw new BeanInitializationException("@LanesListener methods found (" + found.get(0).methodName()
                    + ", ...) but no LanesListenerEndpointRegistrar bean to run them");
        }
        found.forEach(registrar::registerEndpoint);
    }

    LanesListenerEndpoint endpoint(Object bean, String beanName, Method invocable, Method method, LanesListener annotation) {
        String where = method.getDeclaringClass().getName() + "." + method.getName();
        String id = resolve(annotation.id(), where, "id");
        if (id.isEmpty()) {
            id = beanName + "#" + method.getName();
        }
        List<String> topics = new ArrayList<>();
        for (String topic : annotation.topics()) {
            for (String resolved : resolveAll(topic, where, "topics")) {
                for (String part : resolved.split(",")) {
                    if (!part.isBlank()) {
                        topics.add(part.trim());
                    }
                }
            }
        }
        String patternText = resolve(annotation.topicPattern(), where, "topicPattern");
        Pattern pattern = null;
        if (!patternText.isEmpty()) {
            try {
                pattern = Pattern.compile(patternText);
            } catch (PatternSyntaxException e) {
                throw invalid(where, "topicPattern '" + patternText + "' is not a regular expression: " + e.getDescription());
            }
        }
        List<LanesListenerEndpoint.Assignment> assignments = assignments(annotation.topicPartitions(), where);
        int ways = (topics.isEmpty() ? 0 : 1) + (pattern == null ? 0 : 1) + (assignments.isEmpty() ? 0 : 1);
        if (ways != 1) {
            throw invalid(where, "give either topics, topicPattern or topicPartitions (exactly one of them)");
        }
        if (assignments.isEmpty()) {
            topics = List.copyOf(topics);
        } else {
            topics = assignments.stream().map(a -> a.partition().topic()).distinct().toList();
        }
        String groupId = resolve(annotation.groupId(), where, "groupId");
        String concurrencyText = resolve(annotation.concurrency(), where, "concurrency");
        Integer concurrency = null;
        if (!concurrencyText.isEmpty()) {
            try {
                concurrency = Integer.parseInt(concurrencyText.trim());
            } catch (NumberFormatException e) {
                throw invalid(where, "concurrency '" + concurrencyText + "' is not a whole number");
            }
            if (concurrency < 1) {
                throw invalid(where, "concurrency must be at least 1, was " + concurrency);
            }
        }
        String autoStartupText = resolve(annotation.autoStartup(), where, "autoStartup").trim();
        if (!autoStartupText.isEmpty() && !autoStartupText.equalsIgnoreCase("true") && !autoStartupText.equalsIgnoreCase("false")) {
            throw invalid(where, "autoStartup must be true or false, was '" + autoStartupText + "'");
        }
        boolean autoStartup = autoStartupText.isEmpty() || Boolean.parseBoolean(autoStartupText);
        Map<String, String> properties = new LinkedHashMap<>();
        for (String entry : annotation.properties()) {
            String resolved = resolve(entry, where, "properties");
            int eq = resolved.indexOf('=');
            if (eq <= 0) {
                throw invalid(where, "properties entry '" + resolved + "' is not key=value");
            }
            String key = resolved.substring(0, eq).trim();
            String value = resolved.substring(eq + 1).trim();
            if (ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG.equals(key) && Boolean.parseBoolean(value)) {
                throw invalid(where, "properties entry '" + resolved + "': the container commits processed offsets "
                        + "itself, so auto-commit cannot be turned on");
            }
            String problem = ConsumerSettingCheck.problem(key, value);
            if (problem != null) {
                throw invalid(where, "properties entry '" + resolved + "' is invalid: " + problem);
            }
            properties.put(key, value);
        }
        String rebalanceListener = resolve(annotation.rebalanceListener(), where, "rebalanceListener");
        if (!rebalanceListener.isEmpty() && !assignments.isEmpty()) {
            throw invalid(where, "rebalanceListener has no use with topicPartitions: assigned partitions are never rebalanced");
        }
        String errorHandler = resolve(annotation.errorHandler(), where, "errorHandler");
        ListenerArguments arguments = arguments(method, where);
        arguments.setConverter(this::messageConverter);
        return new LanesListenerEndpoint(id, beanName, bean, invocable, arguments, topics, pattern,
                groupId.isEmpty() ? null : groupId, concurrency, autoStartup, Map.copyOf(properties),
                rebalanceListener.isEmpty() ? null : rebalanceListener, assignments,
                errorHandler.isEmpty() ? null : errorHandler);
    }

    private List<LanesListenerEndpoint.Assignment> assignments(TopicPartition[] topicPartitions, String where) {
        Map<org.apache.kafka.common.TopicPartition, Long> offsets = new LinkedHashMap<>();
        for (TopicPartition topicPartition : topicPartitions) {
            String topic = resolve(topicPartition.topic(), where, "topicPartitions.topic").trim();
            if (topic.isEmpty()) {
                throw invalid(where, "topicPartitions: a topic is required");
            }
            for (String partitions : topicPartition.partitions()) {
                for (String part : resolve(partitions, where, "topicPartitions.partitions").split(",")) {
                    for (int partition : partitionNumbers(part.trim(), where)) {
                        add(offsets, new org.apache.kafka.common.TopicPartition(topic, partition), null, where);
                    }
                }
            }
            for (PartitionOffset partitionOffset : topicPartition.partitionOffsets()) {
                String partitionText = resolve(partitionOffset.partition(), where, "topicPartitions.partitionOffsets.partition").trim();
                String offsetText = resolve(partitionOffset.initialOffset(), where, "topicPartitions.partitionOffsets.initialOffset").trim();
                long offset;
                try {
                    offset = Long.parseLong(offsetText);
                } catch (NumberFormatException e) {
                    throw invalid(where, "topicPartitions: initialOffset '" + offsetText + "' of " + topic + "-" + partitionText
                            + " is not a whole number");
                }
                for (int partition : partitionNumbers(partitionText, where)) {
                    add(offsets, new org.apache.kafka.common.TopicPartition(topic, partition), offset, where);
                }
            }
            if (topicPartition.partitions().length == 0 && topicPartition.partitionOffsets().length == 0) {
                throw invalid(where, "topicPartitions: topic '" + topic + "' names no partitions");
            }
        }
        List<LanesListenerEndpoint.Assignment> assignments = new ArrayList<>();
        offsets.forEach((partition, offset) -> assignments.add(new LanesListenerEndpoint.Assignment(partition, offset)));
        return List.copyOf(assignments);
    }

    private static void add(Map<org.apache.kafka.common.TopicPartition, Long> offsets, org.apache.kafka.common.TopicPartition partition,
                            Long offset, String where) {
        if (offsets.containsKey(partition) && offsets.get(partition) != null && offset != null) {
            throw invalid(where, "topicPartitions: " + partition + " has two initial offsets");
        }
        if (offset != null || !offsets.containsKey(partition)) {
            offsets.put(partition, offset);
        }
    }

    private static List<Integer> partitionNumbers(String text, String where) {
        try {
            int dash = text.indexOf('-', 1);
            if (dash < 0) {
                int partition = Integer.parseInt(text);
                if (partition < 0) {
                    throw new NumberFormatException();
                }
                return List.of(partition);
            }
            int from = Integer.parseInt(text.substring(0, dash).trim());
            int to = Integer.parseInt(text.substring(dash + 1).trim());
            if (from < 0 || to < from) {
                throw new NumberFormatException();
            }
            List<Integer> all = new ArrayList<>();
            for (int partition = from; partition <= to; partition++) {
                all.add(partition);
            }
            return all;
        } catch (NumberFormatException e) {
            throw invalid(where, "topicPartitions: '" + text + "' is not a partition number or a range such as 0-3");
        }
    }

    static ListenerArguments arguments(Method method, String where) {
        try {
            return ListenerArguments.of(method);
        } catch (IllegalArgumentException e) {
            throw invalid(where, e.getMessage());
        }
    }

    /** One attribute value: placeholders resolved, then a {@code #{...}} expression evaluated to a single value. */
    private String resolve(String value, String where, String attribute) {
        Object resolved = evaluate(value, where, attribute);
        if (resolved instanceof Pattern pattern) {
            return pattern.pattern();
        }
        if (resolved instanceof String || resolved instanceof Number || resolved instanceof Boolean
                || resolved instanceof Character) {
            return resolved.toString();
        }
        throw invalid(where, attribute + " '" + value + "' evaluated to a " + resolved.getClass().getName()
                + "; a single value was expected");
    }

    /** As {@link #resolve}, except that an expression may also give an array or a collection of values. */
    private List<String> resolveAll(String value, String where, String attribute) {
        Object resolved = evaluate(value, where, attribute);
        Collection<?> values = resolved instanceof Object[] array ? Arrays.asList(array)
                : resolved instanceof Collection<?> collection ? collection : null;
        if (values == null) {
            return List.of(resolve(value, where, attribute));
        }
        List<String> all = new ArrayList<>();
        for (Object element : values) {
            if (!(element instanceof String text)) {
                throw invalid(where, attribute + " '" + value + "' gave " + element + ", which is not a String");
            }
            all.add(text);
        }
        return all;
    }

    private Object evaluate(String value, String where, String attribute) {
        if (value == null || value.isEmpty()) {
            return "";
        }
        String resolved;
        try {
            resolved = environment.resolveRequiredPlaceholders(value);
        } catch (IllegalArgumentException e) {
            throw invalid(where, "cannot resolve " + attribute + " '" + value + "': " + e.getMessage());
        }
        if (!resolved.contains("#{") || !(beanFactory instanceof ConfigurableListableBeanFactory factory)
                || factory.getBeanExpressionResolver() == null) {
            return resolved;
        }
        try {
            Object evaluated = factory.getBeanExpressionResolver().evaluate(resolved, new BeanExpressionContext(factory, null));
            return evaluated == null ? "" : evaluated;
        } catch (BeansException e) {
            throw invalid(where, "cannot evaluate " + attribute + " '" + value + "': " + e.getMessage());
        }
    }

    private static BeanInitializationException invalid(String where, String problem) {
        return new BeanInitializationException("Invalid @LanesListener method " + where + ": " + problem);
    }
}
