package io.refrag.core.cache;

import io.refrag.core.checkpoint.SafetensorsCheckpoint;
import io.refrag.core.exception.InvalidRequestException;
import io.refrag.core.exception.RefragException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;

/**
 * A chunk store opened read-only as a cache tier (see {@link ChunkStoreLayout}): the projected embeddings a corpus job
 * computed once, shared by every replica that opens the same folder. Serving never writes it; {@link #put} keeps
 * nothing. A missing entry is a miss (the pipeline encodes the chunk); a damaged one (checksum mismatch, unreadable
 * bytes) is a miss too, counted in {@link #damaged()}, never a wrong answer. Thread-safe.
 */
public final class ChunkStore extends CountingChunkCache {
    private static final Logger LOG = LoggerFactory.getLogger(ChunkStore.class);

    private final Path dir;
    private final List<SafetensorsCheckpoint> segments;
    private final Map<String, SafetensorsCheckpoint> index;
    private final Set<SafetensorsCheckpoint> warned = ConcurrentHashMap.newKeySet();
    private final AtomicLong damaged = new AtomicLong();

    private ChunkStore(Path dir, List<SafetensorsCheckpoint> segments, Map<String, SafetensorsCheckpoint> index) {
        this.dir = dir;
        this.segments = segments;
        this.index = index;
    }

    /**
     * Opens a store for a pipeline: its fingerprint must be the pipeline's, then every segment's header is indexed
     * (a segment that cannot be read, or holds entries of another width or without checksums, is skipped with a
     * warning: its chunks will be encoded).
     *
     * @param dir the store's folder
     * @param pipeline the fingerprint of the pipeline that reads it
     * @return the store
     * @throws InvalidRequestException if the folder is not a store, or one built for another pipeline
     */
    public static ChunkStore open(Path dir, ChunkStoreFingerprint pipeline) {
        Path file = dir.resolve(ChunkStoreLayout.FINGERPRINT_FILE);
        if (!Files.isRegularFile(file)) {
            throw new InvalidRequestException("chunk store " + dir + " has no " + ChunkStoreLayout.FINGERPRINT_FILE
                    + ": not a chunk store (one is written by refrag-spark's corpus job)");
        }
        try {
            if (Files.size(file) > ChunkStoreFingerprint.MAX_BYTES) {
                throw new InvalidRequestException(file + " is " + Files.size(file) + " bytes; a chunk store's "
                        + "fingerprint is under 1 MiB");
            }
            ChunkStoreFingerprint.parse(Files.readString(file), file.toString()).requireSameAs(pipeline,
                    dir.toString());
        } catch (IOException e) {
            throw new InvalidRequestException("cannot read " + file + ": " + e.getMessage());
        }
        List<SafetensorsCheckpoint> segments = new ArrayList<>();
        Map<String, SafetensorsCheckpoint> index = new HashMap<>();
        Path folder = dir.resolve(ChunkStoreLayout.SEGMENTS);
        if (Files.isDirectory(folder)) {
            try (Stream<Path> files = Files.list(folder)) {
                for (Path f : files.filter(f -> f.getFileName().toString().endsWith(ChunkStoreLayout.SUFFIX))
                        .sorted().toList()) {
                    SafetensorsCheckpoint segment = readable(f, pipeline.width());
                    if (segment != null) {
                        segments.add(segment);
                        segment.names().forEach(key -> index.putIfAbsent(key, segment));
                    }
                }
            } catch (IOException e) {
                segments.forEach(SafetensorsCheckpoint::close);
                throw new RefragException("cannot list chunk store segments in " + folder + ": " + e.getMessage(), e);
            }
        }
        LOG.info("chunk store {}: {} entries in {} segments", dir, index.size(), segments.size());
        return new ChunkStore(dir, segments, index);
    }

    private static SafetensorsCheckpoint readable(Path f, int width) {
        SafetensorsCheckpoint data;
        try {
            data = SafetensorsCheckpoint.openFile(f);
        } catch (RefragException e) {
            LOG.warn("chunk store: skipping {}: not a readable segment ({})", f, e.getMessage());
            return null;
        }
        String unusable = Segments.unusable(data, width);
        if (unusable != null) {
            LOG.warn("chunk store: skipping {}: {}", f, unusable);
            data.close();
            return null;
        }
        return data;
    }

    @Override
    public float[] get(String key) {
        SafetensorsCheckpoint segment = index.get(key);
        return counted(segment == null ? null : verified(segment, key));
    }

    private float[] verified(SafetensorsCheckpoint segment, String key) {
        try {
            return segment.readCheckedFloats(key);
        } catch (RefragException e) {
            damaged.incrementAndGet();
            if (warned.add(segment)) {
                LOG.warn("chunk store {}: {}; damaged entries are encoded instead (further ones in this segment are "
                        + "only counted)", dir, e.getMessage());
            }
            return null;
        }
    }

    /** Serving never writes the store: nothing is kept. */
    @Override
    public void put(String key, float[] embedding) {
    }

    /** @return entries the store holds */
    public int size() {
        return index.size();
    }

    /** @return lookups that found a damaged entry (also counted as misses) */
    public long damaged() {
        return damaged.get();
    }

    @Override
    public void close() {
        segments.forEach(SafetensorsCheckpoint::close);
    }
}
