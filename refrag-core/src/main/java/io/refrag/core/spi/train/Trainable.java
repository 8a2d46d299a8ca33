package io.refrag.core.spi.train;

import ai.djl.ndarray.NDArray;
import io.refrag.core.model.ModelOptions;

import java.util.Map;

/**
 * Part of the training SPI (used by {@code io.refrag.train}, not by applications): a component whose weights a
 * trainer can update. Arrays cross this interface only between the library's modules; the trainers' public API takes
 * and returns plain Java types.
 */
public interface Trainable {

    /**
     * The weights the optimiser updates, by stable name (also the names of their optimiser state in training
     * checkpoints). The arrays are the live weights: trainers set {@code requiresGradient} and update them in place.
     *
     * @return name to weight, in a stable order
     * @throws io.refrag.core.exception.InvalidRequestException if the component was not loaded with
     *     {@link ModelOptions#trainable()} or is not float32
     */
    Map<String, NDArray> parameters();
}
