package dev.lanes.consumer.testing;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A loopback TCP proxy that a test can cut and restore, for fault tests.
 *
 * <p>Listens on 127.0.0.1 on an ephemeral port and forwards each accepted connection to one target.
 * Blocking sockets with two daemon threads per connection ({@code tcp-proxy-<port>-...}); that is
 * plenty for the handful of connections a Kafka client opens.
 *
 * <p>A Kafka client learns broker addresses from metadata, so the proxy sees all of a client's
 * traffic only if the broker advertises the proxy; {@link KafkaBroker#startBehindProxy()} does that.
 */
public final class TcpProxy implements AutoCloseable {

    /** What a cut does to the traffic. */
    public enum Cut {
        /** Closes open connections; new ones are accepted and closed at once, like a broker that is down. */
        REFUSE,
        /** Closes open connections; new ones are accepted but nothing is forwarded, so requests hang. */
        BLACKHOLE,
        /** Keeps open connections but moves no bytes either way, like a network partition: nobody sees a close. */
        STALL
    }

    private enum State { FORWARD, REFUSE, HOLD }

    private static final Logger log = LoggerFactory.getLogger(TcpProxy.class);
    private static final int CONNECT_TIMEOUT_MS = 5_000;

    private final ServerSocket server;
    private final InetSocketAddress target;
    private final String name;
    private final Thread acceptor;
    private final Set<Link> links = ConcurrentHashMap.newKeySet();
    private final Set<Thread> threads = ConcurrentHashMap.newKeySet();
    private final AtomicLong accepted = new AtomicLong();
    private final AtomicInteger linkIds = new AtomicInteger();
    private final Object lock = new Object();
    private State state = State.FORWARD; // guarded by lock
    private volatile boolean closed;

    private TcpProxy(ServerSocket server, InetSocketAddress target) {
        this.server = server;
        this.target = target;
        this.name = "tcp-proxy-" + server.getLocalPort();
        this.acceptor = newThread(name + "-accept", this::acceptLoop);
    }

    /** Starts a proxy on 127.0.0.1 that forwards to {@code host:port}. */
    public static TcpProxy start(String host, int port) {
        try {
            ServerSocket server = new ServerSocket(0, 50, InetAddress.getByName(KafkaBroker.LOOPBACK));
            TcpProxy proxy = new TcpProxy(server, new InetSocketAddress(host, port));
            proxy.acceptor.start();
            return proxy;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public int port() {
        return server.getLocalPort();
    }

    /** {@code 127.0.0.1:<port>}, usable as {@code bootstrap.servers}. */
    public String address() {
        return KafkaBroker.LOOPBACK + ":" + port();
    }

    /** Same as {@code cut(Cut.REFUSE)}. */
    public void cut() {
        cut(Cut.REFUSE);
    }

    /** Stops forwarding until {@link #restore()}; see {@link Cut} for what happens to connections. */
    public void cut(Cut how) {
        List<Link> toClose;
        synchronized (lock) {
            state = how == Cut.REFUSE ? State.REFUSE : State.HOLD;
            // Taken under the lock the acceptor registers links with, so no link slips past the cut.
            toClose = how == Cut.STALL ? List.of() : List.copyOf(links);
        }
        toClose.forEach(Link::close);
        log.info("{} cut ({}), closed {} connections", name, how, toClose.size());
    }

    /** Forwards again; connections held by a BLACKHOLE or STALL cut resume where they stopped. */
    public void restore() {
        State previous;
        synchronized (lock) {
            previous = state;
            state = State.FORWARD;
            lock.notifyAll();
        }
        if (previous != State.FORWARD) {
            log.info("{} restored", name);
        }
    }

    /** Connections accepted since start, including those a cut closed or refused. */
    public long connectionsAccepted() {
        return accepted.get();
    }

    /** Connections currently open through the proxy (held ones included). */
    public int openConnections() {
        return links.size();
    }

    /** Closes the listening socket and every connection, and waits for the proxy's threads to end. */
    @Override
    public void close() {
        closed = true;
        try {
            server.close();
        } catch (IOException e) {
            log.debug("{}: closing the server socket failed", name, e);
        }
        List.copyOf(links).forEach(Link::close);
        synchronized (lock) {
            lock.notifyAll();
        }
        for (Thread thread : List.copyOf(threads)) {
            try {
                thread.join(5_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    private void acceptLoop() {
        while (!closed) {
            Socket client;
            try {
                client = server.accept();
            } catch (IOException e) {
                if (!closed) {
                    log.warn("{}: accept failed, proxy stops", name, e);
                }
                return;
            }
            accepted.incrementAndGet();
            try {
                accept(client);
            } catch (IOException e) {
                log.debug("{}: could not connect to {}", name, target, e);
                closeQuietly(client);
            }
        }
    }

    private void accept(Socket client) throws IOException {
        if (currentState() == State.REFUSE) {
            client.close();
            return;
        }
        Socket upstream = new Socket();
        try {
            upstream.connect(target, CONNECT_TIMEOUT_MS);
            // Kafka's requests are small writes; Nagle plus delayed ACKs would add tens of ms per hop.
            client.setTcpNoDelay(true);
            upstream.setTcpNoDelay(true);
        } catch (IOException e) {
            closeQuietly(upstream);
            throw e;
        }
        Link link = new Link(linkIds.incrementAndGet(), client, upstream);
        synchronized (lock) {
            if (state == State.REFUSE || closed) {
                link.close();
                return;
            }
            links.add(link);
        }
        link.start();
    }

    private State currentState() {
        synchronized (lock) {
            return state;
        }
    }

    /** Blocks while the proxy holds traffic; returns false when the link was closed meanwhile. */
    private boolean awaitForwarding(Link link) throws InterruptedException {
        synchronized (lock) {
            while (state == State.HOLD && !link.closed && !closed) {
                lock.wait();
            }
            return !link.closed && !closed;
        }
    }

    private Thread newThread(String threadName, Runnable body) {
        Thread thread = new Thread(() -> {
            try {
                body.run();
            } finally {
                threads.remove(Thread.currentThread());
            }
        }, threadName);
        thread.setDaemon(true);
        threads.add(thread);
        return thread;
    }

    private static void closeQuietly(Socket socket) {
        try {
            socket.close();
        } catch (IOException ignored) {
            // closing anyway
        }
    }

    /** One accepted connection and its upstream connection, pumped by one thread per direction. */
    private final class Link {
        private final int id;
        private final Socket client;
        private final Socket upstream;
        private volatile boolean closed;

        Link(int id, Socket client, Socket upstream) {
            this.id = id;
            this.client = client;
            this.upstream = upstream;
        }

        void start() {
            newThread(name + "-" + id + "-up", () -> pump(client, upstream)).start();
            newThread(name + "-" + id + "-down", () -> pump(upstream, client)).start();
        }

        private void pump(Socket from, Socket to) {
            byte[] buffer = new byte[64 * 1024];
            try {
                InputStream in = from.getInputStream();
                OutputStream out = to.getOutputStream();
                int n;
                while ((n = in.read(buffer)) >= 0) {
                    if (!awaitForwarding(this)) {
                        return;
                    }
                    out.write(buffer, 0, n);
                }
            } catch (IOException e) {
                // The other side closed or a cut closed this link.
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } finally {
                close();
            }
        }

        void close() {
            if (closed) {
                return;
            }
            closed = true;
            closeQuietly(client);
            closeQuietly(upstream);
            links.remove(this);
            synchronized (lock) {
                lock.notifyAll();
            }
        }
    }
}
