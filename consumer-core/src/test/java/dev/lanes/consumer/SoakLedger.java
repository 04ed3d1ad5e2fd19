package dev.lanes.consumer;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * What happened to every sequence number: acknowledged by the broker, how often processed, and how
 * many of those processings are not known to be covered by a successful commit ("unconfirmed": the
 * commit failed or timed out, or auto-commit, whose outcome the application cannot see). The books of
 * {@link SoakIT}; any thread.
 */
final class SoakLedger {

    private final BitSet acknowledged = new BitSet();
    private final BitSet processed = new BitSet();
    private final BitSet confirmed = new BitSet();
    private int[] processings = new int[1 << 16];
    private int[] unconfirmed = new int[1 << 16];
    private int[] confirmedBy = new int[1 << 16];
    private final List<String> clients = new ArrayList<>(List.of(""));
    private final Map<String, Integer> clientCodes = new HashMap<>();
    private long totalProcessings;
    private int afterConfirmedCommit;
    private int afterConfirmedCommitInDoubt;
    private final List<String> afterConfirmedCommitSamples = new ArrayList<>();
    private final Map<String, Integer> commitFailures = new TreeMap<>();
    private final Map<String, String> commitFailureSamples = new TreeMap<>();

    synchronized void acknowledged(int sequence) {
        acknowledged.set(sequence);
    }

    /**
     * Books a processing. One of a record that a commit had already covered is counted apart when the
     * processing member was {@code inDoubt} (see {@code SoakIT.Member#inDoubt()}); returns a line describing
     * any other such processing, or null.
     */
    synchronized String processed(int sequence, String clientId, boolean inDoubt, int partition, long offset) {
        grow(sequence);
        String unexpected = null;
        if (confirmed.get(sequence)) {
            String what = sequence + " (partition " + partition + " offset " + offset + ") to " + clientId
                    + " after " + clients.get(confirmedBy[sequence]) + " had committed it";
            if (inDoubt) {
                afterConfirmedCommitInDoubt++;
            } else {
                afterConfirmedCommit++;
                unexpected = what;
            }
            if (afterConfirmedCommitSamples.size() < 10 && (!inDoubt || afterConfirmedCommitSamples.size() < 3)) {
                afterConfirmedCommitSamples.add(what + (inDoubt ? " (in doubt)" : ""));
            }
        }
        processings[sequence]++;
        processed.set(sequence);
        totalProcessings++;
        return unexpected;
    }

    /** Books the outcome of the commit that covers a batch: {@code committed} if known to have succeeded. */
    synchronized void settled(int[] sequences, boolean committed, String clientId) {
        int client = clientCodes.computeIfAbsent(clientId, id -> {
            clients.add(id);
            return clients.size() - 1;
        });
        for (int sequence : sequences) {
            if (committed) {
                if (!confirmed.get(sequence)) {
                    confirmed.set(sequence);
                    confirmedBy[sequence] = client;
                }
            } else {
                unconfirmed[sequence]++;
            }
        }
    }

    synchronized void commitFailed(Throwable error) {
        commitFailures.merge(error.getClass().getSimpleName(), 1, Integer::sum);
        commitFailureSamples.putIfAbsent(error.getClass().getSimpleName(), error.getMessage()
                + (error.getCause() == null ? "" : " (cause: " + error.getCause() + ")"));
    }

    synchronized int acknowledged() {
        return acknowledged.cardinality();
    }

    synchronized long processings() {
        return totalProcessings;
    }

    synchronized int distinctProcessed() {
        return processed.cardinality();
    }

    /** Acknowledged records not processed (yet). */
    synchronized int missing() {
        BitSet missing = (BitSet) acknowledged.clone();
        missing.andNot(processed);
        return missing.cardinality();
    }

    synchronized String missingSample() {
        BitSet missing = (BitSet) acknowledged.clone();
        missing.andNot(processed);
        return missing.stream().limit(10).boxed().toList().toString();
    }

    synchronized int lost() {
        return missing();
    }

    synchronized int neverSent() {
        BitSet unknown = (BitSet) processed.clone();
        unknown.andNot(acknowledged);
        return unknown.cardinality();
    }

    /** Extra processings beyond the first, over all records. */
    synchronized long duplicates() {
        long duplicates = 0;
        for (int s = processed.nextSetBit(0); s >= 0; s = processed.nextSetBit(s + 1)) {
            duplicates += processings[s] - 1;
        }
        return duplicates;
    }

    synchronized int duplicatedRecords() {
        int records = 0;
        for (int s = processed.nextSetBit(0); s >= 0; s = processed.nextSetBit(s + 1)) {
            records += processings[s] > 1 ? 1 : 0;
        }
        return records;
    }

    /** Records processed n times with fewer than n - 1 unconfirmed processings. */
    synchronized int unexplainedDuplicates() {
        int records = 0;
        for (int s = processed.nextSetBit(0); s >= 0; s = processed.nextSetBit(s + 1)) {
            records += processings[s] - 1 > unconfirmed[s] ? 1 : 0;
        }
        return records;
    }

    /** Processings of a record after a commit covering it had succeeded, by a member not in doubt. */
    synchronized int afterConfirmedCommit() {
        return afterConfirmedCommit;
    }

    /** The same, by a member in doubt: cut off from the group, possibly fenced without knowing it yet. */
    synchronized int afterConfirmedCommitInDoubt() {
        return afterConfirmedCommitInDoubt;
    }

    synchronized List<String> afterConfirmedCommitSamples() {
        return List.copyOf(afterConfirmedCommitSamples);
    }

    synchronized Map<String, Integer> commitFailures() {
        return Map.copyOf(commitFailures);
    }

    /** The first message of each kind of commit failure. */
    synchronized Map<String, String> commitFailureSamples() {
        return Map.copyOf(commitFailureSamples);
    }

    private void grow(int sequence) {
        if (sequence >= processings.length) {
            int length = Math.max(processings.length * 2, sequence + 1);
            processings = Arrays.copyOf(processings, length);
            unconfirmed = Arrays.copyOf(unconfirmed, length);
            confirmedBy = Arrays.copyOf(confirmedBy, length);
        }
    }
}
