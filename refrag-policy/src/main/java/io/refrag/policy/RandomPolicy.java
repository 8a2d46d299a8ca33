package io.refrag.policy;

import io.refrag.core.model.PolicyInput;
import io.refrag.core.model.PolicyNames;

import java.util.Arrays;
import java.util.SplittableRandom;

/** {@code random}: a uniformly random subset of {@code budget} chunks, seeded by the request's seed. */
public final class RandomPolicy extends BasePolicy {
    /** The policy; stateless. */
    public RandomPolicy() {
        super(PolicyNames.RANDOM);
    }

    @Override
    public int[] select(PolicyInput input, int budget) {
        int n = input.chunks().size();
        int[] order = new int[n];
        for (int i = 0; i < n; i++) {
            order[i] = i;
        }
        SplittableRandom r = new SplittableRandom(input.seed());
        for (int i = n - 1; i > 0; i--) {
            int j = r.nextInt(i + 1);
            int t = order[i];
            order[i] = order[j];
            order[j] = t;
        }
        int[] picked = Arrays.copyOf(order, budget);
        Arrays.sort(picked);
        return picked;
    }
}
