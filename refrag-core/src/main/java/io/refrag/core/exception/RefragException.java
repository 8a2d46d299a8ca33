package io.refrag.core.exception;


/**
 * Root of every exception thrown by refrag-java. Unchecked: callers catch it where they can act on it.
 *
 * <p>Messages say what was wrong and what is allowed. Subclasses narrow the cause: {@link ModelLoadException} for
 * checkpoints, {@link InvalidRequestException} for bad arguments and requests, {@link ContextTooLongException} for
 * inputs that exceed the decoder's context length.
 */
public class RefragException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    /** @param message what went wrong and what is allowed */
    public RefragException(String message) {
        super(message);
    }

    /**
     * @param message what went wrong and what is allowed
     * @param cause the underlying failure
     */
    public RefragException(String message, Throwable cause) {
        super(message, cause);
    }
}
