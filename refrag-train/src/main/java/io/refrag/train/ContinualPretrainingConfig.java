package io.refrag.train;

import io.refrag.core.json.JsonConfig;

import java.util.Objects;
import java.util.Set;

/**
 * The next-paragraph continual pre-training (CPT) task's settings.
 *
 * @param base what every task needs
 * @param samples the sample shape (s, o, p)
 * @param trainEncoder whether the encoder trains (the projector always does)
 * @param trainDecoder whether the decoder trains too
 */
public record ContinualPretrainingConfig(TrainingConfig base, NextParagraph samples, boolean trainEncoder,
        boolean trainDecoder) {

    /**
     * Validates the fields.
     *
     * @throws io.refrag.core.exception.InvalidRequestException also if p expands every chunk while the decoder is
     *     frozen: then no chunk embedding reaches the loss and nothing would train
     */
    public ContinualPretrainingConfig {
        Objects.requireNonNull(base, "base");
        Objects.requireNonNull(samples, "samples");
        int chunks = samples.contextChunks(base.k());
        TrainingConfig.require(samples.budget(base.k()) < chunks || trainDecoder, "expandFraction p = "
                + samples.expandFraction() + " expands all " + chunks + " context chunks (round(p * chunks) = "
                + chunks + "), so no chunk embedding reaches the loss and, with the decoder frozen, nothing would "
                + "train; use p < " + (chunks - 0.5) / chunks + " or trainDecoder");
    }

    /**
     * Reads {@code contextTokens}, {@code targetTokens}, {@code expandFraction}, {@code trainEncoder} (default true)
     * and {@code trainDecoder} (default false).
     */
    static ContinualPretrainingConfig read(JsonConfig c, TrainingConfig base) {
        c.requireKnownKeys(TrainingConfig.keysWith(NextParagraph.KEYS, Set.of("trainEncoder", "trainDecoder")));
        return new ContinualPretrainingConfig(base, NextParagraph.read(c), c.optBoolean("trainEncoder", true),
                c.optBoolean("trainDecoder", false));
    }
}
