package dev.lanes.consumer.internals.background.managers;

import org.apache.kafka.common.errors.CoordinatorNotAvailableException;
import org.apache.kafka.common.errors.DisconnectException;
import org.apache.kafka.common.errors.FencedMemberEpochException;
import org.apache.kafka.common.errors.IllegalGenerationException;
import org.apache.kafka.common.errors.NotCoordinatorException;
import org.apache.kafka.common.errors.StaleMemberEpochException;
import org.apache.kafka.common.errors.TimeoutException;
import org.apache.kafka.common.errors.UnknownMemberIdException;

/** How to read the errors of a request to the group coordinator. */
final class CoordinatorErrors {

    private CoordinatorErrors() {
    }

    /** Whether the coordinator must be looked up again. */
    static boolean coordinatorLost(Throwable error) {
        return error instanceof NotCoordinatorException
                || error instanceof CoordinatorNotAvailableException
                || error instanceof DisconnectException
                || error instanceof TimeoutException;
    }

    /** Whether the coordinator refused the member itself: a commit of it cannot succeed (CommitFailedException). */
    static boolean membershipLost(Throwable error) {
        return error instanceof UnknownMemberIdException
                || error instanceof FencedMemberEpochException
                || error instanceof StaleMemberEpochException
                || error instanceof IllegalGenerationException;
    }
}
