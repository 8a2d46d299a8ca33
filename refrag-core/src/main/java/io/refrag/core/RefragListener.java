package io.refrag.core;

/**
 * Hears how each request through a {@link Refrag} ended: metrics exporters ({@link io.refrag.core.metrics.RefragMeters}),
 * access logs, a server's bookkeeping. Registered with {@link Refrag#addListener}; called on the thread that ends the
 * request (the scheduler's, or the caller's for a request refused at admission), so it must return quickly. An
 * exception it throws is logged and does not reach the request.
 */
public interface RefragListener {

    /** How a request ended. */
    enum Outcome {
        /** It generated its answer. */
        SUCCESS,
        /** The caller cancelled it (or a server's client went away). */
        CANCELLED,
        /** It ran past the pipeline's request timeout. */
        TIMED_OUT,
        /** The scheduler's queue was full: it never started. */
        REJECTED,
        /** Its input was refused (too long, bad options, a bad template). */
        INVALID,
        /** Anything else: a model or runtime error. */
        FAILED
    }

    /**
     * @param outcome how it ended
     * @param result its result for {@link Outcome#SUCCESS}, else null
     * @param error the reason for every other outcome, else null
     */
    void onRequestEnd(Outcome outcome, RefragResult result, Throwable error);
}
