package io.refrag.core.exception;

/** The decoder input would exceed the decoder's context length ({@code max_position_embeddings}). */
public class ContextTooLongException extends InvalidRequestException {
    private static final long serialVersionUID = 1L;

    /** Positions the input would take. */
    private final int requested;
    /** The decoder's context length. */
    private final int limit;

    /**
     * @param message what was too long and, where it helps, how to fix it (e.g. a larger k)
     * @param requested positions the request needs
     * @param limit positions the decoder allows
     */
    public ContextTooLongException(String message, int requested, int limit) {
        super(message);
        this.requested = requested;
        this.limit = limit;
    }

    /** @return positions the request needs */
    public int requested() {
        return requested;
    }

    /** @return positions the decoder allows */
    public int limit() {
        return limit;
    }
}
