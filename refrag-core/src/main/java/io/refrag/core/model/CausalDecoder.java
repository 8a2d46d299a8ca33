package io.refrag.core.model;

import io.refrag.core.exception.InvalidRequestException;
import io.refrag.core.exception.RefragException;
import io.refrag.core.tokenizer.TextTokenizer;

import java.util.Arrays;
import java.util.List;

/**
 * A loaded, immutable causal language model that serves many concurrent requests; each request owns a
 * {@link DecoderSession}. Implemented by refrag-decoder (LLaMA) and found through {@code DecoderProvider} (package
 * {@code spi}).
 */
public interface CausalDecoder extends AutoCloseable {

    /** @return a stable identifier of the weights (used in cache keys and logs) */
    String id();

    /** @return sizes and special tokens */
    DecoderInfo info();

    /** @return the decoder's tokenizer; encodes without adding BOS (callers add it explicitly) */
    TextTokenizer tokenizer();

    /**
     * Looks up token embeddings ({@code embed_tokens}) for the given ids.
     *
     * @param ids token ids in {@code [0, vocab)}
     * @return rows {@code [ids.length, hidden]}
     */
    float[][] embedTokens(int[] ids);

    /**
     * Opens a session whose KV cache holds {@code capacity} positions.
     *
     * @param capacity positions, at most {@link DecoderInfo#maxPositions()}
     * @return the session
     */
    DecoderSession newSession(int capacity);

    /**
     * One decode step for several requests at once: appends {@code tokens[i]} to {@code sessions.get(i)} and returns
     * the logits that follow each. A decoder that batches reads its weights once for all of them (decode is bound by
     * memory bandwidth); this default runs the sessions one after another.
     *
     * @param sessions open sessions of this decoder, each at most once
     * @param tokens one token per session
     * @return logits per session, {@code [sessions][vocab]}
     */
    default float[][] decodeBatch(List<DecoderSession> sessions, int[] tokens) {
        float[][] logits = new float[sessions.size()][];
        for (int i = 0; i < logits.length; i++) {
            logits[i] = sessions.get(i).decode(tokens[i]);
        }
        return logits;
    }

    /**
     * Prefills several sessions with their inputs in one forward pass: the projections run once over all their
     * positions (fewer, larger products), attention runs per session over its own cache. This default prefills them
     * one after another.
     *
     * @param sessions open sessions of this decoder, each at most once
     * @param inputs one input per session, each fitting its session's cache
     * @return each session's logits after its input ({@code [vocab]} per session)
     */
    default float[][] prefillBatch(List<DecoderSession> sessions, List<DecoderInput> inputs) {
        if (sessions.size() != inputs.size()) {
            throw new InvalidRequestException("prefillBatch needs one input per session, got "
                    + inputs.size() + " inputs for " + sessions.size() + " sessions");
        }
        float[][] logits = new float[sessions.size()][];
        for (int i = 0; i < logits.length; i++) {
            logits[i] = sessions.get(i).prefill(inputs.get(i));
        }
        return logits;
    }

    /**
     * Negative log-likelihood (nats) of each target token given the context and the preceding targets, in one forward
     * pass without a cache. Used for perplexity, the perplexity policy and RL rewards.
     *
     * @param context conditioning positions (at least one)
     * @param targets tokens to score (at least one)
     * @return one NLL per target
     */
    float[] tokenNll(DecoderInput context, int[] targets);

    /**
     * NLL of every token after the first, in non-overlapping windows of the context length, each window conditioned
     * on the token before it only: how a sequence longer than the context is scored (perplexity, the perplexity
     * policy).
     *
     * @param tokens the sequence, usually starting with BOS; at least 2 ids
     * @return {@code tokens.length - 1} values; value i belongs to {@code tokens[i + 1]}
     */
    default float[] windowedNll(int[] tokens) {
        float[] out = new float[tokens.length - 1];
        int window = info().maxPositions();
        for (int s = 0; s < tokens.length - 1; ) {
            int e = Math.min(tokens.length, s + window);
            float[] nll = tokenNll(DecoderInput.ofTokens(tokens[s]), Arrays.copyOfRange(tokens, s + 1, e));
            System.arraycopy(nll, 0, out, s, nll.length);
            s = e - 1;
        }
        return out;
    }

    /**
     * Rejects non-finite decoder outputs (logits, NLLs), which would otherwise become empty text or a NaN metric.
     *
     * @param values the outputs
     * @param where what they are, e.g. "logits at position 12"
     * @return {@code values}
     * @throws RefragException naming the likely causes if one is NaN or infinite
     */
    static float[] requireFinite(float[] values, String where) {
        for (float v : values) {
            if (!Float.isFinite(v)) {
                throw new RefragException("the decoder produced a non-finite value (" + v + ") in its " + where
                        + "; likely causes: NaN or infinite weights in the checkpoint, a bad config value such as "
                        + "rms_norm_eps, or chunk embeddings from a broken projector");
            }
        }
        return values;
    }

    @Override
    void close();
}
