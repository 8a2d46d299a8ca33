package io.refrag.train;

import io.refrag.core.exception.InvalidRequestException;

/**
 * Optimiser and loop settings shared by every training task: AdamW, linear warm-up then cosine decay, global
 * gradient-norm clipping, a seeded data order and periodic checkpoints.
 *
 * @param steps optimiser steps
 * @param batchSize samples per step (their gradients are accumulated)
 * @param learningRate peak learning rate (projector and policy)
 * @param encoderLearningRate peak learning rate of the encoder when it trains
 * @param decoderLearningRate peak learning rate of the decoder when it trains
 * @param weightDecay AdamW decoupled weight decay (applied to matrices, not to biases and norm weights)
 * @param beta1 AdamW first-moment decay
 * @param beta2 AdamW second-moment decay
 * @param epsilon AdamW denominator epsilon
 * @param warmupSteps steps of linear warm-up
 * @param minLearningRateRatio final learning rate as a fraction of the peak
 * @param maxGradNorm clip the global gradient norm to this (0 disables clipping)
 * @param seed seed of the data order, sampling and initialisation
 * @param checkpointEvery write a resumable checkpoint every this many steps (0: only at the end)
 */
public record TrainingOptions(int steps, int batchSize, double learningRate, double encoderLearningRate,
        double decoderLearningRate, double weightDecay, double beta1, double beta2, double epsilon, int warmupSteps,
        double minLearningRateRatio, double maxGradNorm, long seed, int checkpointEvery) {

    /** The most samples one step holds. */
    public static final int MAX_BATCH_SIZE = 65_536;

    /** Validates every field; messages name the field and the allowed range. */
    public TrainingOptions {
        require(steps >= 1, "steps must be >= 1, got " + steps);
        require(batchSize >= 1 && batchSize <= MAX_BATCH_SIZE, "batchSize must be in [1, " + MAX_BATCH_SIZE
                + "] (a step holds its samples), got " + batchSize);
        require(learningRate > 0 && Double.isFinite(learningRate), "learningRate must be > 0, got " + learningRate);
        require(encoderLearningRate > 0 && Double.isFinite(encoderLearningRate), "encoderLearningRate must be > 0, got "
                + encoderLearningRate);
        require(decoderLearningRate > 0 && Double.isFinite(decoderLearningRate), "decoderLearningRate must be > 0, got "
                + decoderLearningRate);
        require(weightDecay >= 0, "weightDecay must be >= 0, got " + weightDecay);
        require(beta1 >= 0 && beta1 < 1, "beta1 must be in [0, 1), got " + beta1);
        require(beta2 >= 0 && beta2 < 1, "beta2 must be in [0, 1), got " + beta2);
        require(epsilon > 0, "epsilon must be > 0, got " + epsilon);
        require(warmupSteps >= 0 && warmupSteps <= steps, "warmupSteps must be in [0, steps=" + steps + "], got "
                + warmupSteps);
        require(minLearningRateRatio >= 0 && minLearningRateRatio <= 1, "minLearningRateRatio must be in [0, 1], got "
                + minLearningRateRatio);
        require(maxGradNorm >= 0, "maxGradNorm must be >= 0 (0 disables clipping), got " + maxGradNorm);
        require(checkpointEvery >= 0, "checkpointEvery must be >= 0 (0: only at the end), got " + checkpointEvery);
    }

    private static void require(boolean ok, String message) {
        if (!ok) {
            throw new InvalidRequestException("training option: " + message);
        }
    }

    /** @return a builder with the defaults: 200 steps, batch 8, lr 1e-3, wd 0.01, betas 0.9/0.999, 10 warm-up steps */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * @return a builder starting from these options; part learning rates equal to the learning rate keep following it
     */
    public Builder toBuilder() {
        Builder b = new Builder();
        b.steps = steps;
        b.batchSize = batchSize;
        b.learningRate = learningRate;
        b.encoderLearningRate = encoderLearningRate == learningRate ? null : encoderLearningRate;
        b.decoderLearningRate = decoderLearningRate == learningRate ? null : decoderLearningRate;
        b.weightDecay = weightDecay;
        b.beta1 = beta1;
        b.beta2 = beta2;
        b.epsilon = epsilon;
        b.warmupSteps = warmupSteps;
        b.minLearningRateRatio = minLearningRateRatio;
        b.maxGradNorm = maxGradNorm;
        b.seed = seed;
        b.checkpointEvery = checkpointEvery;
        return b;
    }

    /** @return the learning-rate schedule these options describe */
    public LearningRateSchedule schedule() {
        return new LearningRateSchedule(learningRate, warmupSteps, steps, minLearningRateRatio);
    }

    /** Builder of {@link TrainingOptions}. */
    public static final class Builder {
        private int steps = 200;
        private int batchSize = 8;
        private double learningRate = 1e-3;
        private Double encoderLearningRate;
        private Double decoderLearningRate;
        private double weightDecay = 0.01;
        private double beta1 = 0.9;
        private double beta2 = 0.999;
        private double epsilon = 1e-8;
        private int warmupSteps = 10;
        private double minLearningRateRatio = 0.1;
        private double maxGradNorm = 1.0;
        private long seed;
        private int checkpointEvery;

        private Builder() {
        }

        /**
         * @param v optimiser steps
         * @return this
         */
        public Builder optSteps(int v) {
            steps = v;
            return this;
        }

        /**
         * @param v samples per step
         * @return this
         */
        public Builder optBatchSize(int v) {
            batchSize = v;
            return this;
        }

        /**
         * @param v peak learning rate
         * @return this
         */
        public Builder optLearningRate(double v) {
            learningRate = v;
            return this;
        }

        /**
         * @param v peak learning rate of the encoder (default: the learning rate); pretrained parts usually want a
         *     smaller one than the freshly initialised projector
         * @return this
         */
        public Builder optEncoderLearningRate(double v) {
            encoderLearningRate = v;
            return this;
        }

        /**
         * @param v peak learning rate of the decoder (default: the learning rate)
         * @return this
         */
        public Builder optDecoderLearningRate(double v) {
            decoderLearningRate = v;
            return this;
        }

        /**
         * @param v decoupled weight decay
         * @return this
         */
        public Builder optWeightDecay(double v) {
            weightDecay = v;
            return this;
        }

        /**
         * @param b1 first-moment decay
         * @param b2 second-moment decay
         * @return this
         */
        public Builder optBetas(double b1, double b2) {
            beta1 = b1;
            beta2 = b2;
            return this;
        }

        /**
         * @param v denominator epsilon
         * @return this
         */
        public Builder optEpsilon(double v) {
            epsilon = v;
            return this;
        }

        /**
         * @param v warm-up steps
         * @return this
         */
        public Builder optWarmupSteps(int v) {
            warmupSteps = v;
            return this;
        }

        /**
         * @param v final learning rate as a fraction of the peak
         * @return this
         */
        public Builder optMinLearningRateRatio(double v) {
            minLearningRateRatio = v;
            return this;
        }

        /**
         * @param v global gradient-norm limit, 0 for none
         * @return this
         */
        public Builder optMaxGradNorm(double v) {
            maxGradNorm = v;
            return this;
        }

        /**
         * @param v seed
         * @return this
         */
        public Builder optSeed(long v) {
            seed = v;
            return this;
        }

        /**
         * @param v checkpoint interval in steps, 0 for only at the end
         * @return this
         */
        public Builder optCheckpointEvery(int v) {
            checkpointEvery = v;
            return this;
        }

        /** @return the validated options */
        public TrainingOptions build() {
            return new TrainingOptions(steps, batchSize, learningRate,
                    encoderLearningRate == null ? learningRate : encoderLearningRate,
                    decoderLearningRate == null ? learningRate : decoderLearningRate, weightDecay, beta1, beta2,
                    epsilon, Math.min(warmupSteps, steps), minLearningRateRatio, maxGradNorm, seed, checkpointEvery);
        }
    }
}
