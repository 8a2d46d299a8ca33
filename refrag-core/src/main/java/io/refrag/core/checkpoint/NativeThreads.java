package io.refrag.core.checkpoint;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import java.util.stream.Stream;

/**
 * Waits until a thread that ran native work has fully ended, with every thread it started: past {@link Thread#join},
 * which returns before the native thread's exit-time destructors run, and before the OpenMP workers it created (its
 * team) have ended theirs. Linux names a new thread after the thread that creates it, so the loader's unique kernel
 * name ({@code /proc/self/task/<tid>/comm}, 15 characters at most) marks its workers too. Elsewhere it returns at
 * once.
 */
final class NativeThreads {
    private static final Logger LOG = LoggerFactory.getLogger(NativeThreads.class);
    private static final Path TASKS = Path.of("/proc/self/task");
    private static final AtomicInteger SEQUENCE = new AtomicInteger();
    /** Far beyond any exit (microseconds on an idle machine, tens of milliseconds on a loaded one); a safety net. */
    private static final long MAX_WAIT_NANOS = 10_000_000_000L;

    private NativeThreads() {
    }

    /** @return a thread name of at most 15 characters that no other live thread of this class carries */
    static String uniqueName(String prefix) {
        String suffix = "-" + Math.floorMod(SEQUENCE.getAndIncrement(), 1000);
        return prefix.substring(0, Math.min(prefix.length(), 15 - suffix.length())) + suffix;
    }

    /**
     * @param name the kernel name of the threads to wait for
     * @return whether they have all ended (false after the safety wait, with a warning)
     */
    static boolean awaitExit(String name) {
        if (!Files.isDirectory(TASKS)) {
            return true;
        }
        long deadline = System.nanoTime() + MAX_WAIT_NANOS;
        while (anyNamed(name)) {
            if (System.nanoTime() > deadline) {
                LOG.warn("threads named {} have not ended after {} s; continuing", name,
                        MAX_WAIT_NANOS / 1_000_000_000L);
                return false;
            }
            LockSupport.parkNanos(100_000);
        }
        return true;
    }

    private static boolean anyNamed(String name) {
        try (Stream<Path> tasks = Files.list(TASKS)) {
            return tasks.anyMatch(t -> name.equals(comm(t)));
        } catch (IOException | UncheckedIOException e) {
            return false;
        }
    }

    private static String comm(Path task) {
        try {
            return Files.readString(task.resolve("comm")).strip();
        } catch (IOException e) {
            return null; // the thread ended while listing
        }
    }
}
