package io.refrag.train;

import io.refrag.core.json.JsonConfig;

import java.util.Objects;
import java.util.Set;

/**
 * The reconstruction task's settings.
 *
 * @param base what every task needs
 * @param maxChunks chunks per sample of the hardest type (L)
 * @param curriculum the curriculum, or null to train on {@code maxChunks}-chunk samples only
 * @param trainEncoder whether the encoder trains (else only the projector)
 */
public record ReconstructionConfig(TrainingConfig base, int maxChunks, Curriculum curriculum, boolean trainEncoder) {
    /** Default L. */
    public static final int DEFAULT_MAX_CHUNKS = 8;

    /** Validates the fields; messages name the field and the allowed values. */
    public ReconstructionConfig {
        Objects.requireNonNull(base, "base");
        TrainingConfig.require(maxChunks >= 1 && maxChunks <= TrainingConfig.MAX_CHUNKS, "maxChunks must be in [1, "
                + TrainingConfig.MAX_CHUNKS + "], got " + maxChunks);
        TrainingConfig.require(curriculum == null || curriculum.maxChunks() == maxChunks, "the curriculum's maxChunks ("
                + (curriculum == null ? 0 : curriculum.maxChunks()) + ") must equal maxChunks (" + maxChunks + ")");
    }

    /**
     * @param base what every task needs
     * @return L = 8 with the standard curriculum, the encoder training too
     */
    public static ReconstructionConfig defaults(TrainingConfig base) {
        return new ReconstructionConfig(base, DEFAULT_MAX_CHUNKS, Curriculum.standard(DEFAULT_MAX_CHUNKS), true);
    }

    /**
     * Reads {@code maxChunks}, {@code curriculum} (true, false or {@code {"stages", "ratio", "base"}}) and
     * {@code trainEncoder} (default true).
     */
    static ReconstructionConfig read(JsonConfig c, TrainingConfig base) {
        c.requireKnownKeys(TrainingConfig.keysWith(Set.of("maxChunks", "curriculum", "trainEncoder")));
        int maxChunks = c.optInt("maxChunks").orElse(DEFAULT_MAX_CHUNKS);
        Curriculum curriculum;
        if (c.isObject("curriculum")) {
            JsonConfig cur = c.optObject("curriculum").orElseThrow();
            cur.requireKnownKeys(Set.of("stages", "ratio", "base"));
            curriculum = new Curriculum(maxChunks, cur.optInt("stages").orElse(9), cur.optDouble("ratio", 2.0),
                    cur.optInt("base").orElse(64));
        } else {
            curriculum = c.optBoolean("curriculum", true) ? Curriculum.standard(maxChunks) : null;
        }
        return new ReconstructionConfig(base, maxChunks, curriculum, c.optBoolean("trainEncoder", true));
    }
}
