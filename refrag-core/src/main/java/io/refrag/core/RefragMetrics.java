package io.refrag.core;

/**
 * What REFRAG did for one request, in the field names every front end reports (through {@code ResultJson}): its
 * timings and how much it compressed the context.
 *
 * @param ttftMillis request start to the first token (chunking, encoding, policy and prefill included)
 * @param ttitMillis mean time between later tokens
 * @param throughputTokensPerSecond generated tokens over the whole request time
 * @param decoderInputLength positions the decoder prefilled
 * @param fullContextTokens positions the same prompt takes uncompressed
 * @param totalChunks context chunks
 * @param expandedChunks chunks the policy fed as tokens
 * @param cacheHits chunk embeddings served by the cache
 */
public record RefragMetrics(double ttftMillis, double ttitMillis, double throughputTokensPerSecond,
        int decoderInputLength, int fullContextTokens, int totalChunks, int expandedChunks, int cacheHits) {

    /** @return full-context positions divided by the positions the decoder prefilled */
    public double compressionRatio() {
        return (double) fullContextTokens / decoderInputLength;
    }
}
