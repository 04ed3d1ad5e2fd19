package dev.lanes.benchmarks;

import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class BrokerClusterTest {

    @Test
    void nodeOneIsTheControllerAndTheOthersReachIt() {
        List<String> first = BrokerCluster.serverProperties(1, 9001, 9100, Path.of("/tmp/n1"));
        List<String> second = BrokerCluster.serverProperties(2, 9002, 9100, Path.of("/tmp/n2"));

        assertThat(first).contains("process.roles=broker,controller", "node.id=1",
                "listeners=PLAINTEXT://127.0.0.1:9001,CONTROLLER://127.0.0.1:9100",
                "advertised.listeners=PLAINTEXT://127.0.0.1:9001", "controller.quorum.voters=1@127.0.0.1:9100",
                "log.dirs=" + Path.of("/tmp/n1", "data"));
        assertThat(second).contains("process.roles=broker", "node.id=2", "listeners=PLAINTEXT://127.0.0.1:9002",
                "advertised.listeners=PLAINTEXT://127.0.0.1:9002", "controller.quorum.voters=1@127.0.0.1:9100",
                "log.dirs=" + Path.of("/tmp/n2", "data"));
        // Every node creates topics the same way: six partitions, nothing created by a client's request.
        assertThat(List.of(first, second)).allSatisfy(properties ->
                assertThat(properties).contains("num.partitions=6", "auto.create.topics.enable=false"));
    }

    @Test
    void refusesAClusterWithoutBrokers() {
        assertThatThrownBy(() -> BrokerCluster.start(0, Map.of(), "1g"))
                .hasMessageContaining("a cluster needs at least one broker, not 0");
    }
}
