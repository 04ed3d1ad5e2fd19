package dev.lanes.benchmarks;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * A throughput data set: value shape and size, the producer's compression, and how many records a round
 * reads. By default the topic holds a whole round, so a round reads every record once from the beginning:
 * seeking back in the middle of a round would throw away what a consumer fetched and decoded ahead, a cost
 * that grows with read-ahead and that a consumer of a live topic does not pay. Only a round made longer with
 * {@code --records} reads more than the topic holds and starts over from the beginning when it runs out.
 *
 * @param name             what {@code --workloads} selects, for example {@code json256-lz4} or {@code raw100}
 * @param topic            the topic holding the data set
 * @param valueBytes       size of every value
 * @param json             JSON-like values from {@link JsonValues}; otherwise random bytes
 * @param compression      the producer's {@code compression.type}
 * @param recordsPerRound  records one consumer reads in one measured round, unless {@code --records} is given
 * @param datasetRecords   records produced to the topic (at most that many, and no more than a round reads)
 */
public record Workload(String name, String topic, int valueBytes, boolean json, String compression,
                       long recordsPerRound, long datasetRecords) {

    /** Seed of the JSON-like values, fixed so that every run reads the same bytes. */
    static final long JSON_SEED = 17;
    private static final List<String> CODECS = List.of("lz4", "zstd", "snappy", "gzip");

    /**
     * Every workload, in table order. Rounds are sized to last about five seconds or more for the fastest
     * consumer on 2 cores (rounds of two seconds moved by a fifth from one to the next), and every topic holds
     * its round: about 30 GB on the broker's disk for all ten.
     */
    public static final List<Workload> ALL = all();

    private static List<Workload> all() {
        List<Workload> all = new ArrayList<>();
        // Today's data sets, under their former topic names.
        all.add(new Workload("raw100", ConsumerBenchmark.TOPIC_100, 100, false, "none", 60_000_000, 60_000_000));
        all.add(new Workload("raw1k", ConsumerBenchmark.TOPIC_1K, 1024, false, "none", 10_000_000, 10_000_000));
        for (String codec : CODECS) {
            // gzip decompresses several times slower than the others: fewer records keep its round as long.
            long factor = codec.equals("gzip") ? 3 : 1;
            all.add(new Workload("json256-" + codec, "bench-json256-" + codec, 256, true, codec,
                    22_500_000 / factor, 22_500_000 / factor));
        }
        for (String codec : CODECS) {
            long factor = codec.equals("gzip") ? 3 : 1;
            all.add(new Workload("json1k-" + codec, "bench-json1k-" + codec, 1024, true, codec,
                    7_500_000 / factor, 7_500_000 / factor));
        }
        return List.copyOf(all);
    }

    public static List<String> names() {
        return ALL.stream().map(Workload::name).toList();
    }

    /** The workload named {@code name} (case-insensitive). */
    public static Workload named(String name) {
        String wanted = name.trim().toLowerCase(Locale.ROOT);
        return ALL.stream().filter(w -> w.name.equals(wanted)).findFirst().orElseThrow(() ->
                new IllegalArgumentException("unknown workload " + name + "; known: " + String.join(",", names())));
    }

    /** This workload reading {@code records} per round instead of its default (a smoke run, a long run). */
    public Workload withRecordsPerRound(long records) {
        return new Workload(name, topic, valueBytes, json, compression, records, Math.min(datasetRecords, records));
    }

    /** Records of the data set in {@code partition} when the producer spreads them round-robin. */
    public long recordsIn(int partition, int partitions) {
        return datasetRecords / partitions + (partition < datasetRecords % partitions ? 1 : 0);
    }

    /** A short description for table headers: "JSON-like 256 B, lz4". */
    public String describe() {
        return (json ? "JSON-like " : "random bytes ") + (valueBytes >= 1024 ? valueBytes / 1024 + " KB" : valueBytes + " B")
                + ", " + (compression.equals("none") ? "uncompressed" : compression);
    }
}
