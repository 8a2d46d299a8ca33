package io.refrag.policy;

import io.refrag.core.model.ExpansionPolicy;
import io.refrag.core.model.PolicyInput;
import io.refrag.core.model.PolicyNames;

/** {@code none}: every chunk stays compressed (maximum compression), whatever the budget. */
public final class NoExpansionPolicy extends BasePolicy {
    /** The policy; stateless. */
    public NoExpansionPolicy() {
        super(PolicyNames.NONE);
    }

    @Override
    public int[] select(PolicyInput input, int budget) {
        return new int[0];
    }
}
