package io.refrag.core.spi.train;

import ai.djl.ndarray.NDArray;
import io.refrag.core.model.Projector;

import java.nio.file.Path;

/** A {@link Projector} that trainers run under autograd and save (training SPI). */
public interface TrainableProjector extends Projector, Trainable {

    /**
     * @param vectors encoder vectors {@code [n, inputSize]} float32
     * @return projected rows {@code [n, outputSize]} float32, owned by the input's manager
     */
    NDArray forward(NDArray vectors);

    /**
     * Writes the weights atomically in the layout {@code ProjectorProvider.load} reads.
     *
     * @param file target safetensors file
     */
    void save(Path file);
}
