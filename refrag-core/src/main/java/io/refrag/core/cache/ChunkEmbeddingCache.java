package io.refrag.core.cache;

import io.refrag.core.checkpoint.Checksums;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.HexFormat;

/**
 * Projected chunk embeddings by key. Implementations are thread-safe; values are never mutated after {@code put}.
 */
public interface ChunkEmbeddingCache extends AutoCloseable {

    /**
     * @param key a key from {@link #key(String, String, String)}
     * @return the embedding, or null on a miss
     */
    float[] get(String key);

    /**
     * @param key a key from {@link #key(String, String, String)}
     * @param embedding the projected embedding (the cache keeps this array; callers must not change it)
     */
    void put(String key, float[] embedding);

    /**
     * Makes every entry put so far durable, where this cache keeps anything beyond memory (a memory-only cache has
     * nothing to do).
     *
     * @throws io.refrag.core.exception.RefragException if it has a persistent tier that cannot be written (the reason
     *     is named), even when nothing is pending: callers whose product is the persisted cache check this first
     */
    default void persist() {
    }

    /** @return whether entries put here outlive the process: a persistent tier that can be written */
    default boolean persistent() {
        return false;
    }

    /** @return lookups that found an entry */
    long hits();

    /** @return lookups that found none */
    long misses();

    @Override
    void close();

    /**
     * @param encoderId {@link io.refrag.core.model.ChunkEncoder#id()}
     * @param projectorId {@link io.refrag.core.model.Projector#id()}
     * @param text chunk text
     * @return SHA-256 hex of the three, NUL-separated
     */
    static String key(String encoderId, String projectorId, String text) {
        MessageDigest sha = Checksums.newSha256();
        sha.update(encoderId.getBytes(StandardCharsets.UTF_8));
        sha.update((byte) 0);
        sha.update(projectorId.getBytes(StandardCharsets.UTF_8));
        sha.update((byte) 0);
        sha.update(text.getBytes(StandardCharsets.UTF_8));
        return HexFormat.of().formatHex(sha.digest());
    }
}
