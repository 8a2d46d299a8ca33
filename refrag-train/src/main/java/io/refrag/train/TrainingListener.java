package io.refrag.train;

/** Receives progress from a training run (progress bars, logging, metrics); called on the training thread. */
@FunctionalInterface
public interface TrainingListener {

    /** @param report the step just completed */
    void onStep(StepReport report);

    /**
     * Called once before training and once after, with the held-out evaluation of the current weights.
     *
     * @param label what was measured (for example {@code before} or {@code after})
     * @param heldOutNll mean held-out token NLL in nats
     */
    default void onEvaluation(String label, double heldOutNll) {
    }

    /** @return a listener that ignores everything */
    static TrainingListener none() {
        return r -> {
        };
    }
}
