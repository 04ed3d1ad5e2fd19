package dev.lanes.consumer.internals.common;

import org.junit.jupiter.api.Test;

import java.util.ConcurrentModificationException;
import java.util.concurrent.atomic.AtomicReference;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.catchThrowable;

class ThreadGuardsTest {

    private static Throwable runOn(String threadName, Runnable action) throws InterruptedException {
        AtomicReference<Throwable> error = new AtomicReference<>();
        Thread thread = new Thread(() -> {
            try {
                action.run();
            } catch (Throwable t) {
                error.set(t);
            }
        }, threadName);
        thread.start();
        thread.join(10_000);
        assertThat(thread.isAlive()).isFalse();
        return error.get();
    }

    @Test
    void backgroundGuardRefusesOtherThreadsOnceBoundAndNamesBoth() throws Exception {
        BackgroundThreadGuard guard = new BackgroundThreadGuard();
        assertThat(runOn("bg-thread", guard::bindToCurrentThread)).isNull();

        assertThat(guard.inBackgroundThread()).isFalse();
        Throwable error = catchThrowable(() -> guard.ensureBackgroundThread("runOnce"));
        assertThat(error).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("runOnce")
                .hasMessageContaining("bg-thread")
                .hasMessageContaining(Thread.currentThread().getName());
    }

    @Test
    void backgroundGuardAcceptsAnyThreadBeforeBindingAndItsOwnThreadAfter() throws Exception {
        BackgroundThreadGuard guard = new BackgroundThreadGuard();
        assertThatCode(() -> guard.ensureBackgroundThread("runOnce")).doesNotThrowAnyException();
        guard.bindToCurrentThread();
        assertThatCode(() -> guard.ensureBackgroundThread("runOnce")).doesNotThrowAnyException();
        assertThat(catchThrowable(() -> guard.ensureNotBackgroundThread("join")))
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("join");
        assertThat(runOn("app-thread", () -> guard.ensureNotBackgroundThread("join"))).isNull();
    }

    @Test
    void applicationGuardRefusesASecondThreadWhileTheFirstIsInside() throws Exception {
        ApplicationThreadGuard guard = new ApplicationThreadGuard();
        guard.acquire();

        Throwable error = runOn("intruder", guard::acquire);

        assertThat(error).isInstanceOf(ConcurrentModificationException.class).hasMessageContaining("intruder");
        guard.release();
        assertThat(runOn("next-user", () -> {
            guard.acquire();
            guard.release();
        })).isNull();
    }

    @Test
    void applicationGuardAllowsReentryFromTheOwningThread() throws Exception {
        ApplicationThreadGuard guard = new ApplicationThreadGuard();
        guard.acquire();
        assertThatCode(guard::acquire).doesNotThrowAnyException();
        guard.release();

        // still held after the inner release
        assertThat(runOn("intruder", guard::acquire)).isInstanceOf(ConcurrentModificationException.class);

        guard.release();
        assertThat(runOn("next-user", () -> {
            guard.acquire();
            guard.release();
        })).isNull();
    }
}
