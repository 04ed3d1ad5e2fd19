package dev.lanes.consumer.internals.adapter;

import org.apache.kafka.common.requests.AbstractRequest;
import org.apache.kafka.common.requests.AbstractResponse;

/**
 * A request ready to be sent, with the parser that turns its response into Lanes' own result type.
 * Outside this package it is opaque: request managers create it through {@link Requests} and receive
 * {@code R} (or an exception) back, never a Kafka protocol class.
 *
 * @param <R> the parsed result
 */
public final class OutboundRequest<R> {

    /** Parses a response; throws the Kafka exception of a request-level error. */
    @FunctionalInterface
    interface ResponseParser<R> {
        R parse(AbstractResponse response, short version);
    }

    private final String name;
    private final AbstractRequest.Builder<?> builder;
    private final ResponseParser<R> parser;

    OutboundRequest(String name, AbstractRequest.Builder<?> builder, ResponseParser<R> parser) {
        this.name = name;
        this.builder = builder;
        this.parser = parser;
    }

    AbstractRequest.Builder<?> builder() {
        return builder;
    }

    R parse(AbstractResponse response, short version) {
        return parser.parse(response, version);
    }

    /** The request's API name, such as OffsetCommit, for logs and tests. */
    public String name() {
        return name;
    }

    @Override
    public String toString() {
        return name;
    }
}
