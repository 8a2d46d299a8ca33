package io.refrag.core.model;


/**
 * Chooses which chunks to expand back into their tokens; the rest stay one embedding each. Implementations are
 * thread-safe (per-request randomness comes from {@link PolicyInput#seed()}).
 */
public interface ExpansionPolicy extends AutoCloseable {

    /** @return the policy's registered name */
    String name();

    /**
     * @return false for policies whose choice does not depend on the budget (such as expanding everything); the
     *     pipeline then consults them even when the budget is 0, and skips the others
     */
    default boolean usesBudget() {
        return true;
    }

    /** @return whether {@link PolicyInput#chunkEmbeddings()} must hold every chunk's projected embedding */
    default boolean needsChunkEmbeddings() {
        return false;
    }

    /** @return whether {@link PolicyInput#queryEmbedding()} must be computed */
    default boolean needsQueryEmbedding() {
        return false;
    }

    /**
     * @param input the request's chunks and what the policy declared it needs
     * @param budget how many chunks to expand (already clamped to {@code [0, chunks]})
     * @return distinct chunk indices to expand; at most {@code budget} unless the policy expands everything by
     *     definition (the {@code all} baseline)
     */
    int[] select(PolicyInput input, int budget);

    @Override
    default void close() {
    }
}
