package io.refrag.train;

/**
 * Linear warm-up to the peak, then cosine decay to {@code peak * minRatio} at the last step.
 *
 * @param peak peak learning rate
 * @param warmupSteps warm-up length
 * @param totalSteps schedule length
 * @param minRatio final fraction of the peak
 */
public record LearningRateSchedule(double peak, int warmupSteps, int totalSteps, double minRatio) {

    /**
     * @param step 0-based step
     * @return the learning rate used by that step
     */
    public double at(int step) {
        if (step < warmupSteps) {
            return peak * (step + 1) / warmupSteps;
        }
        int decaySteps = totalSteps - warmupSteps;
        double progress = decaySteps <= 1 ? 1 : (double) (step - warmupSteps) / (decaySteps - 1);
        double cosine = 0.5 * (1 + Math.cos(Math.PI * Math.min(1, progress)));
        return peak * (minRatio + (1 - minRatio) * cosine);
    }
}
