package dev.lanes.benchmarks;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.common.Uuid;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

/**
 * The benchmark's KRaft cluster on 127.0.0.1, each node a child JVM ({@link BrokerProcess}). Node 1 is broker and
 * controller, the only voter of a static quorum; with more than one broker ({@code --brokers}), nodes 2 to N are
 * brokers only. The topics' partitions and their leaders spread over the brokers, so a consumer fetches from
 * every one of them and shares its fetch buffer among them, as against a production cluster. With one broker
 * the cluster is the single node every earlier run of the benchmark measured.
 */
public final class BrokerCluster implements AutoCloseable {

    private static final long READY_TIMEOUT_MS = 90_000;

    private final Path root;
    private final List<BrokerProcess> nodes;
    private final List<Integer> ports;

    private BrokerCluster(Path root, List<BrokerProcess> nodes, List<Integer> ports) {
        this.root = root;
        this.nodes = nodes;
        this.ports = ports;
    }

    /**
     * Starts {@code brokers} nodes and waits until every broker is registered with the controller.
     *
     * @param extraProperties broker settings added to (or overriding) the defaults, on every node
     * @param heap            each node's heap, as for {@code -Xmx}
     */
    public static BrokerCluster start(int brokers, Map<String, String> extraProperties, String heap) throws Exception {
        if (brokers < 1) {
            throw new IllegalArgumentException("a cluster needs at least one broker, not " + brokers);
        }
        Path root = Files.createTempDirectory("lanes-bench-broker-");
        String clusterId = Uuid.randomUuid().toString();
        int controllerPort = BrokerProcess.freePort();
        List<Integer> ports = new ArrayList<>();
        for (int i = 0; i < brokers; i++) {
            ports.add(BrokerProcess.freePort());
        }
        List<BrokerProcess> nodes = new ArrayList<>();
        BrokerCluster cluster = new BrokerCluster(root, nodes, ports);
        try {
            for (int nodeId = 1; nodeId <= brokers; nodeId++) {
                Path dir = root.resolve("node-" + nodeId);
                List<String> properties = serverProperties(nodeId, ports.get(nodeId - 1), controllerPort, dir);
                extraProperties.forEach((key, value) -> properties.add(key + "=" + value));
                nodes.add(BrokerProcess.launch(nodeId, dir, properties, clusterId, heap));
            }
            cluster.awaitBrokers();
        } catch (Exception e) {
            String output = nodes.stream().map(node -> "node " + node.nodeId() + ":\n" + node.outputTail())
                    .collect(Collectors.joining("\n"));
            cluster.close();
            throw new IllegalStateException("broker cluster did not start: " + e + "\n" + output, e);
        }
        return cluster;
    }

    /** Node 1 runs the controller too; the others reach it on its controller listener. */
    static List<String> serverProperties(int nodeId, int port, int controllerPort, Path dir) {
        boolean controller = nodeId == 1;
        String listeners = "PLAINTEXT://127.0.0.1:" + port + (controller ? ",CONTROLLER://127.0.0.1:" + controllerPort : "");
        return new ArrayList<>(List.of(
                "process.roles=" + (controller ? "broker,controller" : "broker"),
                "node.id=" + nodeId,
                "controller.quorum.voters=1@127.0.0.1:" + controllerPort,
                "controller.listener.names=CONTROLLER",
                "listeners=" + listeners,
                "advertised.listeners=PLAINTEXT://127.0.0.1:" + port,
                "inter.broker.listener.name=PLAINTEXT",
                "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
                "log.dirs=" + dir.resolve("data"),
                "num.partitions=6",
                "auto.create.topics.enable=false",
                "offsets.topic.replication.factor=1",
                "offsets.topic.num.partitions=1",
                "transaction.state.log.replication.factor=1",
                "transaction.state.log.min.isr=1",
                "share.coordinator.state.topic.replication.factor=1",
                "share.coordinator.state.topic.min.isr=1",
                "group.initial.rebalance.delay.ms=0"));
    }

    /** Until DescribeCluster lists every broker: topics created before would leave the late ones out. */
    private void awaitBrokers() throws Exception {
        long deadline = System.currentTimeMillis() + READY_TIMEOUT_MS;
        try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers(),
                AdminClientConfig.CLIENT_ID_CONFIG, "bench-admin-ready"))) {
            while (true) {
                nodes.forEach(BrokerProcess::checkAlive);
                int registered = 0;
                try {
                    registered = admin.describeCluster().nodes().get(2, TimeUnit.SECONDS).size();
                } catch (Exception e) {
                    if (System.currentTimeMillis() > deadline) {
                        throw e;
                    }
                }
                if (registered == nodes.size()) {
                    return;
                }
                if (System.currentTimeMillis() > deadline) {
                    throw new IllegalStateException(registered + " of " + nodes.size() + " brokers registered after "
                            + READY_TIMEOUT_MS + " ms");
                }
                Thread.sleep(200);
            }
        }
    }

    public String bootstrapServers() {
        return ports.stream().map(port -> "127.0.0.1:" + port).collect(Collectors.joining(","));
    }

    public int size() {
        return nodes.size();
    }

    public List<Integer> nodeIds() {
        return nodes.stream().map(BrokerProcess::nodeId).toList();
    }

    public List<Long> pids() {
        return nodes.stream().map(BrokerProcess::pid).toList();
    }

    public Path directory() {
        return root;
    }

    /** Stops the brokers before node 1, whose controller they would otherwise wait for in their shutdown. */
    @Override
    public void close() {
        for (int i = nodes.size() - 1; i >= 0; i--) {
            nodes.get(i).close();
        }
        BrokerProcess.deleteRecursively(root);
    }
}
