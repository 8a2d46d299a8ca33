package io.refrag.core.checkpoint;

import io.refrag.core.exception.RefragException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Comparator;
import java.util.stream.Stream;

/**
 * Crash-safe file replacement: write a temporary file beside the target, flush it to disk, rename it over the target
 * and flush the folder. Temporary files carry {@link #TEMP_PREFIX}, so clean-up never touches anyone else's files.
 */
public final class AtomicFiles {
    private static final Logger LOG = LoggerFactory.getLogger(AtomicFiles.class);

    /** Prefix of this project's temporary files (hidden, and distinctive enough to delete safely). */
    public static final String TEMP_PREFIX = ".refrag-tmp-";

    private AtomicFiles() {
    }

    /**
     * @param target the file a temporary file will replace
     * @return a new empty temporary file in the target's folder
     * @throws IOException if it cannot be created
     */
    static Path tempFor(Path target) throws IOException {
        return Files.createTempFile(target.toAbsolutePath().getParent(), TEMP_PREFIX + target.getFileName(), ".tmp");
    }

    /**
     * @param file a file name in a folder this project writes
     * @return whether it is a temporary file a crash left behind
     */
    public static boolean isLeftover(Path file) {
        String name = file.getFileName().toString();
        return name.startsWith(TEMP_PREFIX) && name.endsWith(".tmp");
    }

    /**
     * Flushes {@code tmp} to disk, renames it over {@code target} (atomically where the file system allows it) and
     * flushes the folder, so that after a crash the target is the old file or the whole new one.
     *
     * @param tmp a finished temporary file in the target's folder
     * @param target the destination
     * @throws IOException if the move fails
     */
    static void replace(Path tmp, Path target) throws IOException {
        try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE)) {
            ch.force(true);
        }
        Path dir = target.toAbsolutePath().getParent();
        forceFolder(dir);
        try {
            Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING);
        }
        forceFolder(dir);
    }

    private static void forceFolder(Path dir) {
        try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
            ch.force(true);
        } catch (IOException e) {
            // some platforms cannot open or sync a folder; the rename itself is still atomic there
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
            Path tmp = tempFor(target);
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

    /**
     * Deletes a folder and everything below it, as far as it can: for clean-up after a failure, whose own error is
     * what the caller reports.
     *
     * @param dir the folder (absent is fine)
     */
    public static void deleteTreeQuietly(Path dir) {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> files = Files.walk(dir)) {
            for (Path f : files.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(f);
            }
        } catch (IOException | UncheckedIOException e) {
            LOG.warn("could not delete all of {}: {}", dir, e.toString());
        }
    }
}
