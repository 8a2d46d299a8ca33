package io.refrag.core.generate;

import io.refrag.core.exception.ContextTooLongException;
import io.refrag.core.model.CausalDecoder;
import io.refrag.core.model.DecoderInput;

/**
 * The generation loop: open a session sized for the request, prefill the prompt, sample on the host, feed each token
 * back through the KV cache, stop on a stop token, a stop sequence, {@code maxNewTokens} or the context limit, and time
 * every step.
 */
public final class Generator {
    private Generator() {
    }

    /**
     * Generates from a prompt. TTFT counts from {@code requestStartNanos}, so callers that chunk, encode or run a
     * policy before calling pass the time their request began.
     *
     * @param decoder the model
     * @param prompt the decoder input (tokens and/or embedding rows)
     * @param options sampling and stopping options
     * @param requestStartNanos {@link System#nanoTime()} at request start
     * @return text, ids, finish reason and metrics
     * @throws ContextTooLongException if the prompt alone exceeds the decoder's context length
     */
    public static GenerationResult generate(
            CausalDecoder decoder, DecoderInput prompt, GenerationOptions options, long requestStartNanos) {
        try (Decoding decoding = new Decoding(decoder, prompt, options, requestStartNanos)) {
            float[] logits = decoding.prefill();
            while (!decoding.accept(logits)) {
                logits = decoding.session().decode(decoding.lastToken());
            }
            return decoding.result();
        }
    }
}
