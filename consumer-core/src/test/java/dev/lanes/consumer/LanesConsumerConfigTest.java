package dev.lanes.consumer;

import org.apache.kafka.common.config.ConfigException;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.api.Test;

import java.util.HashMap;
import java.util.Map;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class LanesConsumerConfigTest {

    @Test
    void defaults() {
        LanesConsumerConfig config = new LanesConsumerConfig(Map.of());

        assertThat(config.getInt(LanesConsumerConfig.USER_LANE_CAPACITY_CONFIG)).isEqualTo(1024);
        assertThat(config.getInt(LanesConsumerConfig.USER_LANE_DRAIN_BUDGET_CONFIG)).isEqualTo(64);
        assertThat(config.getInt(LanesConsumerConfig.SYSTEM_LANE_CAPACITY_CONFIG)).isEqualTo(256);
        assertThat(config.getLong(LanesConsumerConfig.FETCH_BUFFER_MAX_BYTES_CONFIG)).isEqualTo(16L * 1024 * 1024);
        assertThat(config.getBoolean(LanesConsumerConfig.DECODE_AHEAD_CONFIG)).isTrue();
    }

    @Test
    void decodingAheadCanBeTurnedOffAndTakesOnlyABoolean() {
        assertThat(new LanesConsumerConfig(Map.of(LanesConsumerConfig.DECODE_AHEAD_CONFIG, "false"))
                .getBoolean(LanesConsumerConfig.DECODE_AHEAD_CONFIG)).isFalse();
        assertThatThrownBy(() -> new LanesConsumerConfig(Map.of(LanesConsumerConfig.DECODE_AHEAD_CONFIG, "sometimes")))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining(LanesConsumerConfig.DECODE_AHEAD_CONFIG);
    }

    @Test
    void acceptsValidValuesGivenAsStringsOrNumbers() {
        LanesConsumerConfig config = new LanesConsumerConfig(Map.of(
                LanesConsumerConfig.USER_LANE_CAPACITY_CONFIG, "10",
                LanesConsumerConfig.USER_LANE_DRAIN_BUDGET_CONFIG, 3,
                LanesConsumerConfig.SYSTEM_LANE_CAPACITY_CONFIG, 16,
                LanesConsumerConfig.FETCH_BUFFER_MAX_BYTES_CONFIG, 1024L));

        assertThat(config.getInt(LanesConsumerConfig.USER_LANE_CAPACITY_CONFIG)).isEqualTo(10);
        assertThat(config.getInt(LanesConsumerConfig.USER_LANE_DRAIN_BUDGET_CONFIG)).isEqualTo(3);
        assertThat(config.getInt(LanesConsumerConfig.SYSTEM_LANE_CAPACITY_CONFIG)).isEqualTo(16);
        assertThat(config.getLong(LanesConsumerConfig.FETCH_BUFFER_MAX_BYTES_CONFIG)).isEqualTo(1024L);
    }

    static Stream<Arguments> badValues() {
        return Stream.of(
                Arguments.of(LanesConsumerConfig.USER_LANE_CAPACITY_CONFIG, "many"),
                Arguments.of(LanesConsumerConfig.USER_LANE_CAPACITY_CONFIG, 0),
                Arguments.of(LanesConsumerConfig.USER_LANE_CAPACITY_CONFIG, (1 << 20) + 1),
                Arguments.of(LanesConsumerConfig.USER_LANE_DRAIN_BUDGET_CONFIG, 2.5),
                Arguments.of(LanesConsumerConfig.USER_LANE_DRAIN_BUDGET_CONFIG, 0),
                Arguments.of(LanesConsumerConfig.USER_LANE_DRAIN_BUDGET_CONFIG, -1),
                Arguments.of(LanesConsumerConfig.SYSTEM_LANE_CAPACITY_CONFIG, true),
                Arguments.of(LanesConsumerConfig.SYSTEM_LANE_CAPACITY_CONFIG, 15),
                Arguments.of(LanesConsumerConfig.SYSTEM_LANE_CAPACITY_CONFIG, (1 << 16) + 1),
                Arguments.of(LanesConsumerConfig.FETCH_BUFFER_MAX_BYTES_CONFIG, "64MB"),
                Arguments.of(LanesConsumerConfig.FETCH_BUFFER_MAX_BYTES_CONFIG, 1023L),
                Arguments.of(LanesConsumerConfig.FETCH_BUFFER_MAX_BYTES_CONFIG, -1));
    }

    @ParameterizedTest(name = "{0} = {1}")
    @MethodSource("badValues")
    void wrongTypeOrOutOfRangeValueIsAConfigExceptionNamingTheKey(String key, Object value) {
        Map<String, Object> settings = new HashMap<>();
        settings.put(key, value);

        assertThatThrownBy(() -> new LanesConsumerConfig(settings))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining(key);
    }

    @Test
    void unknownLanesKeyIsRejectedByName() {
        assertThatThrownBy(() -> new LanesConsumerConfig(Map.of("lanes.x", 1)))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("lanes.x");
        assertThatThrownBy(() -> new LanesConsumerConfig(Map.of("lanes.user.lane.capacit", 10)))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("lanes.user.lane.capacit");
    }

    @Test
    void splitsLanesEntriesFromConsumerEntries() {
        Map<String, Object> all = Map.of("lanes.user.lane.capacity", 5, "group.id", "g");

        assertThat(LanesConsumerConfig.lanesEntries(all)).containsOnlyKeys("lanes.user.lane.capacity");
        assertThat(LanesConsumerConfig.consumerEntries(all)).containsOnlyKeys("group.id");
    }
}
