package io.refrag.encoder;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.ndarray.types.SparseFormat;
import ai.djl.nn.Activation;
import ai.djl.nn.core.Linear;
import io.refrag.core.checkpoint.NamedWeights;
import io.refrag.core.checkpoint.WeightLoader;
import io.refrag.core.exception.ModelLoadException;
import io.refrag.core.lora.LoraAdapter;
import io.refrag.core.model.Pooling;
import io.refrag.core.tensor.PackedLinear;
import io.refrag.core.tensor.Tensors;

import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * HF {@code BertModel} / {@code RobertaModel}: embeddings (word + absolute position + token type 0, LayerNorm), post-norm
 * encoder layers, optional pooler. The weights are immutable (LoRA adapters are merged as they load, or attached
 * beside them with {@link #attach}); runs batched {@code [batch, seq]} inputs with an attention mask.
 */
public final class BertModel {
    /** Added to masked float32 attention scores. */
    private static final float MASKED = -1e30f;
    /** The fused query|key|value modules, relative to a layer. */
    private static final String[] QKV = {"attention.self.query", "attention.self.key", "attention.self.value"};

    private final BertConfig config;
    private final DataType computeType;
    private final BertEmbeddings embeddings;
    private final BertLayer[] layers;
    private final NDArray poolerDense; // [hidden, hidden] or null
    private final NDArray poolerBias;
    private final NamedWeights weights;
    private final Map<String, long[]> linears;
    private final String poolerModule;
    private volatile LoraAdapter adapter; // unmerged LoRA adapters, or null

    private BertModel(BertConfig config, DataType computeType, BertEmbeddings embeddings, BertLayer[] layers,
            NDArray poolerDense, NDArray poolerBias, NamedWeights weights, Map<String, long[]> linears,
            String poolerModule) {
        this.config = config;
        this.computeType = computeType;
        this.embeddings = embeddings;
        this.layers = layers;
        this.poolerDense = poolerDense;
        this.poolerBias = poolerBias;
        this.weights = weights;
        this.linears = linears;
        this.poolerModule = poolerModule;
    }

    /** {@code embeddings.*}: word + position + token type 0, then LayerNorm. */
    private record BertEmbeddings(NDArray wordEmbeddings, NDArray positionEmbeddings, NDArray tokenTypeEmbeddings,
            NDArray layerNormWeight, NDArray layerNormBias) {
    }

    /**
     * {@code encoder.layer.N.*} (its name, the prefix of its modules), with attention.self.{query,key,value} fused
     * into one matrix.
     */
    private record BertLayer(String name, NDArray qkv, NDArray qkvBias, NDArray attentionOutputDense,
            NDArray attentionOutputDenseBias, NDArray attentionOutputLnWeight, NDArray attentionOutputLnBias,
            NDArray intermediateDense, NDArray intermediateDenseBias, NDArray outputDense, NDArray outputDenseBias,
            NDArray outputLnWeight, NDArray outputLnBias) {
    }

    /**
     * Loads the weights under HF names, with the prefix fallback {@code ""}, {@code bert.}, {@code roberta.}; MLM /
     * classification heads and the {@code position_ids} buffer are ignored.
     *
     * @param config validated config
     * @param loader weight loader
     * @param computeType compute type
     * @return the model
     */
    public static BertModel load(BertConfig config, WeightLoader loader, DataType computeType) {
        String p = null;
        for (String candidate : new String[] {"", "bert.", "roberta."}) {
            if (loader.has(candidate + "embeddings.word_embeddings.weight")) {
                p = candidate;
                break;
            }
        }
        if (p == null) {
            throw new ModelLoadException("missing tensor 'embeddings.word_embeddings.weight' (also looked under the "
                    + "prefixes 'bert.' and 'roberta.')");
        }
        String prefix = p;
        loader.ignore(n -> n.endsWith("embeddings.position_ids") || n.startsWith("lm_head.") || n.startsWith("cls.")
                || n.startsWith("classifier."));
        long h = config.hiddenSize();
        long inter = config.intermediateSize();
        String e = prefix + "embeddings.";
        BertEmbeddings embeddings = new BertEmbeddings(
                loader.load(e + "word_embeddings.weight", config.vocabSize(), h),
                loader.load(e + "position_embeddings.weight", config.maxPositionEmbeddings(), h),
                loader.load(e + "token_type_embeddings.weight", config.typeVocabSize(), h),
                loader.load(e + "LayerNorm.weight", h),
                loader.load(e + "LayerNorm.bias", h));
        BertLayer[] layers = new BertLayer[config.numHiddenLayers()];
        for (int i = 0; i < layers.length; i++) {
            String l = prefix + "encoder.layer." + i + ".";
            String[] qkv = Arrays.stream(QKV).map(q -> l + q).toArray(String[]::new);
            long[] qkvRows = {h, h, h};
            layers[i] = new BertLayer(l,
                    loader.loadStacked(qkv, ".weight", qkvRows, h),
                    loader.loadStacked(qkv, ".bias", qkvRows),
                    loader.load(l + "attention.output.dense.weight", h, h),
                    loader.load(l + "attention.output.dense.bias", h),
                    loader.load(l + "attention.output.LayerNorm.weight", h),
                    loader.load(l + "attention.output.LayerNorm.bias", h),
                    loader.load(l + "intermediate.dense.weight", inter, h),
                    loader.load(l + "intermediate.dense.bias", inter),
                    loader.load(l + "output.dense.weight", h, inter),
                    loader.load(l + "output.dense.bias", h),
                    loader.load(l + "output.LayerNorm.weight", h),
                    loader.load(l + "output.LayerNorm.bias", h));
        }
        boolean pooler = loader.has(prefix + "pooler.dense.weight");
        NDArray poolerDense = pooler ? loader.load(prefix + "pooler.dense.weight", h, h) : null;
        NDArray poolerBias = pooler ? loader.load(prefix + "pooler.dense.bias", h) : null;
        loader.requireAllConsumed();
        Map<String, long[]> linears = new LinkedHashMap<>();
        for (BertLayer l : layers) {
            for (String module : QKV) {
                linears.put(l.name() + module, new long[] {h, h});
            }
            linears.put(l.name() + "attention.output.dense", new long[] {h, h});
            linears.put(l.name() + "intermediate.dense", new long[] {inter, h});
            linears.put(l.name() + "output.dense", new long[] {h, inter});
        }
        if (pooler) {
            linears.put(prefix + "pooler.dense", new long[] {h, h});
        }
        return new BertModel(config, computeType, embeddings, layers, poolerDense, poolerBias, loader.loaded(),
                Collections.unmodifiableMap(linears), prefix + "pooler.dense");
    }

    /** @return the config */
    public BertConfig config() {
        return config;
    }

    /** @return every weight under its HF name (fused q/k/v under the parts' names joined by {@code +}) */
    public NamedWeights weights() {
        return weights;
    }

    /** @return the linear layers: module name to weight shape {@code [out, in]} (where LoRA adapters may go) */
    public Map<String, long[]> linears() {
        return linears;
    }

    /**
     * Runs unmerged LoRA adapters from now on (training them, or serving them unmerged).
     *
     * @param lora the adapters, or null for none
     */
    public void attach(LoraAdapter lora) {
        this.adapter = lora;
    }

    /** @return the attached unmerged adapters, or null */
    public LoraAdapter adapter() {
        return adapter;
    }

    /** @return the compute type of weights and activations */
    public DataType computeType() {
        return computeType;
    }

    /** @return whether {@code pooler.dense} was loaded */
    public boolean hasPooler() {
        return poolerDense != null;
    }

    /**
     * @param ids {@code [batch, seq]} token ids, right-padded
     * @param mask {@code [batch, seq]}: 1 for tokens, 0 for padding
     * @return last hidden states {@code [batch, seq, hidden]}
     */
    public NDArray forward(NDArray ids, NDArray mask) {
        NDManager m = ids.getManager();
        long seq = ids.getShape().get(1);
        NDArray positions = m.arange(config.positionOffset(), (int) (config.positionOffset() + seq)); // [seq]
        NDArray x = embedding(ids, embeddings.wordEmbeddings()) // [batch, seq, hidden]
                .add(embedding(positions, embeddings.positionEmbeddings())) // + [seq, hidden]
                .add(embedding(m.zeros(new Shape(1), DataType.INT32), embeddings.tokenTypeEmbeddings())); // + [1, hidden]:
                // every chunk is segment 0
        x = layerNorm(x, embeddings.layerNormWeight(), embeddings.layerNormBias());
        NDArray maskAdd = mask.toType(DataType.FLOAT32, false).neg().add(1).mul(MASKED) // [batch, seq]
                .expandDims(1).expandDims(1); // [batch, 1, 1, seq]
        for (BertLayer layer : layers) {
            try (NDScope scope = new NDScope()) { // free each layer's attention scores when it ends
                NDArray next = layerForward(layer, x, maskAdd);
                NDScope.unregister(next);
                x.close(); // the previous layer's output (or the embeddings, created here)
                x = next;
            }
        }
        return x;
    }

    private NDArray layerForward(BertLayer l, NDArray x, NDArray maskAdd) {
        long batch = x.getShape().get(0);
        long seq = x.getShape().get(1);
        int heads = config.numAttentionHeads();
        int hd = config.headDim();
        NDList qkv = linear(x, l.qkv(), l.qkvBias(), l.name(), QKV) // [batch, seq, 3 * hidden]
                .reshape(batch, seq, 3L * heads, hd)
                .transpose(0, 2, 1, 3) // [batch, 3 * heads, seq, hd]
                .split(3, 1);
        NDArray scores = Tensors.scale(qkv.get(0).matMul(qkv.get(1).transpose(0, 1, 3, 2)), (float) (1 / Math.sqrt(hd)));
        if (scores.getDataType() != DataType.FLOAT32) {
            scores = scores.toType(DataType.FLOAT32, false);
        }
        NDArray probs = scores.add(maskAdd).softmax(-1).toType(computeType, false); // [batch, heads, seq, seq]
        NDArray context = probs.matMul(qkv.get(2)) // [batch, heads, seq, hd]
                .transpose(0, 2, 1, 3)
                .reshape(batch, seq, (long) heads * hd); // [batch, seq, hidden]
        NDArray attn = layerNorm(
                linear(context, l.attentionOutputDense(), l.attentionOutputDenseBias(), l.name(),
                        "attention.output.dense").add(x),
                l.attentionOutputLnWeight(), l.attentionOutputLnBias());
        NDArray inter = Activation.gelu(
                linear(attn, l.intermediateDense(), l.intermediateDenseBias(), l.name(), "intermediate.dense"));
        return layerNorm(linear(inter, l.outputDense(), l.outputDenseBias(), l.name(), "output.dense").add(attn),
                l.outputLnWeight(), l.outputLnBias());
    }

    /**
     * {@code x W^T + b}, plus the unmerged adapters' share of it when some are attached.
     *
     * @param layer the layer's module prefix
     * @param modules the modules whose weights {@code w} stacks (one for an unfused layer), relative to it
     */
    private NDArray linear(NDArray x, NDArray w, NDArray b, String layer, String... modules) {
        NDArray y = Linear.linear(x, w, b).singletonOrThrow();
        LoraAdapter lora = adapter;
        if (lora == null) {
            return y;
        }
        String[] names = Arrays.stream(modules).map(m -> layer + m).toArray(String[]::new);
        long[] rows = new long[names.length];
        Arrays.fill(rows, w.getShape().get(0) / names.length);
        NDArray delta = lora.delta(names, rows, x, PackedLinear.recordingGradients());
        return delta == null ? y : y.add(delta);
    }

    /**
     * @param hidden last hidden states {@code [batch, seq, hidden]}
     * @param mask {@code [batch, seq]}
     * @param pooling CLS, MEAN or POOLER
     * @return {@code [batch, hidden]}
     */
    public NDArray pool(NDArray hidden, NDArray mask, Pooling pooling) {
        NDArray cls = hidden.get(new NDIndex(":, 0, :")); // [batch, hidden]
        return switch (pooling) {
            case CLS -> cls;
            case MEAN -> {
                NDArray w = mask.toType(hidden.getDataType(), false).expandDims(2); // [batch, seq, 1]
                yield hidden.mul(w).sum(new int[] {1}).div(w.sum(new int[] {1}));
            }
            case POOLER -> {
                if (poolerDense == null) {
                    throw new ModelLoadException("pooling 'pooler' needs pooler.dense weights, which this checkpoint "
                            + "lacks; use cls or mean");
                }
                yield linear(cls, poolerDense, poolerBias, poolerModule, "").tanh();
            }
        };
    }

    private NDArray layerNorm(NDArray x, NDArray weight, NDArray bias) {
        return x.getNDArrayInternal()
                .layerNorm(x, new Shape(config.hiddenSize()), weight, bias, config.layerNormEps())
                .singletonOrThrow();
    }

    private static NDArray embedding(NDArray ids, NDArray table) {
        return ids.getNDArrayInternal().embedding(ids, table, SparseFormat.DENSE).singletonOrThrow();
    }
}
