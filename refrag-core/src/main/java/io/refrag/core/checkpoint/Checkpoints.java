package io.refrag.core.checkpoint;

import ai.djl.ndarray.NDManager;
import io.refrag.core.model.ModelOptions;
import io.refrag.core.tensor.Devices;

import java.nio.file.Path;

/** What loading any HF model folder shares: a weights manager on the device, the checkpoint, the cap, the clean-up. */
public final class Checkpoints {
    private Checkpoints() {
    }

    /** Builds a model from its weights; the result owns {@code manager} (and whatever else it was given). */
    @FunctionalInterface
    public interface ModelBuilder<T> {
        /**
         * @param weights reads the folder's tensors into {@code manager}, in the requested precision
         * @param manager the new weights manager on the requested device
         * @return the model
         */
        T build(WeightLoader weights, NDManager manager);
    }

    /**
     * Opens the folder's (sharded) safetensors, builds the model, then caps the weights' manager unless the model
     * trains (requests run in sub-managers: nothing may attach to the weights' manager after loading). On failure the
     * manager and {@code owned} are closed before the exception propagates.
     *
     * @param folder the checkpoint folder
     * @param options device, precision and trainability
     * @param owned a resource the model takes over (its tokenizer)
     * @param builder builds the model from the weights
     * @param <T> the model type
     * @return the model
     */
    public static <T> T load(Path folder, ModelOptions options, AutoCloseable owned, ModelBuilder<T> builder) {
        NDManager manager = NDManager.newBaseManager(Devices.resolve(options.device()));
        try (SafetensorsCheckpoint ckpt = SafetensorsCheckpoint.openFolder(folder)) {
            T model = builder.build(new WeightLoader(ckpt, manager, options.precision().dataType()), manager);
            if (!options.trainable()) {
                manager.cap();
            }
            return model;
        } catch (RuntimeException e) {
            manager.close();
            try {
                owned.close();
            } catch (Exception suppressed) {
                e.addSuppressed(suppressed);
            }
            throw e;
        }
    }
}
