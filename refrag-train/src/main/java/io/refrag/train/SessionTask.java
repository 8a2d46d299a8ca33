package io.refrag.train;

import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.function.DoubleSupplier;

/**
 * The frame every training task runs in: open the session, measure the baselines and the held-out NLL before
 * training, train, measure it after, close and report. The tasks fill in what they measure and how they train.
 */
abstract class SessionTask implements TrainingTask {
    private final String name;
    private final TrainingConfig base;
    private final Set<Part> trains;
    private final double servedFraction;

    /**
     * @param name the task's name
     * @param base what every task needs
     * @param trains the parts that train
     * @param servedFraction the expansion fraction the exported {@code refrag.json} serves with
     */
    SessionTask(String name, TrainingConfig base, Set<Part> trains, double servedFraction) {
        this.name = name;
        this.base = base;
        this.trains = EnumSet.copyOf(trains);
        this.servedFraction = servedFraction;
    }

    @Override
    public final String name() {
        return name;
    }

    @Override
    public final TrainingResult run(TrainingListener listener) {
        long t0 = System.nanoTime();
        try (TrainingSession s = TrainingSession.open(name, base, trains, servedFraction)) {
            Map<String, Double> nll = new LinkedHashMap<>();
            DoubleSupplier heldOut = evaluation(s, nll);
            nll.put("before", heldOut.getAsDouble());
            listener.onEvaluation("before", nll.get("before"));
            double last = train(s, listener);
            nll.put("after", heldOut.getAsDouble());
            listener.onEvaluation("after", nll.get("after"));
            return new TrainingResult(name, base.options().steps(), last, nll, base.output(),
                    (System.nanoTime() - t0) / 1_000_000);
        }
    }

    /**
     * Draws the fixed held-out samples and measures the task's baselines.
     *
     * @param s the session
     * @param baselines receives the baselines' held-out NLLs by name
     * @return the task's held-out NLL on those samples, measured before and after training
     */
    abstract DoubleSupplier evaluation(TrainingSession s, Map<String, Double> baselines);

    /**
     * @param s the session
     * @param listener progress
     * @return the last step's training loss
     */
    abstract double train(TrainingSession s, TrainingListener listener);
}
