package io.refrag.core.exception;


/** A checkpoint folder could not be loaded: missing files, unknown architecture, missing/extra tensors, bad shapes. */
public class ModelLoadException extends RefragException {
    private static final long serialVersionUID = 1L;

    /** @param message names the file or tensor and what was expected */
    public ModelLoadException(String message) {
        super(message);
    }

    /**
     * @param message names the file or tensor and what was expected
     * @param cause the underlying I/O or parse failure
     */
    public ModelLoadException(String message, Throwable cause) {
        super(message, cause);
    }
}
