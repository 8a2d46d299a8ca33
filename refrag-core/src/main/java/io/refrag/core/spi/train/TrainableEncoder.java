package io.refrag.core.spi.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.refrag.core.model.ChunkEncoder;

import java.nio.file.Path;
import java.util.List;

/** A {@link ChunkEncoder} that trainers run under autograd and save (training SPI). */
public interface TrainableEncoder extends ChunkEncoder, Trainable {

    /**
     * Encodes texts as one padded batch, keeping the autograd graph.
     *
     * @param manager owner of the inputs and outputs
     * @param texts chunk texts
     * @return pooled vectors {@code [texts.size(), hiddenSize]} float32
     */
    NDArray encode(NDManager manager, List<String> texts);

    /**
     * Writes the current weights as a Hugging Face checkpoint folder (config and tokenizer copied from the source).
     *
     * @param folder target folder (created)
     */
    void saveCheckpoint(Path folder);
}
