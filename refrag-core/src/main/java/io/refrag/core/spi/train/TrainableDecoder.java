package io.refrag.core.spi.train;

import ai.djl.ndarray.NDArray;
import io.refrag.core.lora.LoraConfig;
import io.refrag.core.model.CausalDecoder;
import io.refrag.core.model.ModelOptions;

import java.nio.file.Path;

/**
 * A {@link CausalDecoder} whose forward pass trainers run under autograd (training SPI). Gradients reach the input
 * embeddings whether or not the decoder's own weights train; {@link #parameters()} needs a decoder loaded with
 * {@link ModelOptions#trainable()}.
 */
public interface TrainableDecoder extends CausalDecoder, Trainable {

    /**
     * @param ids token ids {@code [n]} int32, each in {@code [0, vocab)}
     * @return their {@code embed_tokens} rows {@code [n, hidden]} float32, owned by the ids' manager
     */
    NDArray inputsEmbeds(NDArray ids);

    /**
     * One forward pass without a cache over the whole sequence.
     *
     * @param inputsEmbeds {@code [seq, hidden]} float32
     * @param from first position whose logits are returned
     * @return logits {@code [seq - from, vocab]} float32: row i predicts the token after position {@code from + i}
     */
    NDArray logits(NDArray inputsEmbeds, int from);

    /**
     * Writes the current weights as a Hugging Face checkpoint folder (config, tokenizer and generation config copied
     * from the source folder, weights under their HF names in {@code model.safetensors}).
     *
     * @param folder target folder (created)
     */
    void saveCheckpoint(Path folder);

    /**
     * Attaches new LoRA adapters to the layers the config targets; from then on {@link #parameters()} are the
     * adapters' matrices and the base weights stay frozen.
     *
     * @param config rank, alpha, dropout, targets (PEFT's names: {@code q_proj}, {@code v_proj}, ...)
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
