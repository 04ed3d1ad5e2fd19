package dev.lanes.consumer.internals.shared;

import org.apache.kafka.common.ClusterResource;
import org.apache.kafka.common.ClusterResourceListener;

import java.util.List;

/**
 * The cluster's identity as metadata learns it, for the application's {@link ClusterResourceListener}s
 * (deserializers, interceptors, metric reporters), which KafkaConsumer tells the cluster id. Metadata updates
 * it on the background thread; the application thread tells the listeners inside {@code poll()}, since user
 * code runs only there (R3).
 */
public final class ClusterIdentity implements ClusterResourceListener {

    private volatile ClusterResource current;
    private ClusterResource told;

    /** Background thread: metadata learned the cluster's identity. */
    @Override
    public void onUpdate(ClusterResource clusterResource) {
        if (clusterResource != null && clusterResource.clusterId() != null) {
            current = clusterResource;
        }
    }

    /** Application thread: tells the listeners among {@code candidates} a cluster id they have not been told yet. */
    public void tell(List<?> candidates) {
        ClusterResource latest = current;
        if (latest == null || latest.equals(told)) {
            return;
        }
        told = latest;
        for (Object candidate : candidates) {
            if (candidate instanceof ClusterResourceListener listener) {
                listener.onUpdate(latest);
            }
        }
    }
}
