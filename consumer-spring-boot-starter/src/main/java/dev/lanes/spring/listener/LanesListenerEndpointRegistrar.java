package dev.lanes.spring.listener;

/** Takes the listener endpoints the bean post-processor found; the container registry implements it. */
public interface LanesListenerEndpointRegistrar {

    void registerEndpoint(LanesListenerEndpoint endpoint);
}
