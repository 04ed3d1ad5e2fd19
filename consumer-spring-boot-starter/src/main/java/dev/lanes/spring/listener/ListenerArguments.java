package dev.lanes.spring.listener;

import dev.lanes.spring.Acknowledgment;
import dev.lanes.spring.LanesHeaders;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.springframework.core.MethodParameter;
import org.springframework.core.ResolvableType;
import org.springframework.core.annotation.AnnotatedElementUtils;
import org.springframework.core.convert.ConversionService;
import org.springframework.core.convert.TypeDescriptor;
import org.springframework.core.convert.support.DefaultConversionService;
import org.springframework.messaging.Message;
import org.springframework.messaging.converter.MessageConversionException;
import org.springframework.messaging.converter.MessageConverter;
import org.springframework.messaging.converter.SmartMessageConverter;
import org.springframework.messaging.handler.annotation.Header;
import org.springframework.messaging.handler.annotation.Headers;
import org.springframework.messaging.handler.annotation.ValueConstants;
import org.springframework.messaging.handler.invocation.MethodArgumentResolutionException;
import org.springframework.messaging.support.MessageBuilder;

import java.lang.reflect.Method;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/**
 * The parameters of a listener method and how each gets its argument: the payload (a record, its value converted
 * to the parameter's type, or a batch), {@code @Header} and {@code @Headers} parameters, an {@link Acknowledgment}
 * and a read-only {@link Consumer}. Built once per method, when the listener is found; a method that cannot be
 * served fails start-up there.
 */
public final class ListenerArguments {

    private static final ConversionService CONVERSIONS = DefaultConversionService.getSharedInstance();

    enum Kind { PAYLOAD, HEADER, HEADERS, ACKNOWLEDGMENT, CONSUMER }

    record Parameter(Kind kind, MethodParameter parameter, String headerName, boolean required, String defaultValue) {
    }

    /** What the method gets the records as. */
    public enum Shape {
        /** A {@code ConsumerRecord<K,V>}. */
        RECORD(false),
        /** The record's value, converted to the parameter's type when it is not one already. */
        VALUE(false),
        /** A {@code List<ConsumerRecord<K,V>>}. */
        LIST(true),
        /** A {@code ConsumerRecords<K,V>}. */
        RECORDS(true),
        /** A {@code List<T>} of the values, each converted to {@code T} when it is not one already. */
        VALUES(true);

        private final boolean batch;

        Shape(boolean batch) {
            this.batch = batch;
        }

        public boolean isBatch() {
            return batch;
        }
    }

    private final Method method;
    private final Shape shape;
    private final List<Parameter> parameters;
    private volatile Supplier<MessageConverter> converter = () -> null;

    private ListenerArguments(Method method, Shape shape, List<Parameter> parameters) {
        this.method = method;
        this.shape = shape;
        this.parameters = parameters;
    }

    public Shape shape() {
        return shape;
    }

    /** Whether the method takes an {@link Acknowledgment}. */
    public boolean takesAcknowledgment() {
        return parameters.stream().anyMatch(p -> p.kind() == Kind.ACKNOWLEDGMENT);
    }

    /** Where values that are not of the payload's type are converted; the supplier may give null (no converter). */
    public void setConverter(Supplier<MessageConverter> converter) {
        this.converter = converter;
    }

