package io.refrag.core.spi;

import io.refrag.core.exception.InvalidRequestException;
import io.refrag.core.model.ModelOptions;
import io.refrag.core.model.Projector;
import io.refrag.core.spi.train.TrainableProjector;

import java.nio.file.Path;

/** {@link java.util.ServiceLoader} entry point that loads or creates projection layers. */
public interface ProjectorProvider {

    /**
     * Loads a projector, checking the file's shapes against the sizes it must map between before reading any data.
     *
     * @param file a projector safetensors file
     * @param inputSize encoder hidden size the projector must accept
     * @param outputSize decoder hidden size it must produce
     * @param options device and precision
     * @return the projector
     */
    Projector load(Path file, int inputSize, int outputSize, ModelOptions options);

    /**
     * Creates an untrained, deterministically initialised 2-layer MLP projector (a warning is logged).
     *
     * @param inputSize encoder hidden size
     * @param outputSize decoder hidden size
     * @param seed initialisation seed
     * @param options device and precision
     * @return the projector
     */
    Projector createUntrained(int inputSize, int outputSize, long seed, ModelOptions options);

    /**
     * Loads trained weights for further training, checking them as {@link #load} does.
     *
     * @param file the safetensors file
     * @param inputSize encoder hidden size
     * @param outputSize decoder hidden size
     * @param options device
     * @return the projector
     * @throws InvalidRequestException if this implementation does not support training
     */
    default TrainableProjector loadTrainable(Path file, int inputSize, int outputSize, ModelOptions options) {
        throw new InvalidRequestException("the projector implementation " + getClass().getName()
                + " does not support training");
    }

    /**
     * Creates a seeded, untrained projector to train.
     *
     * @param inputSize encoder hidden size
     * @param outputSize decoder hidden size
     * @param seed initialisation seed
     * @param options device
     * @return the projector
     * @throws InvalidRequestException if this implementation does not support training
     */
    default TrainableProjector createTrainable(int inputSize, int outputSize, long seed, ModelOptions options) {
        throw new InvalidRequestException("the projector implementation " + getClass().getName()
                + " does not support training");
    }
}
