package io.refrag.core;

import io.refrag.core.generate.BatchedGenerator;

import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;

/**
 * A request running on a pipeline's scheduler ({@link Refrag#generateAsync}): wait for its result, or cancel it.
 * Thread-safe.
 */
public final class RefragGeneration {
    private final CompletableFuture<RefragResult> result;
    private final BatchedGenerator.Stream stream;

    RefragGeneration(CompletableFuture<RefragResult> result, BatchedGenerator.Stream stream) {
        this.result = result;
        this.stream = stream;
    }

    /**
     * @return completes with the result, or exceptionally: the request's own error (bad input, a model error), a
     *     {@link CancellationException} once cancelled, a {@link io.refrag.core.exception.RequestTimeoutException}
     */
    public CompletableFuture<RefragResult> result() {
        return result;
    }

    /**
     * Ends the request: one still waiting never starts, one running leaves the batch at the next step; either way its
     * KV cache is freed and {@link #result()} completes with a {@link CancellationException}. The other requests go on.
     */
    public void cancel() {
        stream.cancel();
    }

    /**
     * Waits for the result.
     *
     * @return the result
     * @throws RuntimeException the request's own exception, as a blocking call would throw it
     */
    public RefragResult join() {
        try {
            return result.join();
        } catch (CompletionException e) {
            if (e.getCause() instanceof RuntimeException r) {
                throw r;
            }
            if (e.getCause() instanceof Error err) {
                throw err;
            }
            throw e;
        }
    }
}
