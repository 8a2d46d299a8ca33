package io.refrag.core;

import io.refrag.core.exception.Closeables;
import io.refrag.core.exception.RefragException;

import java.util.List;
import java.util.function.Supplier;

/**
 * A pipeline's life: every request is counted from admission until it ends (a blocking call, or an asynchronous one
 * until its result completes); closing refuses new ones, waits for those in flight (at most
 * {@value #CLOSE_WAIT_SECONDS} s) and closes the parts once.
 */
final class Lifecycle {
    /** How long {@link #close} waits for requests in flight. */
    static final int CLOSE_WAIT_SECONDS = 60;

    private final Object lock = new Object();
    private boolean closed;
    private boolean partsClosed;
    private int inFlight;

    /**
     * Admits a request that ends later; {@link #release} must follow exactly once.
     *
     * @throws RefragException "pipeline is closed" once {@link #close} has begun
     */
    void admit() {
        synchronized (lock) {
            if (closed) {
                throw new RefragException("pipeline is closed: no new requests after close()");
            }
            inFlight++;
        }
    }

    /** Ends a request {@link #admit} admitted. */
    void release() {
        synchronized (lock) {
            inFlight--;
            lock.notifyAll();
        }
    }

    /**
     * Runs a request unless the pipeline is closed; {@link #close} waits for it.
     *
     * @throws RefragException "pipeline is closed" once {@link #close} has begun
     */
    <T> T inFlight(Supplier<T> request) {
        admit();
        try {
            return request.get();
        } finally {
            release();
        }
    }

    /**
     * Refuses new requests, waits for those in flight, then closes the parts (once).
     *
     * @param parts gives the parts to close, in order (null entries are skipped)
     * @throws RefragException if requests are still running after the wait; the parts are then left open (closing them
     *     under a running request would crash the JVM in native code)
     */
    void close(Supplier<List<? extends AutoCloseable>> parts) {
        synchronized (lock) {
            closed = true;
            long deadline = System.nanoTime() + CLOSE_WAIT_SECONDS * 1_000_000_000L;
            while (inFlight > 0) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    throw new RefragException("close(): " + inFlight + " request(s) still in flight after "
                            + CLOSE_WAIT_SECONDS + " s; the pipeline's parts are left open");
                }
                try {
                    lock.wait(Math.max(1, left / 1_000_000));
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new RefragException("interrupted while close() waited for requests in flight", e);
                }
            }
            if (partsClosed) {
                return;
            }
            partsClosed = true;
        }
        RuntimeException failure = Closeables.closeAll(parts.get());
        if (failure != null) {
            throw failure;
        }
    }
}
