package io.refrag.encoder;

import io.refrag.core.exception.ModelLoadException;
import io.refrag.core.json.JsonConfig;

import java.util.Set;

/**
 * The fields of a BERT or RoBERTa {@code config.json} the encoder uses.
 *
 * @param modelType bert, roberta or xlm-roberta
 * @param vocabSize vocabulary size
 * @param hiddenSize width
 * @param numHiddenLayers layers
 * @param numAttentionHeads heads
 * @param intermediateSize MLP width
 * @param maxPositionEmbeddings rows of the position table
 * @param typeVocabSize rows of the token-type table
 * @param layerNormEps LayerNorm epsilon
 * @param padTokenId padding id
 * @param positionOffset first position id: 0 for BERT, {@code pad_token_id + 1} for RoBERTa
 */
public record BertConfig(
        String modelType,
        int vocabSize,
        int hiddenSize,
        int numHiddenLayers,
        int numAttentionHeads,
        int intermediateSize,
        int maxPositionEmbeddings,
        int typeVocabSize,
        float layerNormEps,
        int padTokenId,
        int positionOffset) {

    /** model_type values handled here. */
    public static final Set<String> MODEL_TYPES = Set.of("bert", "roberta", "xlm-roberta");

    /** Validates cross-field constraints. */
    public BertConfig {
        for (int v : new int[] {vocabSize, hiddenSize, numHiddenLayers, numAttentionHeads, intermediateSize,
            maxPositionEmbeddings}) {
            if (v <= 0) {
                throw new ModelLoadException("encoder config: vocab_size, hidden_size, num_hidden_layers, "
                        + "num_attention_heads, intermediate_size and max_position_embeddings must be > 0, got " + v);
            }
        }
        if (!(layerNormEps > 0) || !Float.isFinite(layerNormEps)) {
            throw new ModelLoadException("encoder config: layer_norm_eps must be a finite number > 0, got "
                    + layerNormEps);
        }
        if (hiddenSize % numAttentionHeads != 0) {
            throw new ModelLoadException("hidden_size (" + hiddenSize + ") must be a multiple of num_attention_heads ("
                    + numAttentionHeads + ")");
        }
        if (maxPositionEmbeddings - positionOffset < 2) {
            throw new ModelLoadException("max_position_embeddings " + maxPositionEmbeddings
                    + " leaves no room for tokens after the position offset " + positionOffset);
        }
    }

    /**
     * @param c a parsed config.json
     * @return the validated config
     */
    public static BertConfig from(JsonConfig c) {
        String type = c.requireString("model_type");
        if (!MODEL_TYPES.contains(type)) {
            throw new ModelLoadException(c.source() + ": model_type '" + type + "' is not an encoder; supported: "
                    + new java.util.TreeSet<>(MODEL_TYPES));
        }
        String act = c.optString("hidden_act").orElse("gelu");
        if (!act.equals("gelu")) {
            throw new ModelLoadException(c.source() + ": hidden_act '" + act + "' is not supported; supported: gelu");
        }
        String pos = c.optString("position_embedding_type").orElse("absolute");
        if (!pos.equals("absolute")) {
            throw new ModelLoadException(c.source() + ": position_embedding_type '" + pos
                    + "' is not supported; supported: absolute");
        }
        boolean roberta = !type.equals("bert");
        int pad = c.optInt("pad_token_id").orElse(roberta ? 1 : 0);
        return new BertConfig(
                type,
                c.requireInt("vocab_size"),
                c.requireInt("hidden_size"),
                c.requireInt("num_hidden_layers"),
                c.requireInt("num_attention_heads"),
                c.requireInt("intermediate_size"),
                c.requireInt("max_position_embeddings"),
                c.optInt("type_vocab_size").orElse(2),
                (float) c.optDouble("layer_norm_eps", 1e-12),
                pad,
                roberta ? pad + 1 : 0);
    }

    /** @return per-head width */
    public int headDim() {
        return hiddenSize / numAttentionHeads;
    }

    /** @return most tokens per text, special tokens included */
    public int maxTokens() {
        return maxPositionEmbeddings - positionOffset;
    }
}
