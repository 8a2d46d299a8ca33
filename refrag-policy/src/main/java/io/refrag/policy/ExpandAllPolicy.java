package io.refrag.policy;

import io.refrag.core.model.PolicyInput;
import io.refrag.core.model.PolicyNames;

import java.util.stream.IntStream;

/**
 * {@code all}: every chunk is expanded, whatever the budget; the decoder sees the full context as tokens (the
 * baseline, though unlike full-context mode the pipeline still chunks the context).
 */
public final class ExpandAllPolicy extends BasePolicy {
    /** The policy; stateless. */
    public ExpandAllPolicy() {
        super(PolicyNames.ALL, Need.NO_BUDGET);
    }

    @Override
    public int[] select(PolicyInput input, int budget) {
        return IntStream.range(0, input.chunks().size()).toArray();
    }
}
