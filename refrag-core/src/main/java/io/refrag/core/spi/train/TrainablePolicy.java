package io.refrag.core.spi.train;

import ai.djl.ndarray.NDArray;
import io.refrag.core.model.ExpansionPolicy;

import java.nio.file.Path;

/** An {@link ExpansionPolicy} with a network that scores chunks, trained by reinforcement learning (training SPI). */
public interface TrainablePolicy extends ExpansionPolicy, Trainable {

    /** @return the chunk-embedding width it accepts */
    int inputSize();

    /**
     * @param chunkEmbeddings projected chunk embeddings {@code [chunks, inputSize]} float32
     * @return one logit per chunk {@code [chunks]}; expansion is sampled from their softmax without replacement
     */
    NDArray logits(NDArray chunkEmbeddings);

    /**
     * Writes the weights atomically in the layout the {@code learned} policy loads.
     *
     * @param file target safetensors file
     */
    void save(Path file);
}
