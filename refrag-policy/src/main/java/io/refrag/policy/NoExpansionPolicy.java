package io.refrag.policy;

import io.refrag.core.spi.ExpansionPolicy;
import io.refrag.core.spi.PolicyInput;

/** {@code none}: every chunk stays compressed (maximum compression), whatever the budget. */
public final class NoExpansionPolicy implements ExpansionPolicy {
    @Override
    public String name() {
        return "none";
    }

    @Override
    public int[] select(PolicyInput input, int budget) {
        return new int[0];
    }
}
