package dev.lanes.consumer;

import org.apache.kafka.common.config.AbstractConfig;
import org.apache.kafka.common.config.ConfigDef;
import org.apache.kafka.common.config.ConfigException;

import java.util.HashMap;
import java.util.Map;

/**
 * Lanes' own settings, all prefixed {@code lanes.}, in one place. They sit next to the standard consumer
 * settings in the same map; a value of the wrong type or out of range, or an unknown {@code lanes.} key,
 * fails construction with a {@link ConfigException} that names the key.
 */
public final class LanesConsumerConfig extends AbstractConfig {

    public static final String PREFIX = "lanes.";

    /**
     * Lanes' default for {@code receive.buffer.bytes} when the application sets none: -1, the operating system's
     * own sizing (on Linux, grown to what the connection carries), where {@code KafkaConsumer} uses 64 KB. The
     * network thread reads a fetch response while the application thread works on the one before; behind a 64 KB
     * window the broker stops every 64 KB until that thread has read, and on uncompressed records that, not CPU,
     * was what held Lanes back (measured in the README's Performance section). A value the application sets is
     * used as given.
     */
    public static final int DEFAULT_RECEIVE_BUFFER_BYTES = -1;

    public static final String USER_LANE_CAPACITY_CONFIG = "lanes.user.lane.capacity";
    private static final String USER_LANE_CAPACITY_DOC = "How many application calls (commits, lookups) may wait "
            + "for the background thread. When the lane is full, non-blocking calls such as commitAsync fail at once "
            + "with BackPressureException and blocking calls wait for room within their timeout.";

    public static final String USER_LANE_DRAIN_BUDGET_CONFIG = "lanes.user.lane.drain.budget";
    private static final String USER_LANE_DRAIN_BUDGET_DOC = "How many user-lane events the background thread takes "
            + "per loop iteration, so that a flood of application calls cannot delay the consumer's own work.";

    public static final String SYSTEM_LANE_CAPACITY_CONFIG = "lanes.system.lane.capacity";
    private static final String SYSTEM_LANE_CAPACITY_DOC = "Capacity of the system lane, which carries the "
            + "consumer's own events (callback acknowledgements, close). It is drained completely every iteration.";

    public static final String FETCH_BUFFER_MAX_BYTES_CONFIG = "lanes.fetch.buffer.max.bytes";
    private static final String FETCH_BUFFER_MAX_BYTES_DOC = "Upper bound on the bytes of fetched data held for "
            + "the application, counted after decompression: buffered fetches plus the decompressed batches the "
            + "background thread decoded ahead and poll has not taken yet. At the bound the background thread stops "
            + "fetching and decoding ahead (other work goes on) until poll frees room; each fetch asks for no more "
            + "than the room left.";

    public static final String DECODE_AHEAD_CONFIG = "lanes.decode.ahead";
    private static final String DECODE_AHEAD_DOC = "Whether the background thread decodes fetched batches (CRC checks, "
            + "transaction filtering, decompression) ahead of the application thread, within "
            + FETCH_BUFFER_MAX_BYTES_CONFIG + ". With false, the application thread decodes everything inside poll(), "
            + "which costs less CPU in all when there is no second core to share the work.";

    public static final String HEARTBEAT_OVERDUE_HOLD_MS_CONFIG = "lanes.heartbeat.overdue.hold.ms";
    private static final String HEARTBEAT_OVERDUE_HOLD_MS_DOC = "How long past one heartbeat interval the answer to "
            + "a group member's heartbeats may be missing before poll() holds back records of its partitions, until "
            + "an answer confirms that the member still owns them. After a network cut longer than the session "
            + "timeout, the member was fenced and its partitions given to others: held records are never processed "
            + "twice, as long as one interval plus this stays below the group's session timeout (45 s or more with "
            + "brokers' defaults). The price: while the group coordinator is unreachable but the partitions' leaders "
            + "are not, no records are returned after this long. -1 never holds records back.";

    private static final ConfigDef CONFIG = new ConfigDef()
            .define(USER_LANE_CAPACITY_CONFIG, ConfigDef.Type.INT, 1024, ConfigDef.Range.between(1, 1 << 20),
                    ConfigDef.Importance.MEDIUM, USER_LANE_CAPACITY_DOC)
            .define(USER_LANE_DRAIN_BUDGET_CONFIG, ConfigDef.Type.INT, 64, ConfigDef.Range.between(1, 1 << 20),
                    ConfigDef.Importance.LOW, USER_LANE_DRAIN_BUDGET_DOC)
            .define(SYSTEM_LANE_CAPACITY_CONFIG, ConfigDef.Type.INT, 256, ConfigDef.Range.between(16, 1 << 16),
                    ConfigDef.Importance.LOW, SYSTEM_LANE_CAPACITY_DOC)
            .define(FETCH_BUFFER_MAX_BYTES_CONFIG, ConfigDef.Type.LONG, 16L * 1024 * 1024,
                    ConfigDef.Range.between(1024L, Long.MAX_VALUE / 2), ConfigDef.Importance.MEDIUM,
                    FETCH_BUFFER_MAX_BYTES_DOC)
            .define(DECODE_AHEAD_CONFIG, ConfigDef.Type.BOOLEAN, true, ConfigDef.Importance.LOW, DECODE_AHEAD_DOC)
            .define(HEARTBEAT_OVERDUE_HOLD_MS_CONFIG, ConfigDef.Type.LONG, 15_000L,
                    ConfigDef.Range.between(-1L, 24L * 60 * 60 * 1000), ConfigDef.Importance.MEDIUM,
                    HEARTBEAT_OVERDUE_HOLD_MS_DOC);

    public LanesConsumerConfig(Map<String, ?> lanesSettings) {
        super(CONFIG, rejectUnknown(lanesSettings), false);
    }

    /** The definitions of every {@code lanes.} setting (for documentation and tooling). */
    public static ConfigDef configDef() {
        return new ConfigDef(CONFIG);
    }

    /** The {@code lanes.} entries of a consumer's settings. */
    public static Map<String, Object> lanesEntries(Map<String, ?> all) {
        Map<String, Object> lanes = new HashMap<>();
        all.forEach((key, value) -> {
            if (key.startsWith(PREFIX)) {
                lanes.put(key, value);
            }
        });
        return lanes;
    }

    /** The other entries, for kafka-clients' ConsumerConfig. */
    public static Map<String, Object> consumerEntries(Map<String, ?> all) {
        Map<String, Object> rest = new HashMap<>();
        all.forEach((key, value) -> {
            if (!key.startsWith(PREFIX)) {
                rest.put(key, value);
            }
        });
        return rest;
    }

    private static Map<String, ?> rejectUnknown(Map<String, ?> settings) {
        for (String key : settings.keySet()) {
            if (!CONFIG.names().contains(key)) {
                throw new ConfigException(key, settings.get(key), "Unknown Lanes setting; known ones are " + CONFIG.names());
            }
        }
        return settings;
    }
}
