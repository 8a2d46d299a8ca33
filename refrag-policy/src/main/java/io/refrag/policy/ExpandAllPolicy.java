package io.refrag.policy;

import io.refrag.core.model.ExpansionPolicy;
import io.refrag.core.model.PolicyInput;
import io.refrag.core.model.PolicyNames;

import java.util.stream.IntStream;

/**
 * {@code all}: every chunk is expanded, whatever the budget; the decoder sees the full context as tokens (the
 * baseline, though unlike full-context mode the pipeline still chunks the context).
 */
public final class ExpandAllPolicy implements ExpansionPolicy {
    @Override
    public String name() {
        return PolicyNames.ALL;
    }

    @Override
    public boolean usesBudget() {
        return false;
    }

    @Override
    public int[] select(PolicyInput input, int budget) {
        return IntStream.range(0, input.chunks().size()).toArray();
    }
}
