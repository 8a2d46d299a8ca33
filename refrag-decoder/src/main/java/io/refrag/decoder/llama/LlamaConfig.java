package io.refrag.decoder.llama;

import io.refrag.core.exception.ModelLoadException;
import io.refrag.core.json.JsonConfig;

/**
 * The fields of a LLaMA {@code config.json} the model uses, validated.
 *
 * @param hiddenSize model width
 * @param intermediateSize MLP width
 * @param numHiddenLayers decoder layers
 * @param numAttentionHeads query heads
 * @param numKeyValueHeads key/value heads (GQA when fewer than query heads)
 * @param headDim per-head width
 * @param vocabSize vocabulary size
 * @param maxPositionEmbeddings context length
 * @param rmsNormEps RMSNorm epsilon
 * @param ropeTheta RoPE base
 * @param ropeScaling RoPE scaling, or null
 * @param attentionBias q/k/v/o projections carry biases
 * @param mlpBias MLP projections carry biases
 * @param tieWordEmbeddings lm_head shares embed_tokens
 * @param bosTokenId BOS id or -1
 * @param eosTokenIds EOS ids
 */
public record LlamaConfig(
        int hiddenSize,
        int intermediateSize,
        int numHiddenLayers,
        int numAttentionHeads,
        int numKeyValueHeads,
        int headDim,
        int vocabSize,
        int maxPositionEmbeddings,
        float rmsNormEps,
        double ropeTheta,
        RopeScaling ropeScaling,
        boolean attentionBias,
        boolean mlpBias,
        boolean tieWordEmbeddings,
        int bosTokenId,
        int[] eosTokenIds) {

    /**
     * RoPE scaling ({@code rope_scaling}): {@code llama3} or {@code linear}.
     *
     * @param type {@code llama3} or {@code linear}
     * @param factor scale factor
     * @param lowFreqFactor llama3 low-frequency factor
     * @param highFreqFactor llama3 high-frequency factor
     * @param originalMaxPositionEmbeddings llama3 original context length
     */
    public record RopeScaling(
            String type, double factor, double lowFreqFactor, double highFreqFactor, int originalMaxPositionEmbeddings) {
    }

    /** Validates cross-field constraints. */
    public LlamaConfig {
        positive("hidden_size", hiddenSize);
        positive("intermediate_size", intermediateSize);
        positive("num_hidden_layers", numHiddenLayers);
        positive("num_attention_heads", numAttentionHeads);
        positive("num_key_value_heads", numKeyValueHeads);
        positive("head_dim", headDim);
        positive("vocab_size", vocabSize);
        positive("max_position_embeddings", maxPositionEmbeddings);
        if (numAttentionHeads % numKeyValueHeads != 0) {
            throw new ModelLoadException("num_attention_heads (" + numAttentionHeads
                    + ") must be a multiple of num_key_value_heads (" + numKeyValueHeads + ")");
        }
        if (headDim % 2 != 0) {
            throw new ModelLoadException("head_dim must be even for RoPE, got " + headDim);
        }
        if (!(rmsNormEps > 0) || !Float.isFinite(rmsNormEps)) {
            throw new ModelLoadException("config field 'rms_norm_eps' must be a finite number > 0, got " + rmsNormEps);
        }
    }

    private static void positive(String name, int v) {
        if (v <= 0) {
            throw new ModelLoadException("config field '" + name + "' must be > 0, got " + v);
        }
    }

    /**
     * @param c a parsed config.json with {@code model_type: llama}
     * @return the validated config
     */
    public static LlamaConfig from(JsonConfig c) {
        String act = c.optString("hidden_act").orElse("silu");
        if (!act.equals("silu")) {
            throw new ModelLoadException(c.source() + ": hidden_act '" + act + "' is not supported; LLaMA uses silu");
        }
        int hidden = c.requireInt("hidden_size");
        int heads = c.requireInt("num_attention_heads");
        int[] eos = c.optIntList("eos_token_id");
        return new LlamaConfig(
                hidden,
                c.requireInt("intermediate_size"),
                c.requireInt("num_hidden_layers"),
                heads,
                c.optInt("num_key_value_heads").orElse(heads),
                c.optInt("head_dim").orElse(heads > 0 ? hidden / heads : 0),
                c.requireInt("vocab_size"),
                c.optInt("max_position_embeddings").orElse(2048),
                (float) c.optDouble("rms_norm_eps", 1e-6),
                c.optDouble("rope_theta", 10000.0),
                c.optObject("rope_scaling").map(LlamaConfig::ropeScaling).orElse(null),
                c.optBoolean("attention_bias", false),
                c.optBoolean("mlp_bias", false),
                c.optBoolean("tie_word_embeddings", false),
                c.optInt("bos_token_id").orElse(-1),
                eos);
    }

    private static RopeScaling ropeScaling(JsonConfig r) {
        String type = r.optString("rope_type").or(() -> r.optString("type")).orElse("default");
        return switch (type) {
            case "default" -> null;
            case "linear" -> new RopeScaling(type, requirePositive(r, "factor"), 0, 0, 0);
            case "llama3" -> new RopeScaling(type, requirePositive(r, "factor"),
                    r.optDouble("low_freq_factor", 1.0), r.optDouble("high_freq_factor", 4.0),
                    r.requireInt("original_max_position_embeddings"));
            default -> throw new ModelLoadException(r.source() + ": rope_scaling type '" + type
                    + "' is not supported; supported: default, linear, llama3");
        };
    }

    private static double requirePositive(JsonConfig r, String key) {
        double v = r.optDouble(key, Double.NaN);
        if (!(v > 0)) {
            throw new ModelLoadException(r.source() + ": rope_scaling." + key + " must be > 0, got " + v);
        }
        return v;
    }

    /** @return query heads per key/value head */
    public int numKeyValueGroups() {
        return numAttentionHeads / numKeyValueHeads;
    }
}
