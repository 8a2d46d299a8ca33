package io.refrag.core.generate;

import io.refrag.core.exception.InvalidRequestException;

import java.util.Arrays;
import java.util.List;

/**
 * Sampling and stopping options of one generation. Immutable; build with {@link #builder()}.
 *
 * <p>Temperature 0 means greedy decoding. {@code maxNewTokens} is the generation budget, independent of the decoder's
 * context length.
 */
public final class GenerationOptions {
    private final int maxNewTokens;
    private final float temperature;
    private final int topK;
    private final float topP;
    private final long seed;
    private final int[] stopTokenIds;
    private final List<String> stopSequences;
    private final TokenListener listener;

    private GenerationOptions(Builder b) {
        this.maxNewTokens = b.maxNewTokens;
        this.temperature = b.temperature;
        this.topK = b.topK;
        this.topP = b.topP;
        this.seed = b.seed;
        this.stopTokenIds = b.stopTokenIds;
        this.stopSequences = b.stopSequences;
        this.listener = b.listener;
    }

    /** @return a builder with defaults: 64 new tokens, greedy, seed 0, stop at the decoder's EOS */
    public static Builder builder() {
        return new Builder();
    }

    /** @return defaults */
    public static GenerationOptions defaults() {
        return builder().build();
    }

    /** @return most tokens to generate */
    public int maxNewTokens() {
        return maxNewTokens;
    }

    /** @return softmax temperature; 0 = greedy */
    public float temperature() {
        return temperature;
    }

    /** @return keep only the k most likely tokens; 0 = off */
    public int topK() {
        return topK;
    }

    /** @return nucleus mass; 1 = off */
    public float topP() {
        return topP;
    }

    /** @return sampling seed */
    public long seed() {
        return seed;
    }

    /** @return stop token ids, or null for the decoder's EOS ids */
    public int[] stopTokenIds() {
        return stopTokenIds == null ? null : stopTokenIds.clone();
    }

    /** @return texts that end generation when the output contains one; the output stops before it */
    public List<String> stopSequences() {
        return stopSequences;
    }

    /** @return streaming callback, or null */
    public TokenListener listener() {
        return listener;
    }

    /** @return a builder initialised from these options */
    public Builder toBuilder() {
        Builder b = new Builder();
        b.maxNewTokens = maxNewTokens;
        b.temperature = temperature;
        b.topK = topK;
        b.topP = topP;
        b.seed = seed;
        b.stopTokenIds = stopTokenIds;
        b.stopSequences = stopSequences;
        b.listener = listener;
        return b;
    }

    @Override
    public String toString() {
        return "GenerationOptions{maxNewTokens=" + maxNewTokens + ", temperature=" + temperature + ", topK=" + topK
                + ", topP=" + topP + ", seed=" + seed + ", stopTokenIds="
                + (stopTokenIds == null ? "eos" : Arrays.toString(stopTokenIds)) + ", stopSequences=" + stopSequences
                + "}";
    }

    /** Builder; every setter validates its argument. */
    public static final class Builder {
        private int maxNewTokens = 64;
        private float temperature;
        private int topK;
        private float topP = 1f;
        private long seed;
        private int[] stopTokenIds;
        private List<String> stopSequences = List.of();
        private TokenListener listener;

        private Builder() {
        }

        /**
         * @param n most tokens to generate, at least 1
         * @return this builder
         */
        public Builder optMaxNewTokens(int n) {
            if (n < 1) {
                throw new InvalidRequestException("maxNewTokens must be >= 1, got " + n);
            }
            this.maxNewTokens = n;
            return this;
        }

        /**
         * @param t temperature, &gt;= 0 and finite (0 = greedy)
         * @return this builder
         */
        public Builder optTemperature(float t) {
            if (!(t >= 0f) || Float.isInfinite(t)) {
                throw new InvalidRequestException("temperature must be a finite number >= 0 (0 = greedy), got " + t);
            }
            this.temperature = t;
            return this;
        }

        /**
         * @param k top-k, &gt;= 0 (0 = off)
         * @return this builder
         */
        public Builder optTopK(int k) {
            if (k < 0) {
                throw new InvalidRequestException("topK must be >= 0 (0 = off), got " + k);
            }
            this.topK = k;
            return this;
        }

        /**
         * @param p nucleus mass in (0, 1] (1 = off)
         * @return this builder
         */
        public Builder optTopP(float p) {
            if (!(p > 0f && p <= 1f)) {
                throw new InvalidRequestException("topP must be in (0, 1] (1 = off), got " + p);
            }
            this.topP = p;
            return this;
        }

        /**
         * @param s sampling seed
         * @return this builder
         */
        public Builder optSeed(long s) {
            this.seed = s;
            return this;
        }

        /**
         * @param ids stop token ids (empty = never stop on a token); default is the decoder's EOS
         * @return this builder
         */
        public Builder optStopTokenIds(int... ids) {
            this.stopTokenIds = ids.clone();
            return this;
        }

        /**
         * @param sequences texts that end generation (none empty); the output and the stream stop before the first
         *     one that appears
         * @return this builder
         */
        public Builder optStopSequences(List<String> sequences) {
            for (String s : sequences) {
                if (s == null || s.isEmpty()) {
                    throw new InvalidRequestException("stop sequences must be non-empty texts, got " + sequences);
                }
            }
            this.stopSequences = List.copyOf(sequences);
            return this;
        }

        /**
         * @param l streaming callback
         * @return this builder
         */
        public Builder optListener(TokenListener l) {
            this.listener = l;
            return this;
        }

        /** @return the options */
        public GenerationOptions build() {
            return new GenerationOptions(this);
        }
    }
}
