package io.refrag.core.generate;

import io.refrag.core.model.CausalDecoder;
import io.refrag.core.model.DecoderInput;
import io.refrag.core.model.DecoderSession;

import java.util.Arrays;
import java.util.List;

/**
 * One request's generation state: its session (the KV cache), sampler, generated tokens, stream and stopping rules.
 * {@link Generator} drives it alone; {@link BatchedGenerator} drives many through one batched decode step. Not
 * thread-safe: one thread at a time, handed over with a happens-before edge.
 */
final class Decoding implements AutoCloseable {
    private final CausalDecoder decoder;
    private final DecoderInput prompt;
    private final GenerationOptions options;
    private final long requestStartNanos;
    private final DecoderSession session;
    private final Sampler sampler;
    private final int[] stop;
    private final int maxGenerated;
    private int[] generated = new int[16]; // grows as tokens come: its bound is the request's, not the config's
    private final boolean decodeEachStep;
    private int n;
    private String text = "";
    private String streamed = "";
    private FinishReason reason;
    private long prefillStart;
    private long prefillEnd;
    private long firstToken;
    private long lastToken;

    /**
     * Opens the session, sized for what can be generated.
     *
     * @throws io.refrag.core.exception.ContextTooLongException if the prompt alone exceeds the context length
     */
    Decoding(CausalDecoder decoder, DecoderInput prompt, GenerationOptions options, long requestStartNanos) {
        int maxPositions = decoder.info().maxPositions();
        decoder.info().requireFits(prompt.length(), "decoder input", "");
        this.decoder = decoder;
        this.prompt = prompt;
        this.options = options;
        this.requestStartNanos = requestStartNanos;
        this.stop = options.stopTokenIds() != null ? options.stopTokenIds() : decoder.info().eosTokenIds();
        this.sampler = new Sampler(options);
        // at most one token per free position, plus the one sampled at the last position: never maxNewTokens blindly
        this.maxGenerated = Math.min(options.maxNewTokens(), maxPositions - prompt.length() + 1);
        this.decodeEachStep = options.listener() != null || !options.stopSequences().isEmpty();
        // The last sampled token is never fed back, so the cache needs one position less than prompt + new tokens.
        this.session = decoder.newSession((int) Math.min(maxPositions, (long) prompt.length()
                + options.maxNewTokens() - 1));
    }

    /** @return the logits after the prompt ({@link #accept} checks that they are finite) */
    float[] prefill() {
        long start = System.nanoTime();
        float[] logits = session.prefill(prompt);
        prefilled(start, System.nanoTime());
        return logits;
    }

    /** @return the decoder input the session is prefilled with */
    DecoderInput prompt() {
        return prompt;
    }

    /**
     * Records the prefill's time span, when the prompt was prefilled together with other requests'.
     *
     * @param startNanos {@link System#nanoTime()} before the prefill
     * @param endNanos {@link System#nanoTime()} after it
     */
    void prefilled(long startNanos, long endNanos) {
        prefillStart = startNanos;
        prefillEnd = endNanos;
    }

    /** @return the session, to feed {@link #lastToken()} back */
    DecoderSession session() {
        return session;
    }

    /** @return tokens generated so far */
    int generatedCount() {
        return n;
    }

    /** @return the token sampled last */
    int lastToken() {
        return generated[n - 1];
    }

    /**
     * Samples the next token from the logits that followed the last position, streams its text and applies the
     * stopping rules.
     *
     * @param logits {@code [vocab]}
     * @return whether generation has finished
     */
    boolean accept(float[] logits) {
        CausalDecoder.requireFinite(logits, "logits at position " + session.position());
        int token = sampler.sample(logits);
        lastToken = System.nanoTime();
        if (n == 0) {
            firstToken = lastToken;
        }
        if (n == generated.length) {
            generated = Arrays.copyOf(generated, (int) Math.max(n + 1, Math.min(maxGenerated, 2L * n)));
        }
        generated[n++] = token;
        List<String> stopSequences = options.stopSequences();
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
        } else if (session.position() == decoder.info().maxPositions()) {
            reason = FinishReason.CONTEXT_LIMIT;
        }
        TokenListener listener = options.listener();
        if (listener != null) {
            // Hold back a tail that may grow into a stop sequence; the last token releases everything.
            String ready = reason != null ? text
                    : text.substring(0, text.length() - StopSequences.pendingLength(text, stopSequences));
            String delta = ready.startsWith(streamed) ? ready.substring(streamed.length()) : "";
            streamed = ready.startsWith(streamed) ? ready : streamed;
            listener.onToken(token, delta);
        }
        return reason != null;
    }

    /** @return the finished generation: text, ids, finish reason and metrics */
    GenerationResult result() {
        int[] ids = Arrays.copyOf(generated, n);
        double ttft = millis(requestStartNanos, firstToken);
        double ttit = n > 1 ? millis(firstToken, lastToken) / (n - 1) : 0.0;
        double total = millis(requestStartNanos, lastToken);
        GenerationMetrics metrics = new GenerationMetrics(ttft, ttit, n / (total / 1000.0), total,
                millis(prefillStart, prefillEnd), millis(firstToken, lastToken), prompt.length(),
                session.kvCacheBytes());
        String output = options.stopSequences().isEmpty() ? decoder.tokenizer().decode(ids) : text;
        return new GenerationResult(output, ids, reason, prompt.length(), n, metrics);
    }

    @Override
    public void close() {
        session.close();
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
