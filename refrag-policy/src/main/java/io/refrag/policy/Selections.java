package io.refrag.policy;

import java.util.Arrays;
import java.util.Comparator;
import java.util.stream.IntStream;

/** Shared selection helper: the indices of the highest scores. */
final class Selections {
    private Selections() {
    }

    /**
     * @param scores one score per chunk
     * @param budget how many to take
     * @return indices of the {@code budget} highest scores (ties to the earlier chunk), ascending
     */
    static int[] topScores(double[] scores, int budget) {
        int[] top = IntStream.range(0, scores.length).boxed()
                .sorted(Comparator.<Integer>comparingDouble(i -> -scores[i]).thenComparingInt(i -> i))
                .limit(budget)
                .mapToInt(Integer::intValue)
                .toArray();
        Arrays.sort(top);
        return top;
    }
}
