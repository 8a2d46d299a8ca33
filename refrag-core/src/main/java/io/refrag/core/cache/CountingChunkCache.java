package io.refrag.core.cache;

import java.util.concurrent.atomic.AtomicLong;

/** A cache that counts its own lookups: {@link #counted} records each one as a hit or a miss. */
abstract class CountingChunkCache implements ChunkEmbeddingCache {
    private final AtomicLong hits = new AtomicLong();
    private final AtomicLong misses = new AtomicLong();

    /**
     * @param found the looked-up value, or null
     * @return {@code found}, counted
     */
    final float[] counted(float[] found) {
        (found == null ? misses : hits).incrementAndGet();
        return found;
    }

    @Override
    public final long hits() {
        return hits.get();
    }

    @Override
    public final long misses() {
        return misses.get();
    }
}
