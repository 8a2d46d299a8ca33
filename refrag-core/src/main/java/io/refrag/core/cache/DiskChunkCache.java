package io.refrag.core.cache;

import io.refrag.core.checkpoint.AtomicFiles;
import io.refrag.core.checkpoint.SafetensorsCheckpoint;
import io.refrag.core.checkpoint.SafetensorsWriter;
import io.refrag.core.exception.InvalidRequestException;
import io.refrag.core.exception.RefragException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Stream;

/**
 * A persistent chunk-embedding store that survives restarts: a folder of immutable safetensors segments (one F32
 * tensor per entry, named by its key, with its CRC-32 in the segment's metadata). New entries are buffered and written
 * as a new segment on {@link #flush()} (automatically every {@code flushEvery} puts, and on close), through a temporary
 * file and an atomic rename, so a crash mid-write leaves the previous segments intact and no partial segment behind.
 *
 * <p>Damage never becomes a wrong answer: an entry whose checksum does not match, or a file that is not a readable
 * segment (truncated, foreign, empty, written without checksums), is moved aside as {@code NAME.quarantined} with a
 * warning, and its entries are computed again. A folder that cannot be written turns the store into a read-only one
 * (new entries stay in the memory tier) with one warning. Thread-safe.
 */
public final class DiskChunkCache extends CountingChunkCache {
    private static final Logger LOG = LoggerFactory.getLogger(DiskChunkCache.class);
    private static final String SUFFIX = ".safetensors";
    private static final String QUARANTINE_SUFFIX = ".quarantined";

    private final Path dir;
    private final int width;
    private final int flushEvery;
    private final Map<String, float[]> pending = new ConcurrentHashMap<>();
    private final Map<String, Segment> index = new ConcurrentHashMap<>();
    private final List<Segment> segments = new ArrayList<>();
    private volatile String readOnlyReason; // null while the folder can be written

    /** One segment file and its open tensors. */
    private record Segment(Path file, SafetensorsCheckpoint data) {
    }

    /**
     * Opens (or creates) a store: indexes every complete segment, quarantines unreadable files and deletes the
     * temporary files a crash left (only this project's: {@link AtomicFiles#TEMP_PREFIX}).
     *
     * @param dir the store's folder
     * @param width the length of every embedding (the decoder's hidden size); segments of another width are set aside
     *     before any of their data is read
     * @param flushEvery buffered entries that trigger writing a segment
     */
    public DiskChunkCache(Path dir, int width, int flushEvery) {
        if (width < 1) {
            throw new InvalidRequestException("chunk cache width must be >= 1, got " + width);
        }
        this.dir = dir;
        this.width = width;
        this.flushEvery = Math.max(1, flushEvery);
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            readOnly("cannot create the chunk cache folder " + dir + " (" + e + ")");
            return;
        }
        try (Stream<Path> files = Files.list(dir)) {
            for (Path f : files.sorted().toList()) {
                if (AtomicFiles.isLeftover(f)) {
                    Files.deleteIfExists(f);
                } else if (f.getFileName().toString().endsWith(SUFFIX)) {
                    open(f);
                }
            }
        } catch (IOException e) {
            throw new RefragException("cannot list chunk cache folder " + dir + ": " + e.getMessage(), e);
        }
        if (!Files.isWritable(dir)) {
            readOnly("the chunk cache folder " + dir + " is not writable");
        }
    }

    private void open(Path f) {
        if (!Files.isRegularFile(f)) {
            LOG.warn("chunk cache: skipping {}: not a regular file", f);
            return;
        }
        SafetensorsCheckpoint data;
        try {
            data = SafetensorsCheckpoint.openFile(f);
        } catch (RefragException e) {
            quarantine(f, "not a readable segment: " + e.getMessage());
            return;
        }
        String unusable = Segments.unusable(data, width);
        if (unusable != null) {
            data.close();
            quarantine(f, unusable);
            return;
        }
        addSegment(new Segment(f, data));
    }

    private synchronized void addSegment(Segment segment) {
        segments.add(segment);
        for (String key : segment.data().names()) {
            index.put(key, segment);
        }
    }

    private void readOnly(String why) {
        readOnlyReason = why;
        LOG.warn("{}: chunk embeddings will not persist (only the in-memory tier keeps them)", why);
    }

    @Override
    public float[] get(String key) {
        float[] v = pending.get(key);
        if (v == null) {
            Segment segment = index.get(key);
            v = segment == null ? null : verified(segment, key);
        }
        return counted(v);
    }

    /** Reads an entry and checks it against its checksum; a damaged segment is quarantined and null returned. */
    private float[] verified(Segment segment, String key) {
        try {
            return segment.data().readCheckedFloats(key);
        } catch (RefragException e) {
            drop(segment, e.getMessage());
            return null;
        }
    }

    private synchronized void drop(Segment segment, String why) {
        if (!segments.remove(segment)) {
            return; // another thread dropped it already
        }
        segment.data().names().forEach(k -> index.remove(k, segment));
        segment.data().close();
        quarantine(segment.file(), why);
    }

    private void quarantine(Path file, String why) {
        Path aside = file.resolveSibling(file.getFileName() + QUARANTINE_SUFFIX);
        try {
            Files.move(file, aside);
            LOG.warn("chunk cache: {} ({}); moved aside as {}; its entries will be computed again", file, why,
                    aside.getFileName());
        } catch (IOException e) {
            LOG.warn("chunk cache: ignoring {} ({}); it could not be moved aside: {}", file, why, e.toString());
        }
    }

    @Override
    public void put(String key, float[] embedding) {
        if (embedding.length != width) {
            throw new InvalidRequestException("chunk cache of width " + width + " cannot store an embedding of length "
                    + embedding.length);
        }
        if (readOnlyReason != null || index.containsKey(key)) {
            return;
        }
        pending.put(key, embedding);
        if (pending.size() >= flushEvery) {
            flush();
        }
    }

    /**
     * Writes buffered entries as a segment, and fails if they, or any entry put while the folder could not be
     * written, did not persist.
     *
     * @throws RefragException naming why the folder cannot be written
     */
    @Override
    public synchronized void persist() {
        flush();
        if (readOnlyReason != null) {
            throw new RefragException(readOnlyReason + ": the chunk cache " + dir + " cannot persist embeddings");
        }
    }

    @Override
    public boolean persistent() {
        return readOnlyReason == null;
    }

    /** Writes buffered entries as a new segment (no-op when none are buffered or the folder cannot be written). */
    public synchronized void flush() {
        if (pending.isEmpty() || readOnlyReason != null) {
            return;
        }
        Map<String, float[]> batch = Map.copyOf(pending);
        SafetensorsWriter w = new SafetensorsWriter();
        batch.forEach((k, v) -> w.addChecked(k, v, v.length));
        Path file = dir.resolve("segment-" + System.currentTimeMillis() + "-" + UUID.randomUUID() + SUFFIX);
        try {
            w.write(file);
            addSegment(new Segment(file, SafetensorsCheckpoint.openFile(file)));
        } catch (RefragException e) {
            readOnly("cannot write chunk cache segment " + file + " (" + e.getMessage() + ")");
        }
        batch.keySet().forEach(pending::remove);
    }

    /** @return entries stored or buffered */
    public int size() {
        return index.size() + pending.size();
    }

    /** Writes what is buffered (a failure only warns) and closes every segment. */
    @Override
    public synchronized void close() {
        try {
            flush();
        } finally {
            segments.forEach(seg -> seg.data().close());
            segments.clear();
            index.clear();
            pending.clear();
        }
    }
}
