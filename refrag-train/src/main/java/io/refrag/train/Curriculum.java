package io.refrag.train;

import io.refrag.core.exception.InvalidRequestException;

import java.math.BigInteger;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.function.LongToIntFunction;

/**
 * REFRAG's curriculum for the reconstruction task: samples of 1 to {@code maxChunks} chunks ("types"), mixed per stage
 * so that early stages are dominated by the easy one-chunk type and late stages by the hard {@code maxChunks} type.
 *
 * <p>The count of type {@code t} (1-based) in stage {@code s} of {@code S} is
 * {@code round(base * ratio^-(t-1) * ratio^((2t-1-L) * s/(S-1)))}: for each type the counts form a geometric
 * sequence across stages, starting at {@code base * ratio^-(t-1)} and ending at {@code base * ratio^-(L-t)}, so the
 * first stage mirrors the last and the middle stage is uniform.
 *
 * @param maxChunks the hardest type L (chunks per sample)
 * @param stages number of stages S
 * @param ratio geometric ratio between neighbouring types at the first and last stage ({@code > 1})
 * @param base count of the easiest type in the first stage
 */
public record Curriculum(int maxChunks, int stages, double ratio, int base) {
    /** The most samples one pass of the curriculum orders (its stages' counts summed). */
    public static final int MAX_ORDER = 10_000_000;
    /** The most stages. */
    public static final int MAX_STAGES = 1_000;

    /** Validates the fields. */
    public Curriculum {
        if (maxChunks < 1 || stages < 1 || base < 1 || !(ratio > 1)) {
            throw new InvalidRequestException("curriculum needs maxChunks >= 1, stages >= 1, base >= 1 and ratio > 1; "
                    + "got maxChunks " + maxChunks + ", stages " + stages + ", ratio " + ratio + ", base " + base);
        }
        if (maxChunks > TrainingConfig.MAX_CHUNKS || stages > MAX_STAGES) {
            throw new InvalidRequestException("curriculum needs maxChunks <= " + TrainingConfig.MAX_CHUNKS
                    + " and stages <= " + MAX_STAGES + "; got maxChunks " + maxChunks + ", stages " + stages);
        }
        double samples = 0; // the order's length, counted before anything is allocated
        for (int s = 0; s < stages && samples <= MAX_ORDER; s++) {
            for (int t = 1; t <= maxChunks && samples <= MAX_ORDER; t++) {
                samples += count(maxChunks, stages, ratio, base, s, t);
            }
        }
        if (samples > MAX_ORDER) {
            throw new InvalidRequestException("curriculum of maxChunks " + maxChunks + ", stages " + stages + ", ratio "
                    + ratio + " and base " + base + " orders more than " + MAX_ORDER + " samples per pass; use a "
                    + "smaller base, ratio or stage count");
        }
    }

    /**
     * @param maxChunks the hardest type
     * @return 9 stages (as in the paper), ratio 2, base 64
     */
    public static Curriculum standard(int maxChunks) {
        return new Curriculum(maxChunks, 9, 2.0, 64);
    }

    /** @return {@code [stage][type - 1]} sample counts */
    public int[][] mixes() {
        int[][] counts = new int[stages][maxChunks];
        for (int s = 0; s < stages; s++) {
            for (int t = 1; t <= maxChunks; t++) {
                counts[s][t - 1] = (int) count(maxChunks, stages, ratio, base, s, t);
            }
        }
        return counts;
    }

    /** @return the count of type {@code t} (1-based) in stage {@code s} (0-based), by the formula above */
    private static long count(int maxChunks, int stages, double ratio, int base, int s, int t) {
        double f = stages == 1 ? 0 : (double) s / (stages - 1);
        return Math.round(base * Math.pow(ratio, -(t - 1) + (2.0 * t - 1 - maxChunks) * f));
    }

    /**
     * Orders samples stage by stage (shuffled within a stage) and stretches or shrinks that order to {@code samples}
     * entries, keeping each stage's share and mix. The plan is computed per sample, not stored: its size follows the
     * curriculum's mixes, whatever the number of steps.
     *
     * @param samples how many samples the run trains on (steps x batch)
     * @param seed shuffling seed
     * @return the chunk count of sample {@code i}, for {@code i} in {@code [0, samples)}, in training order
     */
    public LongToIntFunction plan(long samples, long seed) {
        Random r = new Random(seed);
        List<Integer> order = new ArrayList<>();
        for (int[] stage : mixes()) {
            List<Integer> s = new ArrayList<>();
            for (int t = 0; t < stage.length; t++) {
                for (int i = 0; i < stage[t]; i++) {
                    s.add(t + 1);
                }
            }
            Collections.shuffle(s, r);
            order.addAll(s);
        }
        int[] types = order.stream().mapToInt(Integer::intValue).toArray();
        long len = types.length;
        return i -> types[(int) (i < Long.MAX_VALUE / len ? i * len / samples // exact where the product fits
                : BigInteger.valueOf(i).multiply(BigInteger.valueOf(len)).divide(BigInteger.valueOf(samples))
                        .longValue())];
    }

    /** @return the mixes as a table, one stage per line */
    public String describe() {
        StringBuilder b = new StringBuilder("stage: counts of 1.." + maxChunks + " chunks\n");
        int[][] m = mixes();
        for (int s = 0; s < m.length; s++) {
            b.append(s + 1).append(": ").append(Arrays.toString(m[s])).append('\n');
        }
        return b.toString();
    }
}
