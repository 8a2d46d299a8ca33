package io.refrag.decoder.llama;

import com.google.gson.JsonObject;
import io.refrag.core.testing.RandomWeights;
import io.refrag.core.checkpoint.SafetensorsWriter;
import io.refrag.core.checkpoint.TensorDType;

import java.nio.file.Path;

/**
 * Writes a random-weight LLaMA checkpoint folder (config.json, model.safetensors, word-level tokenizer.json) for
 * benchmarks at real shapes and for tests. Not a trained model: its text is meaningless.
 */
public final class RandomLlamaCheckpoint {
    private int vocabSize = 512;
    private int hiddenSize = 32;
    private int intermediateSize = 48;
    private int numHiddenLayers = 2;
    private int numAttentionHeads = 4;
    private int numKeyValueHeads = 2;
    private int maxPositionEmbeddings = 1024;
    private boolean tieWordEmbeddings;
    private boolean attentionBias;
    private JsonObject ropeScaling;
    private TensorDType dtype = TensorDType.F32;
    private long seed = 1;

    /** @return a builder with a tiny default shape (vocab 512, hidden 32, 2 layers, 4 heads / 2 kv heads) */
    public static RandomLlamaCheckpoint builder() {
        return new RandomLlamaCheckpoint();
    }

    /**
     * @param vocab vocabulary size
     * @param hidden hidden size
     * @param intermediate MLP size
     * @param layers decoder layers
     * @param heads query heads
     * @param kvHeads key/value heads
     * @return this builder
     */
    public RandomLlamaCheckpoint shape(int vocab, int hidden, int intermediate, int layers, int heads, int kvHeads) {
        this.vocabSize = vocab;
        this.hiddenSize = hidden;
        this.intermediateSize = intermediate;
        this.numHiddenLayers = layers;
        this.numAttentionHeads = heads;
        this.numKeyValueHeads = kvHeads;
        return this;
    }

    /**
     * @param n context length
     * @return this builder
     */
    public RandomLlamaCheckpoint maxPositions(int n) {
        this.maxPositionEmbeddings = n;
        return this;
    }

    /**
     * @param tied share lm_head with embed_tokens (no lm_head tensor written)
     * @return this builder
     */
    public RandomLlamaCheckpoint tied(boolean tied) {
        this.tieWordEmbeddings = tied;
        return this;
    }

    /**
     * @param bias give q/k/v/o projections biases
     * @return this builder
     */
    public RandomLlamaCheckpoint attentionBias(boolean bias) {
        this.attentionBias = bias;
        return this;
    }

    /**
     * Adds {@code rope_scaling: {rope_type: llama3, ...}}.
     *
     * @param factor scale factor
     * @param originalMax original context length
     * @return this builder
     */
    public RandomLlamaCheckpoint llama3RopeScaling(double factor, int originalMax) {
        JsonObject s = new JsonObject();
        s.addProperty("rope_type", "llama3");
        s.addProperty("factor", factor);
        s.addProperty("low_freq_factor", 1.0);
        s.addProperty("high_freq_factor", 4.0);
        s.addProperty("original_max_position_embeddings", originalMax);
        this.ropeScaling = s;
        return this;
    }

    /**
     * @param type storage type of the weights
     * @return this builder
     */
    public RandomLlamaCheckpoint dtype(TensorDType type) {
        this.dtype = type;
        return this;
    }

    /**
     * @param s weight seed
     * @return this builder
     */
    public RandomLlamaCheckpoint seed(long s) {
        this.seed = s;
        return this;
    }

