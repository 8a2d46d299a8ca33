package io.refrag.policy;

import io.refrag.core.model.ExpansionPolicy;

import java.util.EnumSet;
import java.util.Set;

/**
 * What every built-in policy declares, given once to the constructor: its registered name and what the pipeline
 * must hand it ({@link Need}). Subclasses write only {@link #select}.
 */
abstract class BasePolicy implements ExpansionPolicy {
    /** What a policy needs beyond the chunks and the budget. */
    enum Need {
        /** every chunk's projected embedding ({@link ExpansionPolicy#needsChunkEmbeddings()}) */
        CHUNK_EMBEDDINGS,
        /** the projected embedding of the request's text ({@link ExpansionPolicy#needsQueryEmbedding()}) */
        QUERY_EMBEDDING,
        /** to be consulted even at budget 0: its choice ignores the budget ({@link ExpansionPolicy#usesBudget()}) */
        NO_BUDGET
    }

    private final String name;
    private final Set<Need> needs;

    BasePolicy(String name, Need... needs) {
        this.name = name;
        this.needs = needs.length == 0 ? EnumSet.noneOf(Need.class) : EnumSet.of(needs[0], needs);
    }

    @Override
    public final String name() {
        return name;
    }

    @Override
    public final boolean usesBudget() {
        return !needs.contains(Need.NO_BUDGET);
    }

    @Override
    public final boolean needsChunkEmbeddings() {
        return needs.contains(Need.CHUNK_EMBEDDINGS);
    }

    @Override
    public final boolean needsQueryEmbedding() {
        return needs.contains(Need.QUERY_EMBEDDING);
    }
}
