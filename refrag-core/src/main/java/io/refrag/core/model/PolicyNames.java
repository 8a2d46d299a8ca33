package io.refrag.core.model;

import java.util.List;

/** The names of the built-in expansion policies (refrag-policy registers them), written once. */
public final class PolicyNames {
    /** Expands nothing: every chunk stays one embedding. */
    public static final String NONE = "none";
    /** Expands every chunk (full context through the REFRAG path). */
    public static final String ALL = "all";
    /** Expands a seeded random choice of chunks. */
    public static final String RANDOM = "random";
    /** Expands the chunks most similar to the query. */
    public static final String QUERY_SIMILARITY = "query-similarity";
    /** Expands the chunks the decoder finds hardest to predict. */
    public static final String PERPLEXITY = "perplexity";
    /** The RL-trained policy network (needs a policy file). */
    public static final String LEARNED = "learned";
    /** Every built-in name, in the order above. */
    public static final List<String> ALL_NAMES = List.of(NONE, ALL, RANDOM, QUERY_SIMILARITY, PERPLEXITY, LEARNED);

    private PolicyNames() {
    }
}
