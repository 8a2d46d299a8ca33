package io.refrag.core.checkpoint;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.locks.LockSupport;

/**
 * Kernel thread ids (Linux {@code /proc}), to wait until a thread that ran native work has fully ended: past
 * {@link Thread#join}, which returns before the native thread's exit-time destructors run.
 */
final class NativeThreads {
    private static final Logger LOG = LoggerFactory.getLogger(NativeThreads.class);
    private static final Path SELF = Path.of("/proc/thread-self");
    /** Far beyond any exit (microseconds on an idle machine, milliseconds on a loaded one); a safety net only. */
    private static final long MAX_WAIT_NANOS = 10_000_000_000L;

    private NativeThreads() {
    }

    /** @return the calling thread's kernel id, or null where {@code /proc/thread-self} does not exist */
    static String currentId() {
        try {
            return Files.readSymbolicLink(SELF).getFileName().toString(); // "<pid>/task/<tid>"
        } catch (IOException | UnsupportedOperationException e) {
            return null;
        }
    }

    /**
     * @param tid a kernel thread id of this process from {@link #currentId()}, or null (returns at once)
     * @return whether the thread has ended (its {@code /proc/self/task/<tid>} entry is gone)
     */
    static boolean awaitExit(String tid) {
        if (tid == null) {
            return true;
        }
        Path task = Path.of("/proc/self/task", tid);
        long deadline = System.nanoTime() + MAX_WAIT_NANOS;
        while (Files.exists(task)) {
            if (System.nanoTime() > deadline) {
                LOG.warn("thread {} has not ended after {} s; continuing", tid, MAX_WAIT_NANOS / 1_000_000_000L);
                return false;
            }
            LockSupport.parkNanos(20_000);
        }
        return true;
    }
}
