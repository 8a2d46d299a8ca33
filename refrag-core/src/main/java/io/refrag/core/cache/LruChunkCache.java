package io.refrag.core.cache;

import io.refrag.core.exception.InvalidRequestException;

import java.util.LinkedHashMap;
import java.util.Map;

/** A bounded in-memory LRU cache (the default). Thread-safe through one lock; lookups are short. */
public final class LruChunkCache extends CountingChunkCache {
    private final Map<String, float[]> entries;

    /** @param maxEntries most entries kept; the least recently used goes first */
    public LruChunkCache(int maxEntries) {
        if (maxEntries < 1) {
            throw new InvalidRequestException("cache size must be >= 1 entry, got " + maxEntries);
        }
        this.entries = new LinkedHashMap<>(16, 0.75f, true) {
            private static final long serialVersionUID = 1L;

            @Override
            protected boolean removeEldestEntry(Map.Entry<String, float[]> eldest) {
                return size() > maxEntries;
            }
        };
    }

    @Override
    public float[] get(String key) {
        float[] v;
        synchronized (entries) {
            v = entries.get(key);
        }
        return counted(v);
    }

    @Override
    public void put(String key, float[] embedding) {
        synchronized (entries) {
            entries.put(key, embedding);
        }
    }

    /** @return entries held now */
    public int size() {
        synchronized (entries) {
            return entries.size();
        }
    }

    @Override
    public void close() {
        synchronized (entries) {
            entries.clear();
        }
    }
}
