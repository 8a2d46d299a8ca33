package io.refrag.core.spi;

import io.refrag.core.exception.InvalidRequestException;
import io.refrag.core.json.JsonConfig;
import io.refrag.core.model.CausalDecoder;
import io.refrag.core.model.ModelOptions;
import io.refrag.core.spi.train.TrainableDecoder;

import java.nio.file.Path;
import java.util.Set;

/** {@link java.util.ServiceLoader} entry point of a decoder implementation. */
public interface DecoderProvider {

    /** @return HF {@code model_type} values this provider loads */
    Set<String> modelTypes();

    /**
     * @param folder an HF checkpoint folder
     * @param config its parsed config.json
     * @param options device and precision
     * @return the loaded decoder
     */
    CausalDecoder load(Path folder, JsonConfig config, ModelOptions options);

    /**
     * Loads a checkpoint for the training tasks (weights trainable when {@code options.trainable()}).
     *
     * @param folder the checkpoint folder
     * @param config its parsed {@code config.json}
     * @param options device, precision and trainability
     * @return the decoder
     * @throws InvalidRequestException if this implementation does not support training
     */
    default TrainableDecoder loadTrainable(Path folder, JsonConfig config, ModelOptions options) {
        throw new InvalidRequestException("the decoder implementation " + getClass().getName() + " for "
                + modelTypes() + " does not support training");
    }
}
