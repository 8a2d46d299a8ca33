package io.refrag.core.exception;

/** A request ran (or waited) longer than its timeout; it was ended and its KV cache freed. */
public class RequestTimeoutException extends RefragException {
    private static final long serialVersionUID = 1L;

    /** @param message the timeout and how far the request got */
    public RequestTimeoutException(String message) {
        super(message);
    }
}
