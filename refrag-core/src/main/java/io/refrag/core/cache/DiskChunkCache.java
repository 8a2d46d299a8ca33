package io.refrag.core.cache;

import io.refrag.core.checkpoint.SafetensorsCheckpoint;
import io.refrag.core.checkpoint.SafetensorsWriter;
import io.refrag.core.exception.RefragException;

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
 * tensor per entry, named by its key), read through memory maps. New entries are buffered and written as a new segment
 * on {@link #flush()} (automatically every {@code flushEvery} puts, and on close), through a temporary file and an
 * atomic rename, so a crash mid-write leaves the previous segments intact and no partial segment behind.
 * Thread-safe.
 */
public final class DiskChunkCache extends CountingChunkCache {
    private static final String SUFFIX = ".safetensors";

    private final Path dir;
    private final int flushEvery;
    private final Map<String, float[]> pending = new ConcurrentHashMap<>();
    private final Map<String, SafetensorsCheckpoint> index = new ConcurrentHashMap<>();
    private final List<SafetensorsCheckpoint> segments = new ArrayList<>();

    /**
     * Opens (or creates) a store, indexing every complete segment and deleting temporary files a crash left.
     *
     * @param dir the store's folder
     * @param flushEvery buffered entries that trigger writing a segment
     */
    public DiskChunkCache(Path dir, int flushEvery) {
        this.dir = dir;
        this.flushEvery = Math.max(1, flushEvery);
        try {
            Files.createDirectories(dir);
            try (Stream<Path> files = Files.list(dir)) {
                for (Path f : files.sorted().toList()) {
                    String name = f.getFileName().toString();
                    if (name.startsWith(".") && name.endsWith(".tmp")) {
                        Files.deleteIfExists(f);
                    } else if (name.endsWith(SUFFIX)) {
                        addSegment(SafetensorsCheckpoint.openFile(f));
                    }
                }
            }
        } catch (IOException e) {
            throw new RefragException("cannot open chunk cache folder " + dir + ": " + e.getMessage(), e);
        }
    }

    private synchronized void addSegment(SafetensorsCheckpoint segment) {
        segments.add(segment);
        for (String key : segment.names()) {
            index.put(key, segment);
        }
    }

    @Override
    public float[] get(String key) {
        float[] v = pending.get(key);
        if (v == null) {
            SafetensorsCheckpoint segment = index.get(key);
            v = segment == null ? null : segment.readFloats(key);
        }
        return counted(v);
    }

    @Override
    public void put(String key, float[] embedding) {
        if (index.containsKey(key)) {
            return;
        }
        pending.put(key, embedding);
        if (pending.size() >= flushEvery) {
            flush();
        }
    }

    /** Writes buffered entries as a new segment (no-op when none are buffered). */
    public synchronized void flush() {
        if (pending.isEmpty()) {
            return;
        }
        Map<String, float[]> batch = Map.copyOf(pending);
        SafetensorsWriter w = new SafetensorsWriter();
        batch.forEach((k, v) -> w.add(k, v, v.length));
        Path file = dir.resolve("segment-" + System.currentTimeMillis() + "-" + UUID.randomUUID() + SUFFIX);
        w.write(file);
        addSegment(SafetensorsCheckpoint.openFile(file));
        batch.keySet().forEach(pending::remove);
    }

    /** @return entries stored or buffered */
    public int size() {
        return index.size() + pending.size();
    }

    @Override
    public synchronized void close() {
        flush();
        segments.forEach(SafetensorsCheckpoint::close);
        segments.clear();
        index.clear();
    }
}
