package dev.lanes.consumer;

import org.apache.kafka.common.errors.RetriableException;

/**
 * The consumer's user lane is full: a non-blocking call (such as {@code commitAsync}) was refused at
 * once instead of queueing without bound. Back off and retry; nothing of the refused call was accepted.
 */
public class BackPressureException extends RetriableException {

    public BackPressureException(String message) {
        super(message);
    }
}
