package dev.lanes.consumer;

/**
 * Thrown by every call on a consumer that has been closed, either by the application or because its
 * background thread died; the message and the cause say which.
 */
public class ConsumerClosedException extends IllegalStateException {

    public ConsumerClosedException(String message, Throwable cause) {
        super(message, cause);
    }
}
