package io.refrag.policy;

import io.refrag.core.model.ModelOptions;
import io.refrag.core.model.PolicyInput;
import io.refrag.core.model.PolicyNames;

/**
 * An untrained learned policy whose network is created on first use, when the chunk-embedding width is known.
 * Thread-safe.
 */
final class LazyLearnedPolicy extends BasePolicy {
    private final ModelOptions options;
    private volatile LearnedPolicy delegate;

    LazyLearnedPolicy(ModelOptions options) {
        super(PolicyNames.LEARNED, Need.CHUNK_EMBEDDINGS);
        this.options = options;
    }

    @Override
    public int[] select(PolicyInput input, int budget) {
        LearnedPolicy d = delegate;
        if (d == null) {
            synchronized (this) {
                if (delegate == null) {
                    delegate = LearnedPolicy.untrained(input.chunkEmbeddings()[0].length, options);
                }
                d = delegate;
            }
        }
        return d.select(input, budget);
    }

    @Override
    public synchronized void close() {
        if (delegate != null) {
            delegate.close();
        }
    }
}
