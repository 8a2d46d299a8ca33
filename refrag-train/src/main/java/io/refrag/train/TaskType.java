package io.refrag.train;

import io.refrag.core.json.JsonConfig;

import java.util.Locale;

/** REFRAG's three training tasks, named as the CLI, the JSON configs and the resumable state know them. */
public enum TaskType {
    /** Reconstruction with curriculum ({@link ReconstructionTask}). */
    RECONSTRUCT,
    /** Next-paragraph continual pre-training ({@link ContinualPretrainingTask}). */
    CPT,
    /** The RL expansion policy ({@link PolicyTrainingTask}). */
    POLICY;

    /** @return the task's name: {@code reconstruct}, {@code cpt} or {@code policy} */
    public String label() {
        return name().toLowerCase(Locale.ROOT);
    }

    /**
     * @param json the task's JSON config
     * @param base the common settings read from it
     * @return the task, ready to run
     */
    TrainingTask read(JsonConfig json, TrainingConfig base) {
        return switch (this) {
            case RECONSTRUCT -> new ReconstructionTask(ReconstructionConfig.read(json, base));
            case CPT -> new ContinualPretrainingTask(ContinualPretrainingConfig.read(json, base));
            case POLICY -> new PolicyTrainingTask(PolicyTrainingConfig.read(json, base));
        };
    }
}
