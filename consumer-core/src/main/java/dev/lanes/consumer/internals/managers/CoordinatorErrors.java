package dev.lanes.consumer.internals.managers;

import org.apache.kafka.common.errors.CoordinatorNotAvailableException;
import org.apache.kafka.common.errors.DisconnectException;
import org.apache.kafka.common.errors.NotCoordinatorException;
import org.apache.kafka.common.errors.TimeoutException;

/** Which errors of a request to the coordinator mean that the coordinator must be looked up again. */
final class CoordinatorErrors {

    private CoordinatorErrors() {
    }

    static boolean coordinatorLost(Throwable error) {
        return error instanceof NotCoordinatorException
                || error instanceof CoordinatorNotAvailableException
                || error instanceof DisconnectException
                || error instanceof TimeoutException;
    }
}
