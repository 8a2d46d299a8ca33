package io.refrag.train;

import io.refrag.core.json.JsonConfig;
import io.refrag.core.model.Compression;

import java.util.Set;

/**
 * The shape of next-paragraph samples (CPT and policy training): {@code contextTokens} tokens of context, as chunks
 * of which a fraction is expanded, then the {@code targetTokens} tokens to predict.
 *
 * @param contextTokens context tokens s before the target (a multiple of k is used: s / k chunks)
 * @param targetTokens target tokens o to predict
 * @param expandFraction fraction p of context chunks expanded: exactly {@code round(p * chunks)}, as at inference
 */
public record NextParagraph(int contextTokens, int targetTokens, double expandFraction) {
    /** Default s, as in the paper's CPT setup scaled to small models. */
    public static final int DEFAULT_CONTEXT_TOKENS = 128;
    /** Default o. */
    public static final int DEFAULT_TARGET_TOKENS = 32;
    /** Default p. */
    public static final double DEFAULT_EXPAND_FRACTION = 0.25;
    /** The JSON keys it is read from. */
    static final Set<String> KEYS = Set.of("contextTokens", "targetTokens", "expandFraction");

    /** Checks the counts; the check against k is {@link #contextChunks(int)}'s. */
    public NextParagraph {
        TrainingConfig.require(targetTokens >= 1, "targetTokens must be >= 1, got " + targetTokens);
        TrainingConfig.require(expandFraction >= 0 && expandFraction <= 1, "expandFraction (p) must be in [0, 1], got "
                + expandFraction);
    }

    /** @return the defaults (s = 128, o = 32, p = 0.25) */
    public static NextParagraph defaults() {
        return new NextParagraph(DEFAULT_CONTEXT_TOKENS, DEFAULT_TARGET_TOKENS, DEFAULT_EXPAND_FRACTION);
    }

    /**
     * @param k decoder tokens per chunk
     * @return context chunks per sample, at least 1
     */
    public int contextChunks(int k) {
        TrainingConfig.require(contextTokens >= k, "contextTokens must be >= k = " + k + ", got " + contextTokens);
        return contextTokens / k;
    }

    /**
     * The number of chunks the fraction expands, as inference computes it ({@code RefragOptions.budget}): training
     * and serving see the same mix of expanded and compressed chunks, and a sample is never expanded whole by chance.
     *
     * @param k decoder tokens per chunk
     * @return expanded chunks per sample
     */
    public int budget(int k) {
        int chunks = contextChunks(k);
        return Compression.budget(expandFraction, chunks);
    }

    static NextParagraph read(JsonConfig c) {
        return new NextParagraph(c.optInt("contextTokens").orElse(DEFAULT_CONTEXT_TOKENS),
                c.optInt("targetTokens").orElse(DEFAULT_TARGET_TOKENS),
                c.optDouble("expandFraction", DEFAULT_EXPAND_FRACTION));
    }
}
