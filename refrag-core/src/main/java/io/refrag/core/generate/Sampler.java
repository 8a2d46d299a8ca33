package io.refrag.core.generate;

import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * Picks the next token from host logits: argmax when temperature is 0, otherwise softmax at the temperature over the
 * top-k, then top-p, candidates, drawn with a seeded generator. One sampler per request (not thread-safe).
 */
public final class Sampler {
    private final float temperature;
    private final int topK;
    private final float topP;
    private final SplittableRandom random;

    /** @param options the request's options */
    public Sampler(GenerationOptions options) {
        this.temperature = options.temperature();
        this.topK = options.topK();
        this.topP = options.topP();
        this.random = new SplittableRandom(options.seed());
    }

    /**
     * @param logits {@code [vocab]}
     * @return the chosen token id
     */
    public int sample(float[] logits) {
        if (temperature == 0f) {
            return argmax(logits);
        }
        int[] order = candidates(logits);
        double max = logits[order[0]];
        double[] p = new double[order.length];
        double sum = 0;
        for (int i = 0; i < order.length; i++) {
            p[i] = Math.exp((logits[order[i]] - max) / temperature);
            sum += p[i];
        }
        int n = order.length;
        if (topP < 1f) {
            double cum = 0;
            for (int i = 0; i < order.length; i++) {
                cum += p[i] / sum;
                if (cum >= topP) {
                    n = i + 1;
                    break;
                }
            }
            sum = 0;
            for (int i = 0; i < n; i++) {
                sum += p[i];
            }
        }
        double r = random.nextDouble() * sum;
        for (int i = 0; i < n; i++) {
            r -= p[i];
            if (r < 0) {
                return order[i];
            }
        }
        return order[n - 1];
    }

    /**
     * @param logits values
     * @return index of the largest (first on ties)
     */
    public static int argmax(float[] logits) {
        int best = 0;
        for (int i = 1; i < logits.length; i++) {
            if (logits[i] > logits[best]) {
                best = i;
            }
        }
        return best;
    }

    /** Token ids sorted by descending logit, cut to top-k when set. */
    private int[] candidates(float[] logits) {
        long[] keys = new long[logits.length];
        for (int i = 0; i < logits.length; i++) {
            int bits = Float.floatToIntBits(logits[i]);
            int sortable = bits >= 0 ? bits : bits ^ 0x7FFFFFFF;
            keys[i] = ((long) ~sortable << 32) | i;
        }
        Arrays.sort(keys);
        int n = topK > 0 ? Math.min(topK, logits.length) : logits.length;
        int[] out = new int[n];
        for (int i = 0; i < n; i++) {
            out[i] = (int) keys[i];
        }
        return out;
    }
}
