package io.refrag.langchain4j;

import io.refrag.core.RefragResult;

/**
 * What REFRAG did for one chat request: its timings and how much it compressed the context.
 *
 * @param ttftMillis request start to the first token (chunking, encoding, policy and prefill included)
 * @param ttitMillis mean time between later tokens
 * @param tokensPerSecond generated tokens over the whole request time
 * @param decoderInputLength positions the decoder prefilled
 * @param fullContextTokens positions the same prompt takes uncompressed
 * @param chunks context chunks
 * @param expandedChunks chunks the policy fed as tokens
 * @param cacheHits chunk embeddings served by the cache
 */
public record RefragMetrics(double ttftMillis, double ttitMillis, double tokensPerSecond, int decoderInputLength,
        int fullContextTokens, int chunks, int expandedChunks, int cacheHits) {

    static RefragMetrics of(RefragResult r) {
        var m = r.generation().metrics();
        return new RefragMetrics(m.ttftMillis(), m.ttitMillis(), m.throughputTokensPerSecond(), r.decoderInputLength(),
                r.fullContextTokens(), r.totalChunks(), r.expandedChunks(), r.cacheHits());
    }

    /** @return full-context positions divided by the positions the decoder prefilled */
    public double compressionRatio() {
        return (double) fullContextTokens / decoderInputLength;
    }
}
