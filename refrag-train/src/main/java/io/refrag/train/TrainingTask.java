package io.refrag.train;

import io.refrag.core.exception.InvalidRequestException;
import io.refrag.core.exception.ModelLoadException;
import io.refrag.core.json.Enums;
import io.refrag.core.json.JsonConfig;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

/**
 * One of REFRAG's training tasks: it loads its parts, evaluates held-out NLL before and after, trains with AdamW and
 * writes a folder that {@code Refrag.load} serves directly.
 *
 * <p>Training uses DJL autograd, of which PyTorch allows one collector per JVM at a time: run one task at a time
 * (serving in parallel is fine).
 */
public interface TrainingTask {
    /** The tasks' names, as the CLI and the state file know them. */
    List<String> NAMES = Arrays.stream(TaskType.values()).map(TaskType::label).toList();

    /** @return the task's name */
    String name();

    /**
     * Trains, resuming from the output folder's checkpoint when the config asks, and exports.
     *
     * @param listener progress
     * @return the held-out NLLs and the output folder
     */
    TrainingResult run(TrainingListener listener);

    /**
     * Reads a task's JSON config: the common keys ({@link TrainingConfig#read}) and the task's own.
     *
     * @param name one of {@link #NAMES}
     * @param file the JSON file; relative paths resolve against its folder
     * @return the task, ready to run
     * @throws InvalidRequestException for an unknown task, a missing or unreadable file or a bad value
     */
    static TrainingTask read(String name, Path file) {
        TaskType type = Enums.parse(TaskType.class, name, "training task");
        JsonConfig json;
        try {
            json = JsonConfig.readFile(file);
        } catch (ModelLoadException e) {
            throw new InvalidRequestException("cannot read training config: " + e.getMessage(), e);
        }
        return type.read(json, TrainingConfig.read(json));
    }
}
