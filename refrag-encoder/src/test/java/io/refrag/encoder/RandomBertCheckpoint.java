package io.refrag.encoder;

import com.google.gson.JsonObject;
import io.refrag.core.testing.RandomWeights;
import io.refrag.core.checkpoint.SafetensorsWriter;

import java.nio.file.Path;

/**
 * Writes a random-weight BERT or RoBERTa checkpoint folder (config.json, model.safetensors, word-level tokenizer.json
 * adding CLS/SEP) for benchmarks at real shapes (MiniLM, roberta-base) and for tests.
 */
public final class RandomBertCheckpoint {
    private boolean roberta;
    private String prefix = "";
    private int vocabSize = 100;
    private int hiddenSize = 32;
    private int numHiddenLayers = 2;
    private int numAttentionHeads = 4;
    private int intermediateSize = 64;
    private int maxPositionEmbeddings = 64;
    private boolean pooler = true;
    private long seed = 1;

    /** @return a builder for a tiny BERT */
    public static RandomBertCheckpoint builder() {
        return new RandomBertCheckpoint();
    }

    /**
     * @param r write a RoBERTa (type_vocab_size 1, pad 1, positions offset by 2, layer_norm_eps 1e-5)
     * @return this builder
     */
    public RandomBertCheckpoint roberta(boolean r) {
        this.roberta = r;
        return this;
    }

    /**
     * @param p weight-name prefix such as {@code roberta.} or {@code bert.}
     * @return this builder
     */
    public RandomBertCheckpoint prefix(String p) {
        this.prefix = p;
        return this;
    }

    /**
     * @param vocab vocabulary
     * @param hidden width
     * @param layers layers
     * @param heads heads
     * @param intermediate MLP width
     * @param maxPositions position table rows
     * @return this builder
     */
    public RandomBertCheckpoint shape(int vocab, int hidden, int layers, int heads, int intermediate, int maxPositions) {
        this.vocabSize = vocab;
        this.hiddenSize = hidden;
        this.numHiddenLayers = layers;
        this.numAttentionHeads = heads;
        this.intermediateSize = intermediate;
        this.maxPositionEmbeddings = maxPositions;
        return this;
    }

    /**
     * @param withPooler write pooler.dense
     * @return this builder
     */
    public RandomBertCheckpoint pooler(boolean withPooler) {
        this.pooler = withPooler;
        return this;
    }

    /**
     * @param s weight seed
     * @return this builder
     */
    public RandomBertCheckpoint seed(long s) {
        this.seed = s;
        return this;
    }

    /**
     * @param folder target folder
     * @return the folder
     */
    public Path write(Path folder) {
        int typeVocab = roberta ? 1 : 2;
        int pad = roberta ? 1 : 0;
        JsonObject c = new JsonObject();
        c.addProperty("model_type", roberta ? "roberta" : "bert");
        c.addProperty("vocab_size", vocabSize);
        c.addProperty("hidden_size", hiddenSize);
        c.addProperty("num_hidden_layers", numHiddenLayers);
        c.addProperty("num_attention_heads", numAttentionHeads);
        c.addProperty("intermediate_size", intermediateSize);
        c.addProperty("max_position_embeddings", maxPositionEmbeddings);
        c.addProperty("type_vocab_size", typeVocab);
        c.addProperty("layer_norm_eps", roberta ? 1e-5 : 1e-12);
        c.addProperty("pad_token_id", pad);
        c.addProperty("hidden_act", "gelu");
        RandomWeights.writeConfig(folder, c);
        // <s>/[CLS] and </s>/[SEP]: RoBERTa 0 and 2, BERT-like 2 and 3 here
        RandomWeights.writeWordLevelTokenizer(folder, vocabSize, roberta ? 0 : 2, roberta ? 2 : 3);

        RandomWeights r = new RandomWeights(seed);
        SafetensorsWriter w = new SafetensorsWriter();
        int h = hiddenSize;
        double proj = Math.max(1.0 / 256, 1.0 / Math.sqrt(h));
        String e = prefix + "embeddings.";
        w.add(e + "word_embeddings.weight", r.uniform(vocabSize * h, 0.5), vocabSize, h);
        w.add(e + "position_embeddings.weight", r.uniform(maxPositionEmbeddings * h, 0.5), maxPositionEmbeddings, h);
        w.add(e + "token_type_embeddings.weight", r.uniform(typeVocab * h, 0.5), typeVocab, h);
        w.add(e + "LayerNorm.weight", r.around(h, 1f, 0.1), h);
        w.add(e + "LayerNorm.bias", r.uniform(h, 0.1), h);
        for (int i = 0; i < numHiddenLayers; i++) {
            String l = prefix + "encoder.layer." + i + ".";
            for (String m : new String[] {"attention.self.query", "attention.self.key", "attention.self.value",
                    "attention.output.dense"}) {
                w.add(l + m + ".weight", r.uniform(h * h, proj), h, h);
                w.add(l + m + ".bias", r.uniform(h, 0.1), h);
            }
            w.add(l + "attention.output.LayerNorm.weight", r.around(h, 1f, 0.1), h);
            w.add(l + "attention.output.LayerNorm.bias", r.uniform(h, 0.1), h);
            w.add(l + "intermediate.dense.weight", r.uniform(intermediateSize * h, proj), intermediateSize, h);
            w.add(l + "intermediate.dense.bias", r.uniform(intermediateSize, 0.1), intermediateSize);
            w.add(l + "output.dense.weight", r.uniform(h * intermediateSize,
                    Math.max(1.0 / 256, 1.0 / Math.sqrt(intermediateSize))), h, intermediateSize);
            w.add(l + "output.dense.bias", r.uniform(h, 0.1), h);
            w.add(l + "output.LayerNorm.weight", r.around(h, 1f, 0.1), h);
            w.add(l + "output.LayerNorm.bias", r.uniform(h, 0.1), h);
        }
        if (pooler) {
            w.add(prefix + "pooler.dense.weight", r.uniform(h * h, proj), h, h);
            w.add(prefix + "pooler.dense.bias", r.uniform(h, 0.1), h);
        }
        w.write(folder.resolve("model.safetensors"));
        return folder;
    }
}
