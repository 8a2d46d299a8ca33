package io.refrag.core.chunk;

import io.refrag.core.cache.ChunkEmbeddingCache;
import io.refrag.core.exception.InvalidRequestException;
import io.refrag.core.model.ChunkEncoder;
import io.refrag.core.model.Projector;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.IntConsumer;

/**
 * Turns chunk texts into projected embeddings: cache lookups first, then one batched encoder call and one projector
 * call for the misses, which are stored. Thread-safe when its parts are.
 */
public final class ChunkEmbedder {
    private final ChunkEncoder encoder;
    private final Projector projector;
    private final ChunkEmbeddingCache cache;

    /**
     * @param encoder the chunk encoder
     * @param projector the projection into the decoder's embedding space
     * @param cache where projected embeddings are kept (may be null for none)
     * @throws InvalidRequestException if the projector does not accept the encoder's width
     */
    public ChunkEmbedder(ChunkEncoder encoder, Projector projector, ChunkEmbeddingCache cache) {
        if (projector.inputSize() != encoder.hiddenSize()) {
            throw new InvalidRequestException("projector input size " + projector.inputSize()
                    + " does not match the encoder hidden size " + encoder.hiddenSize());
        }
        this.encoder = encoder;
        this.projector = projector;
        this.cache = cache;
    }

    /**
     * Projected embeddings and how many came from the cache.
     *
     * @param rows {@code [texts, decoderHidden]}
     * @param cacheHits rows served by the cache
     */
    public record Embedded(float[][] rows, int cacheHits) {
    }

    /**
     * @param texts chunk texts
     * @param useCache whether to read and fill the cache
     * @return the embeddings, in order
     */
    public Embedded embed(List<String> texts, boolean useCache) {
        int hits = 0;
        float[][] out = new float[texts.size()][];
        Map<String, List<Integer>> missing = new LinkedHashMap<>();
        List<String> keys = new ArrayList<>(texts.size());
        for (int i = 0; i < texts.size(); i++) {
            String key = ChunkEmbeddingCache.key(encoder.id(), projector.id(), texts.get(i));
            keys.add(key);
            float[] hit = useCache && cache != null ? cache.get(key) : null;
            if (hit != null) {
                out[i] = hit;
                hits++;
            } else {
                missing.computeIfAbsent(texts.get(i), t -> new ArrayList<>()).add(i);
            }
        }
        if (!missing.isEmpty()) {
            List<String> unique = new ArrayList<>(missing.keySet());
            float[][] projected = projector.project(encoder.encode(unique));
            for (int u = 0; u < unique.size(); u++) {
                for (int i : missing.get(unique.get(u))) {
                    out[i] = projected[u];
                }
                if (useCache && cache != null) {
                    cache.put(keys.get(missing.get(unique.get(u)).get(0)), projected[u]);
                }
            }
        }
        return new Embedded(out, hits);
    }

    /**
     * Encodes a corpus ahead of time into the cache, in batches.
     *
     * @param texts chunk texts
     * @param batchSize texts per encoder call
     * @param progress receives the number of texts done after each batch (may be null)
     */
    public void precompute(List<String> texts, int batchSize, IntConsumer progress) {
        if (cache == null) {
            throw new InvalidRequestException("precompute needs a chunk-embedding cache");
        }
        if (batchSize < 1) {
            throw new InvalidRequestException("batch size must be >= 1, got " + batchSize);
        }
        for (int start = 0; start < texts.size(); start += batchSize) {
            int end = Math.min(texts.size(), start + batchSize);
            embed(texts.subList(start, end), true);
            if (progress != null) {
                progress.accept(end);
            }
        }
    }
}
