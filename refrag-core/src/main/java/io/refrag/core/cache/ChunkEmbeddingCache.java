package io.refrag.core.cache;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
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
        try {
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            sha.update(encoderId.getBytes(StandardCharsets.UTF_8));
            sha.update((byte) 0);
            sha.update(projectorId.getBytes(StandardCharsets.UTF_8));
            sha.update((byte) 0);
            sha.update(text.getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(sha.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is required by every Java platform", e);
        }
    }
}
