package io.refrag.core;

import io.refrag.core.exception.Closeables;
import io.refrag.core.exception.RefragException;

import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.function.Supplier;

/**
 * A pipeline's life: requests run under the read lock; closing refuses new ones, takes the write lock once those in
 * flight are done (waiting at most {@value #CLOSE_WAIT_SECONDS} s) and closes the parts once.
 */
final class Lifecycle {
    /** How long {@link #close} waits for requests in flight. */
    static final int CLOSE_WAIT_SECONDS = 60;

    private final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();
    private volatile boolean closed;
    private boolean partsClosed;

    /**
     * Runs a request unless the pipeline is closed; {@link #close} waits for it.
     *
     * @throws RefragException "pipeline is closed" once {@link #close} has begun
     */
    <T> T inFlight(Supplier<T> request) {
        if (!lock.readLock().tryLock()) {
            throw new RefragException("pipeline is closed: no new requests after close()");
        }
        try {
            if (closed) {
                throw new RefragException("pipeline is closed: no new requests after close()");
            }
            return request.get();
        } finally {
            lock.readLock().unlock();
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
        closed = true;
        boolean drained;
        try {
            drained = lock.writeLock().tryLock(CLOSE_WAIT_SECONDS, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new RefragException("interrupted while close() waited for requests in flight", e);
        }
        if (!drained) {
            throw new RefragException("close(): requests still in flight after " + CLOSE_WAIT_SECONDS + " s; the "
                    + "pipeline's parts are left open");
        }
        try {
            if (!partsClosed) {
                partsClosed = true;
                RuntimeException failure = Closeables.closeAll(parts.get());
                if (failure != null) {
                    throw failure;
                }
            }
        } finally {
            lock.writeLock().unlock();
        }
    }
}
