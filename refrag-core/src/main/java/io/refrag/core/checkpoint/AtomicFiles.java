package io.refrag.core.checkpoint;

import io.refrag.core.exception.RefragException;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/** Crash-safe file replacement: write a temporary file beside the target, then rename it over the target. */
public final class AtomicFiles {
    private AtomicFiles() {
    }

    /**
     * Renames {@code tmp} over {@code target}, atomically where the file system allows it.
     *
     * @param tmp a finished temporary file in the target's folder
     * @param target the destination
     * @throws IOException if the move fails
     */
    static void replace(Path tmp, Path target) throws IOException {
        try {
            Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING);
        }
    }

    /**
     * Writes UTF-8 text so that readers see the old file or the new one, never half a file.
     *
     * @param target the destination (its folder must exist)
     * @param text the content
     */
    public static void writeString(Path target, String text) {
        try {
            Path tmp = Files.createTempFile(target.toAbsolutePath().getParent(), "." + target.getFileName(), ".tmp");
            try {
                Files.writeString(tmp, text, StandardCharsets.UTF_8);
                replace(tmp, target);
            } finally {
                Files.deleteIfExists(tmp);
            }
        } catch (IOException e) {
            throw new RefragException("cannot write " + target + ": " + e.getMessage(), e);
        }
    }
}
