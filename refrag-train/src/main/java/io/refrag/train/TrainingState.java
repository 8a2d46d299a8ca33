package io.refrag.train;

import ai.djl.ndarray.NDArray;
import io.refrag.core.checkpoint.AtomicFiles;
import io.refrag.core.checkpoint.SafetensorsCheckpoint;
import io.refrag.core.checkpoint.SafetensorsWriter;
import io.refrag.core.exception.ModelLoadException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import java.util.stream.Stream;

/**
 * A run's resumable state in its output folder ({@value #FILE}): the trained parameters, the AdamW moments and the
 * step, written atomically at every checkpoint, each tensor with its checksum, and validated before a resume.
 */
final class TrainingState {
    static final String FILE = "trainer-state.safetensors";
    private static final Logger LOG = LoggerFactory.getLogger(TrainingState.class);

    private final String task;
    private final Path output;
    private final int steps;

    /**
     * @param task the task's name, written into the state and checked on resume
     * @param output the run's output folder
     * @param steps the run's configured steps (a state beyond them is refused)
     */
    TrainingState(String task, Path output, int steps) {
        this.task = task;
        this.output = output;
        this.steps = steps;
    }

    /**
     * @param step steps done
     * @param params the trained parameters by name
     * @param values their values, already read and checked to be finite
     * @param optimizer whose moments are written too
     */
    void write(int step, Map<String, NDArray> params, Map<String, float[]> values, AdamW optimizer) {
        SafetensorsWriter w = new SafetensorsWriter()
                .metadata("refrag.task", task)
                .metadata("refrag.step", Integer.toString(step));
        params.forEach((n, t) -> w.addChecked("param." + n, values.get(n), t.getShape().getShape()));
        optimizer.writeState(w);
        w.write(output.resolve(FILE));
    }

    /**
     * Loads the state into the parameters and the optimiser, after deleting temporary files a crash left.
     *
     * @return the step to continue from (0 when there is no state yet)
     * @throws ModelLoadException if the state belongs to another task or other parts, or its step or values are bad
     */
    int restore(Map<String, NDArray> params, AdamW optimizer) {
        Path file = output.resolve(FILE);
        removeLeftovers();
        if (!Files.isRegularFile(file)) {
            LOG.info("resume: no {} yet, starting at step 0", file);
            return 0;
        }
        try (SafetensorsCheckpoint c = SafetensorsCheckpoint.openFile(file)) {
            String written = c.metadata().get("refrag.task");
            if (!task.equals(written)) {
                throw new ModelLoadException(file + " was written by the '" + written + "' task, not '" + task + "'");
            }
            int step = stepOf(file, c.metadata().get("refrag.step"));
            for (Map.Entry<String, NDArray> e : params.entrySet()) {
                String name = "param." + e.getKey();
                if (c.find(name).isEmpty()
                        || !Arrays.equals(c.info(name).shape(), e.getValue().getShape().getShape())) {
                    throw new ModelLoadException(file + " has no tensor '" + name + "' of shape "
                            + e.getValue().getShape() + " (written for other parts or settings?)");
                }
                float[] v = checked(c, name);
                for (float x : v) {
                    if (!Float.isFinite(x)) {
                        throw new ModelLoadException(file + ": tensor '" + name + "' holds " + x + "; the state is "
                                + "damaged, delete it to start over");
                    }
                }
                e.getValue().set(v);
            }
            optimizer.readState(c);
            LOG.info("resumed {} from {} at step {}", task, file, step);
            return step;
        }
    }

    /** @return a tensor of the state, checked against its checksum; damage names the remedy */
    static float[] checked(SafetensorsCheckpoint c, String name) {
        try {
            return c.readCheckedFloats(name);
        } catch (ModelLoadException e) {
            throw new ModelLoadException(e.getMessage() + "; the trainer state cannot be resumed, delete "
                    + FILE + " to start over", e);
        }
    }

    private int stepOf(Path file, String text) {
        try {
            int step = Integer.parseInt(text == null ? "" : text.strip());
            if (step >= 0 && step <= steps) {
                return step;
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        throw new ModelLoadException(file + ": refrag.step must be a whole number in [0, " + steps + "] (the run's "
                + "steps), got '" + text + "'");
    }

    /** Deletes temporary files a crash left in the output folder (this project's own only). */
    private void removeLeftovers() {
        if (!Files.isDirectory(output)) {
            return;
        }
        try (Stream<Path> files = Files.list(output)) {
            for (Path f : files.filter(AtomicFiles::isLeftover).toList()) {
                Files.deleteIfExists(f);
            }
        } catch (IOException e) {
            LOG.warn("cannot clean temporary files in {}: {}", output, e.toString());
        }
    }
}
