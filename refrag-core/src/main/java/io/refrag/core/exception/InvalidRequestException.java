package io.refrag.core.exception;


/** An argument, option or request is outside what is allowed (for example k &lt; 1 or p outside [0, 1]). */
public class InvalidRequestException extends RefragException {
    private static final long serialVersionUID = 1L;

    /** @param message what was wrong and what is allowed */
    public InvalidRequestException(String message) {
        super(message);
    }

    /**
     * @param message what was wrong and what is allowed
     * @param cause the underlying failure
     */
    public InvalidRequestException(String message, Throwable cause) {
        super(message, cause);
    }
}
