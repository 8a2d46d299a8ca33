package io.refrag.core.generate;

/**
 * Timings of one request, measured with {@link System#nanoTime()} on the host.
 *
 * @param ttftMillis request start to the first sampled token (includes encoding, policy and prefill where the
 *     request had them)
 * @param ttitMillis mean time between later tokens (first token excluded); 0 when one token was generated
 * @param throughputTokensPerSecond generated tokens divided by the total request time
 * @param totalMillis request start to the last token
 * @param prefillMillis the decoder's prefill (forward over the prompt) alone
 * @param decodeMillis first token to last token
 * @param prefillPositions positions the decoder prefilled
 * @param kvCacheBytes bytes of the preallocated KV cache
 */
public record GenerationMetrics(
        double ttftMillis,
        double ttitMillis,
        double throughputTokensPerSecond,
        double totalMillis,
        double prefillMillis,
        double decodeMillis,
        int prefillPositions,
        long kvCacheBytes) {
}
