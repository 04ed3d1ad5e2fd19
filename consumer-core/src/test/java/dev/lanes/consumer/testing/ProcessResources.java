package dev.lanes.consumer.testing;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.OperatingSystemMXBean;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;

import com.sun.management.UnixOperatingSystemMXBean;

/**
 * Counts what a leak would make grow in this JVM: live threads by name, open file descriptors, and
 * TCP sockets of this process connected to given ports. For leak checks of tests that run a broker,
 * proxies and clients in one process, where only a narrow count (the clients' own sockets) says
 * something about the clients.
 */
public final class ProcessResources {

    private static final Path PROC_FD = Path.of("/proc/self/fd");
    private static final List<Path> PROC_TCP = List.of(Path.of("/proc/net/tcp"), Path.of("/proc/net/tcp6"));

    private ProcessResources() {
    }

    /** Live threads whose name starts with {@code prefix}. Cheap: no stack traces are taken. */
    public static List<Thread> threadsNamed(String prefix) {
        ThreadGroup root = Thread.currentThread().getThreadGroup();
        while (root.getParent() != null) {
            root = root.getParent();
        }
        Thread[] threads = new Thread[root.activeCount() * 2 + 16];
        int n = root.enumerate(threads, true);
        return Stream.of(threads).limit(n).filter(t -> t.isAlive() && t.getName().startsWith(prefix)).toList();
    }

    /** Live threads of this JVM. */
    public static int threadCount() {
        return ManagementFactory.getThreadMXBean().getThreadCount();
    }

    /** Open file descriptors of this process, or -1 where the JVM cannot tell (not a Unix). */
    public static long openFileDescriptors() {
        OperatingSystemMXBean os = ManagementFactory.getOperatingSystemMXBean();
        return os instanceof UnixOperatingSystemMXBean unix ? unix.getOpenFileDescriptorCount() : -1;
    }

    /** Whether {@link #socketsConnectedTo} can count (Linux {@code /proc}). */
    public static boolean canCountSockets() {
        return Files.isDirectory(PROC_FD) && Files.isReadable(PROC_TCP.get(0));
    }

    /**
     * TCP sockets held open by this process whose remote port is one of {@code remotePorts}, in any state
     * but TIME_WAIT (which no process holds). On loopback that is the client side of the connections to
     * those ports. Linux only: reads {@code /proc/self/fd} and {@code /proc/net/tcp[6]}.
     */
    public static int socketsConnectedTo(Set<Integer> remotePorts) {
        Set<String> ownInodes = ownSocketInodes();
        int count = 0;
        for (Path table : PROC_TCP) {
            List<String> lines;
            try {
                lines = Files.readAllLines(table);
            } catch (IOException e) {
                continue; // no IPv6 table, for example
            }
            for (String line : lines.subList(Math.min(1, lines.size()), lines.size())) {
                // sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode ...
                String[] fields = line.trim().split("\\s+");
                if (fields.length < 10) {
                    continue;
                }
                String remote = fields[2];
                int remotePort = Integer.parseInt(remote.substring(remote.indexOf(':') + 1), 16);
                if (remotePorts.contains(remotePort) && ownInodes.contains(fields[9])) {
                    count++;
                }
            }
        }
        return count;
    }

    private static Set<String> ownSocketInodes() {
        Set<String> inodes = new HashSet<>();
        try (Stream<Path> fds = Files.list(PROC_FD)) {
            for (Path fd : (Iterable<Path>) fds::iterator) {
                try {
                    String target = Files.readSymbolicLink(fd).toString();
                    if (target.startsWith("socket:[")) {
                        inodes.add(target.substring("socket:[".length(), target.length() - 1));
                    }
                } catch (IOException e) {
                    // closed between the listing and the read
                }
            }
        } catch (IOException e) {
            throw new IllegalStateException("Cannot list " + PROC_FD, e);
        }
        return inodes;
    }
}
