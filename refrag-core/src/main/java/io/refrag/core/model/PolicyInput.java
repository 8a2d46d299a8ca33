package io.refrag.core.model;


import java.util.List;

/**
 * What a policy sees for one request.
 *
 * @param chunks the context chunks in document order
 * @param chunkEmbeddings projected chunk embeddings {@code [chunks, decoderHidden]}, or null unless the policy asked
 * @param queryText the request's plain-text segments joined (question and instructions)
 * @param queryEmbedding the projected embedding of {@code queryText}, or null unless the policy asked
 * @param decoder the decoder (for scoring policies)
 * @param seed the request's seed
 */
public record PolicyInput(
        List<Chunk> chunks,
        float[][] chunkEmbeddings,
        String queryText,
        float[] queryEmbedding,
        CausalDecoder decoder,
        long seed) {
}
