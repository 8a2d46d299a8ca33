package io.refrag.core;

import io.refrag.core.exception.InvalidRequestException;
import io.refrag.core.generate.GenerationOptions;
import io.refrag.core.model.Compression;

/**
 * Per-request REFRAG options. Immutable; build with {@link #builder()}.
 *
 * <p>The expansion budget is {@code round(p * chunks)} unless an explicit chunk budget is set. In full-context mode
 * every chunk is expanded and the encoder is never called: the plain LLaMA baseline.
 */
public final class RefragOptions {
    private final int k;
    private final double expansionFraction;
    private final int chunkBudget;
    private final String policy;
    private final boolean fullContext;
    private final boolean useCache;
    private final GenerationOptions generation;

    private RefragOptions(Builder b) {
        this.k = b.k;
        this.expansionFraction = b.expansionFraction;
        this.chunkBudget = b.chunkBudget;
        this.policy = b.policy;
        this.fullContext = b.fullContext;
        this.useCache = b.useCache;
        this.generation = b.generation;
    }

    /** @return a builder: k 16, p 0, the pipeline's policy, cache on, default generation */
    public static Builder builder() {
        return new Builder();
    }

    /** @return decoder tokens per chunk */
    public int k() {
        return k;
    }

    /** @return fraction of chunks to expand */
    public double expansionFraction() {
        return expansionFraction;
    }

    /** @return explicit number of chunks to expand, or -1 to use the fraction */
    public int chunkBudget() {
        return chunkBudget;
    }

    /** @return policy name overriding the pipeline's, or null */
    public String policy() {
        return policy;
    }

    /** @return whether to run the full-context baseline */
    public boolean fullContext() {
        return fullContext;
    }

    /** @return whether chunk embeddings may come from (and go to) the cache */
    public boolean useCache() {
        return useCache;
    }

    /** @return sampling, stopping and streaming options */
    public GenerationOptions generation() {
        return generation;
    }

    /**
     * @param chunks chunks in the request
     * @return how many to expand
     */
    public int budget(int chunks) {
        return chunkBudget >= 0 ? Math.min(chunks, chunkBudget) : Compression.budget(expansionFraction, chunks);
    }

    /** @return a builder initialised from these options */
    public Builder toBuilder() {
        Builder b = new Builder();
        b.k = k;
        b.expansionFraction = expansionFraction;
        b.chunkBudget = chunkBudget;
        b.policy = policy;
        b.fullContext = fullContext;
        b.useCache = useCache;
        b.generation = generation;
        return b;
    }

    /** Builder; setters validate. */
    public static final class Builder {
        private int k = Compression.DEFAULT_K;
        private double expansionFraction;
        private int chunkBudget = -1;
        private String policy;
        private boolean fullContext;
        private boolean useCache = true;
        private GenerationOptions generation = GenerationOptions.defaults();

        private Builder() {
        }

        /**
         * @param chunkSize decoder tokens per chunk, at least 1
         * @return this builder
         */
        public Builder optK(int chunkSize) {
            this.k = Compression.requireK(chunkSize);
            return this;
        }

        /**
         * @param p fraction of chunks to expand, in [0, 1]
         * @return this builder
         */
        public Builder optExpansionFraction(double p) {
            this.expansionFraction = Compression.requireP(p);
            return this;
        }

        /**
         * @param chunks explicit number of chunks to expand (&gt;= 0), overriding the fraction
         * @return this builder
         */
        public Builder optChunkBudget(int chunks) {
            if (chunks < 0) {
                throw new InvalidRequestException("chunk budget must be >= 0, got " + chunks);
            }
            this.chunkBudget = chunks;
            return this;
        }

        /**
         * @param name policy name for this request (overrides the pipeline's)
         * @return this builder
         */
        public Builder optPolicy(String name) {
            this.policy = name;
            return this;
        }

        /**
         * @param full run the full-context baseline
         * @return this builder
         */
        public Builder optFullContext(boolean full) {
            this.fullContext = full;
            return this;
        }

        /**
         * @param cache read and fill the chunk-embedding cache
         * @return this builder
         */
        public Builder optUseCache(boolean cache) {
            this.useCache = cache;
            return this;
        }

        /**
         * @param options sampling, stopping and streaming options
         * @return this builder
         */
        public Builder optGeneration(GenerationOptions options) {
            this.generation = java.util.Objects.requireNonNull(options, "generation options");
            return this;
        }

        /** @return the options */
        public RefragOptions build() {
            return new RefragOptions(this);
        }
    }
}