    /** Reads a method's parameters; throws IllegalArgumentException, with the reason, for one it cannot serve. */
    public static ListenerArguments of(Method method) {
        List<Parameter> parameters = new ArrayList<>();
        Shape shape = null;
        for (int i = 0; i < method.getParameterCount(); i++) {
            MethodParameter parameter = new MethodParameter(method, i);
            Class<?> type = parameter.getParameterType();
            Header header = AnnotatedElementUtils.findMergedAnnotation(parameter.getParameter(), Header.class);
            if (header != null) {
                String name = !header.name().isEmpty() ? header.name() : header.value();
                if (name.isEmpty()) {
                    name = parameter.getParameter().isNamePresent() ? parameter.getParameter().getName() : "";
                    if (name.isEmpty()) {
                        throw new IllegalArgumentException("@Header parameter " + i + " names no header (give @Header(\"name\"))");
                    }
                }
                String defaultValue = ValueConstants.DEFAULT_NONE.equals(header.defaultValue()) ? null : header.defaultValue();
                parameters.add(new Parameter(Kind.HEADER, parameter, name, header.required() && defaultValue == null, defaultValue));
                continue;
            }
            if (parameter.hasParameterAnnotation(Headers.class)) {
                if (!Map.class.isAssignableFrom(type) && type != List.class) {
                    throw new IllegalArgumentException("@Headers parameter " + i + " must be a Map<String, Object> "
                            + "(a List of them in a batch listener), not " + type.getName());
                }
                parameters.add(new Parameter(Kind.HEADERS, parameter, null, false, null));
                continue;
            }
            if (type == Acknowledgment.class) {
                parameters.add(new Parameter(Kind.ACKNOWLEDGMENT, parameter, null, false, null));
                continue;
            }
            if (type == Consumer.class) {
                parameters.add(new Parameter(Kind.CONSUMER, parameter, null, false, null));
                continue;
            }
            if (shape != null) {
                throw new IllegalArgumentException("a @LanesListener method takes one payload parameter (ConsumerRecord<K,V>, "
                        + "a value, List<ConsumerRecord<K,V>>, ConsumerRecords<K,V> or List<T> of values), plus @Header, "
                        + "@Headers, Acknowledgment and Consumer parameters, but parameters " + payloadIndex(parameters)
                        + " and " + i + " both look like payloads");
            }
            shape = shape(parameter);
            parameters.add(new Parameter(Kind.PAYLOAD, parameter, null, false, null));
        }
        if (shape == null) {
            throw new IllegalArgumentException("a @LanesListener method takes exactly one payload parameter (ConsumerRecord<K,V>, "
                    + "a value, List<ConsumerRecord<K,V>>, ConsumerRecords<K,V> or List<T> of values), but has none");
        }
        for (Parameter parameter : parameters) {
            if (!shape.isBatch() && parameter.kind() == Kind.HEADERS && !Map.class.isAssignableFrom(parameter.parameter().getParameterType())) {
                throw new IllegalArgumentException("@Headers parameter " + parameter.parameter().getParameterIndex()
                        + " of a listener of one record must be a Map<String, Object>");
            }
        }
        if (shape.isBatch()) {
            for (Parameter parameter : parameters) {
                boolean header = parameter.kind() == Kind.HEADER || parameter.kind() == Kind.HEADERS;
                if (header && parameter.parameter().getParameterType() != List.class) {
                    throw new IllegalArgumentException("in a batch listener, @Header and @Headers parameters are Lists "
                            + "(one element per record, in the batch's order), but parameter "
                            + parameter.parameter().getParameterIndex() + " is a "
                            + parameter.parameter().getParameterType().getName());
                }
            }
        }
        return new ListenerArguments(method, shape, List.copyOf(parameters));
    }

    private static int payloadIndex(List<Parameter> parameters) {
        for (Parameter parameter : parameters) {
            if (parameter.kind() == Kind.PAYLOAD) {
                return parameter.parameter().getParameterIndex();
            }
        }
        return -1;
    }

    private static Shape shape(MethodParameter parameter) {
        Class<?> type = parameter.getParameterType();
        if (ConsumerRecord.class.isAssignableFrom(type)) {
            return Shape.RECORD;
        }
        if (ConsumerRecords.class.isAssignableFrom(type)) {
            return Shape.RECORDS;
        }
        if (Collection.class.isAssignableFrom(type)) {
            if (type != List.class) {
                throw new IllegalArgumentException("a batch parameter must be declared as a List, not " + type.getName());
            }
            Class<?> element = ResolvableType.forMethodParameter(parameter).getGeneric(0).resolve();
            if (element != null && ConsumerRecord.class.isAssignableFrom(element)) {
                return Shape.LIST;
            }
            return Shape.VALUES;
        }
        return Shape.VALUE;
    }

    /** The arguments for one record. */
    Object[] forRecord(ConsumerRecord<?, ?> record, String groupId, Acknowledgment acknowledgment, Consumer<?, ?> consumer) {
        Object[] arguments = new Object[parameters.size()];
        for (int i = 0; i < arguments.length; i++) {
            Parameter parameter = parameters.get(i);
            arguments[i] = switch (parameter.kind()) {
                case PAYLOAD -> shape == Shape.RECORD ? record : convert(record, parameter.parameter(),
                        parameter.parameter().getParameterType());
                case HEADER -> header(record, groupId, parameter, new TypeDescriptor(parameter.parameter()));
                case HEADERS -> headers(record, groupId);
                case ACKNOWLEDGMENT -> acknowledgment;
                case CONSUMER -> consumer;
            };
        }
        return arguments;
    }

    /** The arguments for a batch. */
    Object[] forBatch(List<? extends ConsumerRecord<?, ?>> batch, ConsumerRecords<?, ?> records, String groupId,
                      Acknowledgment acknowledgment, Consumer<?, ?> consumer) {
        Object[] arguments = new Object[parameters.size()];
        for (int i = 0; i < arguments.length; i++) {
            Parameter parameter = parameters.get(i);
            arguments[i] = switch (parameter.kind()) {
                case PAYLOAD -> switch (shape) {
                    case RECORDS -> records;
                    case VALUES -> values(batch, parameter.parameter());
                    default -> batch;
                };
                case HEADER -> {
                    TypeDescriptor element = new TypeDescriptor(parameter.parameter()).getElementTypeDescriptor();
                    List<Object> values = new ArrayList<>(batch.size());
                    batch.forEach(record -> values.add(header(record, groupId, parameter, element)));
                    yield values;
                }
                case HEADERS -> batch.stream().map(record -> headers(record, groupId)).toList();
                case ACKNOWLEDGMENT -> acknowledgment;
                case CONSUMER -> consumer;
            };
        }
        return arguments;
    }

