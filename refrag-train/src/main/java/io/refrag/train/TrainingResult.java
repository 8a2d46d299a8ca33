package io.refrag.train;

import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * The outcome of a training run.
 *
 * @param task reconstruct, cpt or policy
 * @param steps optimiser steps of the run
 * @param finalLoss the last step's training loss
 * @param heldOutNll mean held-out token NLL (nats) by label, in insertion order: {@code before} and {@code after}
 *     training, plus task baselines ({@code no-context}, {@code full-context}, {@code random})
 * @param output the folder holding {@code refrag.json} and the trained parts ({@code Refrag.load} reads it)
 * @param millis wall time of the whole run, evaluations included
 */
public record TrainingResult(String task, int steps, double finalLoss, Map<String, Double> heldOutNll, Path output,
        long millis) {

    /** @return one line: the task, steps and every held-out NLL */
    public String summary() {
        return String.format(Locale.ROOT, "%s: %d steps in %.1f s, final loss %.4f, held-out NLL %s", task, steps,
                millis / 1000.0, finalLoss, heldOutNll.entrySet().stream()
                        .map(e -> String.format(Locale.ROOT, "%s=%.4f", e.getKey(), e.getValue()))
                        .collect(Collectors.joining(", ")));
    }
}
