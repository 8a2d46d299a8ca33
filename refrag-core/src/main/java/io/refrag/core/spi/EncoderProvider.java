package io.refrag.core.spi;

import io.refrag.core.exception.InvalidRequestException;
import io.refrag.core.json.JsonConfig;
import io.refrag.core.model.ChunkEncoder;
import io.refrag.core.model.ModelOptions;
import io.refrag.core.model.Pooling;
import io.refrag.core.spi.train.TrainableEncoder;

import java.nio.file.Path;
import java.util.Set;

/** {@link java.util.ServiceLoader} entry point of a chunk-encoder implementation. */
public interface EncoderProvider {

    /** @return HF {@code model_type} values this provider loads */
    Set<String> modelTypes();

    /**
     * @param folder an HF checkpoint folder
     * @param config its parsed config.json
     * @param options device and precision
     * @param pooling how token states become a chunk vector
     * @return the encoder
     */
    ChunkEncoder load(Path folder, JsonConfig config, ModelOptions options, Pooling pooling);

    /**
     * Loads a checkpoint for the training tasks (weights trainable when {@code options.trainable()}).
     *
     * @param folder the checkpoint folder
     * @param config its parsed {@code config.json}
     * @param options device, precision and trainability
     * @param pooling how token states become a chunk vector
     * @return the encoder
     * @throws InvalidRequestException if this implementation does not support training
     */
    default TrainableEncoder loadTrainable(Path folder, JsonConfig config, ModelOptions options, Pooling pooling) {
        throw new InvalidRequestException("the encoder implementation " + getClass().getName() + " for "
                + modelTypes() + " does not support training");
    }
}