    /**
     * Writes the folder.
     *
     * @param folder target folder (created)
     * @return the folder
     */
    public Path write(Path folder) {
        int headDim = hiddenSize / numAttentionHeads;
        JsonObject c = new JsonObject();
        c.addProperty("model_type", "llama");
        c.addProperty("hidden_size", hiddenSize);
        c.addProperty("intermediate_size", intermediateSize);
        c.addProperty("num_hidden_layers", numHiddenLayers);
        c.addProperty("num_attention_heads", numAttentionHeads);
        c.addProperty("num_key_value_heads", numKeyValueHeads);
        c.addProperty("head_dim", headDim);
        c.addProperty("vocab_size", vocabSize);
        c.addProperty("max_position_embeddings", maxPositionEmbeddings);
        c.addProperty("rms_norm_eps", 1e-5);
        c.addProperty("rope_theta", 10000.0);
        c.add("rope_scaling", ropeScaling);
        c.addProperty("attention_bias", attentionBias);
        c.addProperty("tie_word_embeddings", tieWordEmbeddings);
        c.addProperty("hidden_act", "silu");
        c.addProperty("bos_token_id", 1);
        c.addProperty("eos_token_id", 2);
        RandomWeights.writeConfig(folder, c);
        RandomWeights.writeWordLevelTokenizer(folder, vocabSize, -1, -1);

        RandomWeights r = new RandomWeights(seed);
        SafetensorsWriter w = new SafetensorsWriter();
        int qDim = numAttentionHeads * headDim;
        int kvDim = numKeyValueHeads * headDim;
        double proj = Math.max(1.0 / 256, 1.0 / Math.sqrt(hiddenSize));
        w.add("model.embed_tokens.weight", dtype, r.uniform(vocabSize * hiddenSize, 0.5), vocabSize, hiddenSize);
        for (int i = 0; i < numHiddenLayers; i++) {
            String l = "model.layers." + i + ".";
            w.add(l + "input_layernorm.weight", dtype, r.around(hiddenSize, 1f, 0.1), hiddenSize);
            w.add(l + "post_attention_layernorm.weight", dtype, r.around(hiddenSize, 1f, 0.1), hiddenSize);
            w.add(l + "self_attn.q_proj.weight", dtype, r.uniform(qDim * hiddenSize, proj), qDim, hiddenSize);
            w.add(l + "self_attn.k_proj.weight", dtype, r.uniform(kvDim * hiddenSize, proj), kvDim, hiddenSize);
            w.add(l + "self_attn.v_proj.weight", dtype, r.uniform(kvDim * hiddenSize, proj), kvDim, hiddenSize);
            w.add(l + "self_attn.o_proj.weight", dtype, r.uniform(hiddenSize * qDim, proj), hiddenSize, qDim);
            if (attentionBias) {
                w.add(l + "self_attn.q_proj.bias", dtype, r.uniform(qDim, 0.1), qDim);
                w.add(l + "self_attn.k_proj.bias", dtype, r.uniform(kvDim, 0.1), kvDim);
                w.add(l + "self_attn.v_proj.bias", dtype, r.uniform(kvDim, 0.1), kvDim);
                w.add(l + "self_attn.o_proj.bias", dtype, r.uniform(hiddenSize, 0.1), hiddenSize);
            }
            w.add(l + "mlp.gate_proj.weight", dtype, r.uniform(intermediateSize * hiddenSize, proj),
                    intermediateSize, hiddenSize);
            w.add(l + "mlp.up_proj.weight", dtype, r.uniform(intermediateSize * hiddenSize, proj),
                    intermediateSize, hiddenSize);
            w.add(l + "mlp.down_proj.weight", dtype,
                    r.uniform(hiddenSize * intermediateSize, Math.max(1.0 / 256, 1.0 / Math.sqrt(intermediateSize))),
                    hiddenSize, intermediateSize);
        }
        w.add("model.norm.weight", dtype, r.around(hiddenSize, 1f, 0.1), hiddenSize);
        if (!tieWordEmbeddings) {
            w.add("lm_head.weight", dtype, r.uniform(vocabSize * hiddenSize, proj), vocabSize, hiddenSize);
        }
        w.write(folder.resolve("model.safetensors"));
        return folder;
    }
}
