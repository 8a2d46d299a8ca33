package io.refrag.bench.cli;

import io.refrag.core.exception.RefragException;

/** A command line that cannot be run as given (unknown option, missing value, bad number); exit code 2. */
final class UsageException extends RefragException {
    private static final long serialVersionUID = 1L;

    UsageException(String message) {
        super(message);
    }
}
