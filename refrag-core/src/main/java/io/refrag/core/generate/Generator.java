package io.refrag.core.generate;

import io.refrag.core.exception.ContextTooLongException;
import io.refrag.core.model.CausalDecoder;
import io.refrag.core.model.DecoderInput;
import io.refrag.core.model.DecoderSession;

import java.util.Arrays;
import java.util.List;

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
        int maxPositions = decoder.info().maxPositions();
        decoder.info().requireFits(prompt.length(), "decoder input", "");
        int[] stop = options.stopTokenIds() != null ? options.stopTokenIds() : decoder.info().eosTokenIds();
        // The last sampled token is never fed back, so the cache needs one position less than prompt + new tokens.
        int capacity = (int) Math.min(maxPositions, (long) prompt.length() + options.maxNewTokens() - 1);
        Sampler sampler = new Sampler(options);
        TokenListener listener = options.listener();
        // at most one token per free position, plus the one sampled at the last position: never maxNewTokens blindly
        int[] generated = new int[Math.min(options.maxNewTokens(), maxPositions - prompt.length() + 1)];
        int n = 0;
        List<String> stopSequences = options.stopSequences();
        boolean decodeEachStep = listener != null || !stopSequences.isEmpty();
        String text = "";
        String streamed = "";
        FinishReason reason;
        try (DecoderSession session = decoder.newSession(capacity)) {
            long prefillStart = System.nanoTime();
            float[] logits = CausalDecoder.requireFinite(session.prefill(prompt), "logits after the prompt");
            long prefillEnd = System.nanoTime();
            long firstToken = 0;
            long lastToken = 0;
            while (true) {
                int token = sampler.sample(logits);
                lastToken = System.nanoTime();
                if (n == 0) {
                    firstToken = lastToken;
                }
                generated[n++] = token;
                int cut = -1;
                if (decodeEachStep) {
                    text = decoder.tokenizer().decode(Arrays.copyOf(generated, n));
                    cut = StopSequences.firstIndex(text, stopSequences);
                    text = cut >= 0 ? text.substring(0, cut) : text;
                }
                if (cut >= 0 || contains(stop, token)) {
                    reason = FinishReason.STOP;
                } else if (n == options.maxNewTokens()) {
                    reason = FinishReason.LENGTH;
                } else if (session.position() == maxPositions) {
                    reason = FinishReason.CONTEXT_LIMIT;
                } else {
                    reason = null;
                }
                if (listener != null) {
                    // Hold back a tail that may grow into a stop sequence; the last token releases everything.
                    String ready = reason != null ? text
                            : text.substring(0, text.length() - StopSequences.pendingLength(text, stopSequences));
                    String delta = ready.startsWith(streamed) ? ready.substring(streamed.length()) : "";
                    streamed = ready.startsWith(streamed) ? ready : streamed;
                    listener.onToken(token, delta);
                }
                if (reason != null) {
                    break;
                }
                logits = CausalDecoder.requireFinite(session.decode(token), "logits at position "
                        + session.position());
            }
            int[] ids = Arrays.copyOf(generated, n);
            double ttft = millis(requestStartNanos, firstToken);
            double ttit = n > 1 ? millis(firstToken, lastToken) / (n - 1) : 0.0;
            double total = millis(requestStartNanos, lastToken);
            GenerationMetrics metrics = new GenerationMetrics(
                    ttft, ttit, n / (total / 1000.0), total, millis(prefillStart, prefillEnd),
                    millis(firstToken, lastToken), prompt.length(), session.kvCacheBytes());
            String output = stopSequences.isEmpty() ? decoder.tokenizer().decode(ids) : text;
            return new GenerationResult(output, ids, reason, prompt.length(), n, metrics);
        }
    }

    private static boolean contains(int[] ids, int id) {
        for (int x : ids) {
            if (x == id) {
                return true;
            }
        }
        return false;
    }

    private static double millis(long fromNanos, long toNanos) {
        return (toNanos - fromNanos) / 1e6;
    }
}
