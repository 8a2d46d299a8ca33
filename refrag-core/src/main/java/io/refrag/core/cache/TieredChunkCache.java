package io.refrag.core.cache;

/**
 * A fast cache in front of a slower one (memory before disk, a local cache before a shared chunk store): reads try the
 * front, then the back (promoting hits to the front); writes go to both. Lookups the back misses are the tier's
 * misses.
 */
public final class TieredChunkCache implements ChunkEmbeddingCache {
    private final ChunkEmbeddingCache front;
    private final ChunkEmbeddingCache back;

    /**
     * @param front fast, bounded (e.g. {@link LruChunkCache})
     * @param back persistent (e.g. {@link DiskChunkCache})
     */
    public TieredChunkCache(ChunkEmbeddingCache front, ChunkEmbeddingCache back) {
        this.front = front;
        this.back = back;
    }

    @Override
    public float[] get(String key) {
        float[] v = front.get(key);
        if (v == null) {
            v = back.get(key);
            if (v != null) {
                front.put(key, v);
            }
        }
        return v;
    }

    @Override
    public void put(String key, float[] embedding) {
        front.put(key, embedding);
        back.put(key, embedding);
    }

    @Override
    public void persist() {
        front.persist();
        back.persist();
    }

    @Override
    public boolean persistent() {
        return front.persistent() || back.persistent();
    }

    @Override
    public long hits() {
        return front.hits() + back.hits();
    }

    @Override
    public long misses() {
        return back.misses();
    }

    @Override
    public void close() {
        front.close();
        back.close();
    }
}
