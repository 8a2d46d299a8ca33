package io.refrag.core.exception;

import java.util.Arrays;
import java.util.List;

/** Closing several parts where some may fail: every part is closed, and no failure is lost. */
public final class Closeables {
    private Closeables() {
    }

    /**
     * Closes every part, even when some fail.
     *
     * @param parts the parts (null entries are skipped)
     * @return the first failure, the others added to it as suppressed, or null
     */
    public static RuntimeException closeAll(List<? extends AutoCloseable> parts) {
        RuntimeException failure = null;
        for (AutoCloseable c : parts) {
            if (c == null) {
                continue;
            }
            try {
                c.close();
            } catch (Exception e) {
                RuntimeException r = e instanceof RuntimeException re ? re
                        : new RefragException("closing " + c + " failed: " + e.getMessage(), e);
                if (failure == null) {
                    failure = r;
                } else {
                    failure.addSuppressed(r);
                }
            }
        }
        return failure;
    }

    /**
     * Closes the parts after a failure, which stays the one that matters: failures to close are added to it as
     * suppressed.
     *
     * @param failure the failure in flight
     * @param parts what was opened (null entries are skipped)
     * @param <T> the failure's type
     * @return {@code failure}, to throw
     */
    public static <T extends Throwable> T closeAfter(T failure, AutoCloseable... parts) {
        RuntimeException closing = closeAll(Arrays.asList(parts));
        if (closing != null) {
            failure.addSuppressed(closing);
            for (Throwable t : closing.getSuppressed()) {
                failure.addSuppressed(t);
            }
        }
        return failure;
    }
}
