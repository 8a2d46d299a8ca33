package io.refrag.core.exception;

/** A request was refused at admission: the queue of requests waiting for a batch slot is full. Retry later. */
public class QueueFullException extends RefragException {
    private static final long serialVersionUID = 1L;

    /** @param message how many wait and the bound */
    public QueueFullException(String message) {
        super(message);
    }
}
