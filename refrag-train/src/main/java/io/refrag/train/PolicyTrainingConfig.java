package io.refrag.train;

import io.refrag.core.json.JsonConfig;

import java.util.Objects;
import java.util.Set;

/**
 * The RL expansion-policy task's settings (GRPO with PPO clipping).
 *
 * @param base what every task needs
 * @param samples the sample shape; p is the fraction the policy picks
 * @param groupSize sampled selections per input (GRPO group G)
 * @param clipEpsilon PPO clipping range
 * @param ppoEpochs optimisation passes over each sampled group
 */
public record PolicyTrainingConfig(TrainingConfig base, NextParagraph samples, int groupSize, double clipEpsilon,
        int ppoEpochs) {
    /** Default G. */
    public static final int DEFAULT_GROUP_SIZE = 4;
    /** Default PPO clipping range. */
    public static final double DEFAULT_CLIP_EPSILON = 0.2;
    /** Default optimisation passes per group. */
    public static final int DEFAULT_PPO_EPOCHS = 2;

    /** The most rollouts in one group (each is a forward pass held for the update). */
    public static final int MAX_GROUP_SIZE = 1_024;
    /** The most PPO epochs over one group. */
    public static final int MAX_PPO_EPOCHS = 1_000;

    /** Validates the fields; messages name the field and the allowed values. */
    public PolicyTrainingConfig {
        Objects.requireNonNull(base, "base");
        Objects.requireNonNull(samples, "samples");
        TrainingConfig.require(groupSize >= 2 && groupSize <= MAX_GROUP_SIZE, "groupSize (G) must be in [2, "
                + MAX_GROUP_SIZE + "] (>= 2 to normalise advantages within a group), got " + groupSize);
        TrainingConfig.require(clipEpsilon > 0 && clipEpsilon < 1, "clipEpsilon must be in (0, 1), got "
                + clipEpsilon);
        TrainingConfig.require(ppoEpochs >= 1 && ppoEpochs <= MAX_PPO_EPOCHS, "ppoEpochs must be in [1, "
                + MAX_PPO_EPOCHS + "], got " + ppoEpochs);
        int chunks = samples.contextChunks(base.k());
        int budget = samples.budget(base.k());
        TrainingConfig.require(budget >= 1 && budget < chunks, "policy training needs 0 < round(p * chunks) < chunks; "
                + "p = " + samples.expandFraction() + " of " + chunks + " context chunks gives " + budget);
    }

    /**
     * @param base what every task needs
     * @param samples the sample shape
     * @return G = 4, epsilon = 0.2, 2 PPO epochs
     */
    public static PolicyTrainingConfig defaults(TrainingConfig base, NextParagraph samples) {
        return new PolicyTrainingConfig(base, samples, DEFAULT_GROUP_SIZE, DEFAULT_CLIP_EPSILON, DEFAULT_PPO_EPOCHS);
    }

    /** Reads the sample shape, {@code groupSize}, {@code clipEpsilon} and {@code ppoEpochs}. */
    static PolicyTrainingConfig read(JsonConfig c, TrainingConfig base) {
        c.requireKnownKeys(TrainingConfig.keysWith(NextParagraph.KEYS, Set.of("groupSize", "clipEpsilon",
                "ppoEpochs")));
        return new PolicyTrainingConfig(base, NextParagraph.read(c), c.optInt("groupSize").orElse(DEFAULT_GROUP_SIZE),
                c.optDouble("clipEpsilon", DEFAULT_CLIP_EPSILON), c.optInt("ppoEpochs").orElse(DEFAULT_PPO_EPOCHS));
    }
}
