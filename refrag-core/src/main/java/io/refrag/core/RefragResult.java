package io.refrag.core;

import io.refrag.core.generate.GenerationResult;

import java.util.List;

/**
 * The outcome of one REFRAG request.
 *
 * @param generation text, token ids, finish reason and decoder metrics (TTFT counted from request start)
 * @param decisions one entry per context chunk, in document order
 * @param decoderInputLength positions the decoder prefilled
 * @param fullContextTokens positions the same request takes with every chunk expanded
 * @param encodeMillis cache lookups, encoding, projection and assembly of the decoder input (tokenization and the
 *     policy excluded; about zero in full-context mode)
 * @param policyMillis the expansion policy
 * @param cacheHits chunk embeddings served by the cache in this request
 */
public record RefragResult(
        GenerationResult generation,
        List<ChunkDecision> decisions,
        int decoderInputLength,
        int fullContextTokens,
        double encodeMillis,
        double policyMillis,
        int cacheHits) {

    /**
     * What happened to one chunk.
     *
     * @param passage passage index
     * @param index chunk index within the passage
     * @param tokens decoder tokens in the chunk
     * @param expanded fed as tokens (true) or as one embedding (false)
     */
    public record ChunkDecision(int passage, int index, int tokens, boolean expanded) {
    }

    /** @return generated text */
    public String text() {
        return generation.text();
    }

    /** @return number of context chunks */
    public int totalChunks() {
        return decisions.size();
    }

    /** @return number of expanded chunks */
    public int expandedChunks() {
        return (int) decisions.stream().filter(ChunkDecision::expanded).count();
    }

    /** @return the request's timings and compression, as every front end reports them */
    public RefragMetrics metrics() {
        var m = generation.metrics();
        return new RefragMetrics(m.ttftMillis(), m.ttitMillis(), m.throughputTokensPerSecond(), decoderInputLength,
                fullContextTokens, totalChunks(), expandedChunks(), cacheHits);
    }

    /** @return full-context tokens divided by decoder input length */
    public double compressionRatio() {
        return (double) fullContextTokens / decoderInputLength;
    }
}
