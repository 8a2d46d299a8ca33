package io.refrag.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import io.refrag.core.checkpoint.SafetensorsCheckpoint;
import io.refrag.core.checkpoint.SafetensorsWriter;
import io.refrag.core.exception.ModelLoadException;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * AdamW (Loshchilov &amp; Hutter) over named parameters, with global gradient-norm clipping. The moments live in the
 * optimiser's own manager; parameters are updated in place and their gradients zeroed after each step. Decoupled
 * weight decay applies to parameters of rank 2 and more (matrices, embeddings), not to biases and norm weights.
 *
 * <p>Gradients accumulate across {@code backward} calls until {@link #step} consumes them, so a batch can be
 * back-propagated one sample at a time.
 */
public final class AdamW implements AutoCloseable {
    private final Map<String, NDArray> parameters;
    private final Map<String, Double> learningRateScale;
    private final NDManager manager;
    private final Map<String, NDArray> expAvg = new LinkedHashMap<>();
    private final Map<String, NDArray> expAvgSq = new LinkedHashMap<>();
    private final double beta1;
    private final double beta2;
    private final double epsilon;
    private final double weightDecay;
    private int steps;

    /**
     * Marks every parameter as requiring gradients and allocates zeroed moments; every parameter uses the step's
     * learning rate.
     *
     * @param parameters name to live weight (float32)
     * @param options betas, epsilon and weight decay
     */
    public AdamW(Map<String, NDArray> parameters, TrainingOptions options) {
        this(parameters, Map.of(), options);
    }

    /**
     * Like {@link #AdamW(Map, TrainingOptions)} with per-parameter learning rates.
     *
     * @param parameters name to live weight (float32)
     * @param learningRateScale name to the factor its learning rate is of the step's (absent: 1)
     * @param options betas, epsilon and weight decay
     */
    public AdamW(Map<String, NDArray> parameters, Map<String, Double> learningRateScale, TrainingOptions options) {
        this.parameters = new LinkedHashMap<>(parameters);
        this.learningRateScale = Map.copyOf(learningRateScale);
        this.beta1 = options.beta1();
        this.beta2 = options.beta2();
        this.epsilon = options.epsilon();
        this.weightDecay = options.weightDecay();
        NDArray any = parameters.values().iterator().next();
        this.manager = NDManager.newBaseManager(any.getDevice());
        parameters.forEach((name, p) -> {
            p.setRequiresGradient(true);
            expAvg.put(name, manager.zeros(p.getShape(), p.getDataType()));
            expAvgSq.put(name, manager.zeros(p.getShape(), p.getDataType()));
        });
    }

    /** @return completed optimiser steps */
    public int steps() {
        return steps;
    }

    /**
     * Applies one update from the accumulated gradients, then zeroes them. A non-finite gradient norm skips the update
     * (the gradients are still zeroed) and is returned so the caller can report it.
     *
     * @param learningRate this step's learning rate (times each parameter's scale)
     * @param maxGradNorm clip the global gradient norm to this; 0 disables clipping
     * @return the global gradient norm before clipping
     */
    public double step(double learningRate, double maxGradNorm) {
        try (NDScope scope = new NDScope()) {
            Map<String, NDArray> grads = new LinkedHashMap<>();
            double sumSq = 0;
            for (Map.Entry<String, NDArray> e : parameters.entrySet()) {
                NDArray g = e.getValue().getGradient();
                grads.put(e.getKey(), g);
                sumSq += g.square().sum().getFloat();
            }
            double norm = Math.sqrt(sumSq);
            if (Double.isFinite(norm)) {
                double clip = maxGradNorm > 0 && norm > maxGradNorm ? maxGradNorm / norm : 1.0;
                steps++;
                double bias1 = 1 - Math.pow(beta1, steps);
                double bias2 = 1 - Math.pow(beta2, steps);
                for (Map.Entry<String, NDArray> e : parameters.entrySet()) {
                    // p's storage without autograd: updated in place whatever this thread's grad mode is
                    NDArray p = e.getValue().stopGradient();
                    double lr = learningRate * learningRateScale.getOrDefault(e.getKey(), 1.0);
                    NDArray g = grads.get(e.getKey()).mul((float) clip);
                    NDArray m = expAvg.get(e.getKey()).muli((float) beta1).addi(g.mul((float) (1 - beta1)));
                    NDArray v = expAvgSq.get(e.getKey()).muli((float) beta2).addi(g.square().muli((float) (1 - beta2)));
                    if (weightDecay > 0 && p.getShape().dimension() >= 2) {
                        p.muli((float) (1 - lr * weightDecay));
                    }
                    NDArray denominator = v.div((float) bias2).sqrt().addi((float) epsilon);
                    p.subi(m.div((float) bias1).divi(denominator).muli((float) lr));
                }
            }
            // zeroed by assignment: g - g keeps a NaN or an infinity, and would skip every later step
            grads.values().forEach(g -> g.set(new NDIndex("..."), 0));
            return norm;
        }
    }

    /**
     * Adds the optimiser state to a checkpoint: {@code exp_avg.NAME}, {@code exp_avg_sq.NAME} and the step count in
     * the metadata key {@code adamw.steps}.
     *
     * @param writer the checkpoint being written
     */
    public void writeState(SafetensorsWriter writer) {
        expAvg.forEach((n, t) -> writer.addChecked("exp_avg." + n, t.toFloatArray(), t.getShape().getShape()));
        expAvgSq.forEach((n, t) -> writer.addChecked("exp_avg_sq." + n, t.toFloatArray(), t.getShape().getShape()));
        writer.metadata("adamw.steps", Integer.toString(steps));
    }

    /**
     * Restores state written by {@link #writeState}.
     *
     * @param checkpoint the checkpoint
     * @throws ModelLoadException if a parameter's moments are missing or misshapen
     */
    public void readState(SafetensorsCheckpoint checkpoint) {
        for (String name : parameters.keySet()) {
            restore(checkpoint, "exp_avg." + name, expAvg.get(name));
            restore(checkpoint, "exp_avg_sq." + name, expAvgSq.get(name));
        }
        String s = checkpoint.metadata().get("adamw.steps");
        try {
            steps = Integer.parseInt(s == null ? "" : s.strip());
        } catch (NumberFormatException e) {
            steps = -1;
        }
        if (steps < 0) {
            throw new ModelLoadException("training checkpoint's metadata key adamw.steps must be a whole number >= 0, "
                    + "got '" + s + "'");
        }
    }

    private void restore(SafetensorsCheckpoint checkpoint, String name, NDArray target) {
        if (checkpoint.find(name).isEmpty()) {
            throw new ModelLoadException("training checkpoint lacks optimiser state '" + name
                    + "' (was it written for other parameters?)");
        }
        long[] shape = checkpoint.info(name).shape();
        if (!Arrays.equals(shape, target.getShape().getShape())) {
            throw new ModelLoadException("optimiser state '" + name + "' has shape " + new Shape(shape)
                    + ", the parameter has " + target.getShape());
        }
        target.set(TrainingState.checked(checkpoint, name));
    }

    @Override
    public void close() {
        manager.close();
    }
}
