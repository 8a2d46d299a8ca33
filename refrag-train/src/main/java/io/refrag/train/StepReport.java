package io.refrag.train;

/**
 * Progress after one optimiser step.
 *
 * @param task reconstruct, cpt or policy
 * @param step 1-based step just completed
 * @param totalSteps steps of the run
 * @param loss the step's mean training loss (token NLL in nats; for policy training the PPO objective)
 * @param learningRate learning rate the step used
 * @param gradNorm global gradient norm before clipping (non-finite: the update was skipped)
 * @param detail task-specific progress (curriculum stage, mean reward), possibly empty
 * @param elapsedMillis wall time since the run started
 */
public record StepReport(String task, int step, int totalSteps, double loss, double learningRate, double gradNorm,
        String detail, long elapsedMillis) {

    /** @return one human-readable progress line */
    public String line() {
        return String.format(java.util.Locale.ROOT, "[%s] step %d/%d loss %.4f lr %.2e grad-norm %.3f %s(%.1f s)", task,
                step, totalSteps, loss, learningRate, gradNorm, detail.isEmpty() ? "" : detail + " ",
                elapsedMillis / 1000.0);
    }
}