    private List<Object> values(List<? extends ConsumerRecord<?, ?>> batch, MethodParameter parameter) {
        MethodParameter element = parameter.nested();
        Class<?> type = ResolvableType.forMethodParameter(parameter).getGeneric(0).resolve(Object.class);
        List<Object> values = new ArrayList<>(batch.size());
        for (ConsumerRecord<?, ?> record : batch) {
            values.add(convert(record, element, type));
        }
        return values;
    }

    private Object convert(ConsumerRecord<?, ?> record, MethodParameter parameter, Class<?> type) {
        Object value = record.value();
        if (value == null || org.springframework.util.ClassUtils.resolvePrimitiveIfNecessary(type).isInstance(value)) {
            return value;
        }
        if (value instanceof byte[] bytes && type == String.class) {
            return new String(bytes, StandardCharsets.UTF_8);
        }
        MessageConverter messageConverter = converter.get();
        if (messageConverter != null) {
            Message<?> message = MessageBuilder.withPayload(value).copyHeaders(headers(record, null)).build();
            Object converted = messageConverter instanceof SmartMessageConverter smart
                    ? smart.fromMessage(message, type, parameter) : messageConverter.fromMessage(message, type);
            if (converted != null) {
                return converted;
            }
        }
        // Simple values only: the conversion service would turn a byte array into its first element.
        boolean simple = value instanceof CharSequence || value instanceof Number || value instanceof Boolean;
        if (simple && CONVERSIONS.canConvert(TypeDescriptor.forObject(value), new TypeDescriptor(parameter))) {
            return CONVERSIONS.convert(value, TypeDescriptor.forObject(value), new TypeDescriptor(parameter));
        }
        throw new MessageConversionException("Cannot convert the value of " + record.topic() + "-" + record.partition()
                + " offset " + record.offset() + " (a " + value.getClass().getName() + ") to " + type.getName() + " for "
                + method.getDeclaringClass().getName() + "." + method.getName()
                + (messageConverter == null ? ": no MessageConverter (add Jackson for JSON, or a MessageConverter bean)"
                : " with " + messageConverter.getClass().getName()));
    }

    /** @param target the type to give: the parameter's, or a list parameter's element type in a batch listener */
    private Object header(ConsumerRecord<?, ?> record, String groupId, Parameter parameter, TypeDescriptor target) {
        if (target == null) {
            target = TypeDescriptor.valueOf(Object.class); // a raw List
        }
        Object value = switch (parameter.headerName()) {
            case LanesHeaders.RECEIVED_TOPIC -> record.topic();
            case LanesHeaders.RECEIVED_PARTITION -> record.partition();
            case LanesHeaders.OFFSET -> record.offset();
            case LanesHeaders.RECEIVED_KEY -> record.key();
            case LanesHeaders.RECEIVED_TIMESTAMP -> record.timestamp();
            case LanesHeaders.TIMESTAMP_TYPE -> record.timestampType().toString();
            case LanesHeaders.GROUP_ID -> groupId;
            default -> {
                org.apache.kafka.common.header.Header last = record.headers().lastHeader(parameter.headerName());
                yield last == null ? null : last.value();
            }
        };
        if (value == null) {
            value = parameter.defaultValue();
        }
        if (value == null) {
            if (parameter.required()) {
                Message<?> message = MessageBuilder.withPayload(record.value() == null ? new byte[0] : record.value()).build();
                throw new MethodArgumentResolutionException(message, parameter.parameter(), "Missing header '"
                        + parameter.headerName() + "' in " + record.topic() + "-" + record.partition() + " offset " + record.offset());
            }
            return target.getType() == java.util.Optional.class ? java.util.Optional.empty() : null;
        }
        Class<?> type = target.getObjectType();
        if (type == java.util.Optional.class) {
            return java.util.Optional.of(value);
        }
        if (type.isInstance(value)) {
            return value;
        }
        Object text = value instanceof byte[] bytes ? new String(bytes, StandardCharsets.UTF_8) : value;
        if (type.isInstance(text)) {
            return text;
        }
        return CONVERSIONS.convert(text, TypeDescriptor.forObject(text), target);
    }

    /** The record's headers (raw bytes, the last of each name) and its facts under {@link LanesHeaders} names. */
    private static Map<String, Object> headers(ConsumerRecord<?, ?> record, String groupId) {
        Map<String, Object> headers = new LinkedHashMap<>();
        for (org.apache.kafka.common.header.Header header : record.headers()) {
            // Spring's converters read the content type as text.
            headers.put(header.key(), header.key().equals("contentType") && header.value() != null
                    ? new String(header.value(), StandardCharsets.UTF_8) : header.value());
        }
        headers.put(LanesHeaders.RECEIVED_TOPIC, record.topic());
        headers.put(LanesHeaders.RECEIVED_PARTITION, record.partition());
        headers.put(LanesHeaders.OFFSET, record.offset());
        if (record.key() != null) {
            headers.put(LanesHeaders.RECEIVED_KEY, record.key());
        }
        headers.put(LanesHeaders.RECEIVED_TIMESTAMP, record.timestamp());
        headers.put(LanesHeaders.TIMESTAMP_TYPE, record.timestampType().toString());
        if (groupId != null) {
            headers.put(LanesHeaders.GROUP_ID, groupId);
        }
        return headers;
    }
}
