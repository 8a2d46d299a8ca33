package io.refrag.core.spi.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.refrag.core.lora.LoraConfig;
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

    /**
     * Attaches new LoRA adapters to the layers the config targets; from then on {@link #parameters()} are the
     * adapters' matrices and the base weights stay frozen.
     *
     * @param config rank, alpha, dropout, targets (PEFT's names)
     * @param seed seed of the adapters' initial {@code A}
     */
    void addAdapter(LoraConfig config, long seed);

    /** @return whether LoRA adapters are attached (added, or loaded unmerged) */
    boolean hasAdapter();

    /**
     * Writes the attached adapters as a PEFT folder.
     *
     * @param folder target folder (created)
     * @param baseModel the base model's hub id or folder, as PEFT records it
     */
    void saveAdapter(Path folder, String baseModel);
}
