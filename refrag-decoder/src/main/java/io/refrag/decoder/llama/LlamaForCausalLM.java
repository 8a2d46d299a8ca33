package io.refrag.decoder.llama;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.SparseFormat;
import io.refrag.core.checkpoint.NamedWeights;
import io.refrag.core.checkpoint.WeightLoader;
import io.refrag.core.exception.ModelLoadException;
import io.refrag.core.lora.LoraAdapter;
import io.refrag.core.tensor.PackedLinear;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.BiFunction;

/**
 * The immutable weights of HF {@code LlamaForCausalLM} ({@code model.embed_tokens}, {@code model.layers.N.*},
 * {@code model.norm}, {@code lm_head}) and the forward pass over input embeddings.
 *
 * <p>The forward works under DJL autograd: with frozen weights, gradients flow to the input embeddings (used by the
 * fine-tuning hooks), and to LoRA adapters {@link #attach attached} beside the weights (adapters merged as the weights
 * load leave no trace).
 */
public final class LlamaForCausalLM {
    private final LlamaConfig config;
    private final DataType computeType;
    private final NDArray embedTokens; // [vocab, hidden]
    private final LlamaDecoderLayer[] layers;
    private final LlamaRMSNorm norm;
    private final Projection lmHead; // [vocab, hidden]; embedTokens when tied
    private final LlamaRotaryEmbedding rotaryEmb;
    private final NamedWeights weights;
    private final FusedDecodeStep fused; // decode steps in one native call; null unless the projections are packed
    private final AdapterSlot adapters; // unmerged LoRA adapters, shared by every projection
    private final Map<String, long[]> linears;

    private LlamaForCausalLM(LlamaConfig config, DataType computeType, NDArray embedTokens, LlamaDecoderLayer[] layers,
            LlamaRMSNorm norm, Projection lmHead, NamedWeights weights, boolean packed, AdapterSlot adapters,
            Map<String, long[]> linears) {
        this.config = config;
        this.computeType = computeType;
        this.embedTokens = embedTokens;
        this.layers = layers;
        this.norm = norm;
        this.lmHead = lmHead;
        this.rotaryEmb = new LlamaRotaryEmbedding(config);
        this.weights = weights;
        this.fused = packed ? new FusedDecodeStep(config, layers, norm) : null;
        this.adapters = adapters;
        this.linears = linears;
    }

    /**
     * Loads every weight under its HF name; the only place those names appear.
     *
     * @param config the validated config
     * @param loader weight loader over the checkpoint (owner manager and compute type inside)
     * @param computeType compute type
     * @param plan how the projections run (oneDNN-packed, or row blocks for single-row products); see
     *     {@link Projection}
     * @return the model
     * @throws ModelLoadException on missing, extra or misshapen tensors
     */
    static LlamaForCausalLM load(LlamaConfig config, WeightLoader loader, DataType computeType,
            Projection.Plan plan) {
        String p = loader.has("model.embed_tokens.weight") ? "model." : "";
        loader.ignore(n -> n.endsWith("rotary_emb.inv_freq"));
        long hidden = config.hiddenSize();
        long inter = config.intermediateSize();
        long qDim = (long) config.numAttentionHeads() * config.headDim();
        long kvDim = (long) config.numKeyValueHeads() * config.headDim();
        NDArray embed = loader.load(p + "embed_tokens.weight", config.vocabSize(), hidden);
        AdapterSlot adapters = new AdapterSlot();
        Map<String, long[]> linears = new LinkedHashMap<>();
        LlamaDecoderLayer[] layers = new LlamaDecoderLayer[config.numHiddenLayers()];
        for (int i = 0; i < layers.length; i++) {
            String l = p + "layers." + i + ".";
            String a = l + "self_attn.";
            long[] qkvRows = {qDim, kvDim, kvDim};
            String[] qkvNames = {a + "q_proj", a + "k_proj", a + "v_proj"};
            boolean ab = config.attentionBias();
            Projection qkv = new Projection(loader.loadStacked(qkvNames, ".weight", qkvRows, hidden),
                    ab ? loader.loadStacked(qkvNames, ".bias", qkvRows) : null, plan, adapters, qkvNames, qkvRows);
            Projection oProj = new Projection(loader.load(a + "o_proj.weight", hidden, qDim),
                    ab ? loader.load(a + "o_proj.bias", hidden) : null, plan, adapters, new String[] {a + "o_proj"},
                    new long[] {hidden});
            String m = l + "mlp.";
            boolean mb = config.mlpBias();
            String[] gateUp = {m + "gate_proj", m + "up_proj"};
            long[] gateUpRows = {inter, inter};
            LlamaMLP mlp = new LlamaMLP(
                    new Projection(loader.loadStacked(gateUp, ".weight", gateUpRows, hidden),
                            mb ? loader.loadStacked(gateUp, ".bias", gateUpRows) : null, plan, adapters, gateUp,
                            gateUpRows),
                    new Projection(loader.load(m + "down_proj.weight", hidden, inter),
                            mb ? loader.load(m + "down_proj.bias", hidden) : null, plan, adapters,
                            new String[] {m + "down_proj"}, new long[] {hidden}));
            for (int j = 0; j < 3; j++) {
                linears.put(qkvNames[j], new long[] {qkvRows[j], hidden});
            }
            linears.put(a + "o_proj", new long[] {hidden, qDim});
            linears.put(gateUp[0], new long[] {inter, hidden});
            linears.put(gateUp[1], new long[] {inter, hidden});
            linears.put(m + "down_proj", new long[] {hidden, inter});
            layers[i] = new LlamaDecoderLayer(
                    new LlamaRMSNorm(loader.load(l + "input_layernorm.weight", hidden), config.rmsNormEps()),
                    new LlamaAttention(config, i, qkv, oProj),
                    new LlamaRMSNorm(loader.load(l + "post_attention_layernorm.weight", hidden), config.rmsNormEps()),
                    mlp);
        }
        LlamaRMSNorm norm = new LlamaRMSNorm(loader.load(p + "norm.weight", hidden), config.rmsNormEps());
        NDArray lmHead;
        if (loader.has("lm_head.weight")) {
            lmHead = loader.load("lm_head.weight", config.vocabSize(), hidden);
        } else if (config.tieWordEmbeddings()) {
            lmHead = embed;
        } else {
            throw new ModelLoadException("missing tensor 'lm_head.weight' and tie_word_embeddings is false");
        }
        loader.requireAllConsumed();
        return new LlamaForCausalLM(config, computeType, embed, layers, norm, new Projection(lmHead, null, plan),
                loader.loaded(), plan.packed(), adapters, Collections.unmodifiableMap(linears));
    }

    /** @return the config */
    public LlamaConfig config() {
        return config;
    }

    /** @return every weight under its HF name (fused projections under their parts' names joined by {@code +}) */
    public NamedWeights weights() {
        return weights;
    }

    /** @return the attention and MLP projections: module name to weight shape {@code [out, in]} (LoRA's targets) */
    public Map<String, long[]> linears() {
        return linears;
    }

    /**
     * Runs unmerged LoRA adapters from now on (training them, or serving them unmerged); decode steps then run layer
     * by layer rather than fused.
     *
     * @param lora the adapters, or null for none
     */
    public void attach(LoraAdapter lora) {
        adapters.set(lora);
    }

    /** @return the attached unmerged adapters, or null */
    public LoraAdapter adapter() {
        return adapters.get();
    }

    /** @return the compute type of weights and activations */
    public DataType computeType() {
        return computeType;
    }

    /**
     * @param ids token ids {@code [seq]} (int32/int64), owned by the caller's manager
     * @return {@code [seq, hidden]} in the compute type, owned by the ids' manager
     */
    public NDArray embedTokens(NDArray ids) {
        return ids.getNDArrayInternal().embedding(ids, embedTokens, SparseFormat.DENSE).singletonOrThrow();
    }

    /**
     * Runs the decoder layers and the final norm.
     *
     * @param inputsEmbeds {@code [seq, hidden]} in the compute type
     * @param cache the request's cache, or null to attend within this sequence only (then {@code past} must be 0)
     * @param past positions already in the cache
     * @return normalised hidden states {@code [seq, hidden]}, owned by the inputs' manager
     */
    public NDArray forward(NDArray inputsEmbeds, KvCache cache, int past) {
        NDManager m = inputsEmbeds.getManager();
        int seq = Math.toIntExact(inputsEmbeds.getShape().get(0));
        if (seq == 1 && cache != null && fusable()) {
            return fused.step(inputsEmbeds, rotaryEmb.tables(m, new int[] {past}, computeType),
                    new KvCache[] {cache}, new int[] {past});
        }
        LlamaRotaryEmbedding.Rotation rope = rotaryEmb.at(m, past, seq, computeType); // shared by all layers
        return throughLayers(inputsEmbeds, (layer, h) -> layer.forward(h, rope, cache, past));
    }

    /**
     * Several requests in one forward pass, each with its own cache and position: one new token each (a decode step),
     * or a prompt each (a shared prefill).
     *
     * @param inputsEmbeds {@code [rows, hidden]}: request b's {@code lengths[b]} rows after request b - 1's
     * @param caches one cache per request
     * @param pasts positions already in each cache
     * @param lengths rows per request
     * @return normalised hidden states {@code [rows, hidden]}, owned by the inputs' manager
     */
    public NDArray forwardBatch(NDArray inputsEmbeds, KvCache[] caches, int[] pasts, int[] lengths) {
        int rows = 0;
        for (int len : lengths) {
            rows += len;
        }
        int[] positions = new int[rows];
        for (int b = 0, row = 0; b < lengths.length; b++) {
            for (int i = 0; i < lengths[b]; i++) {
                positions[row++] = pasts[b] + i;
            }
        }
        NDManager m = inputsEmbeds.getManager();
        if (rows == lengths.length && fusable()) {
            return fused.step(inputsEmbeds, rotaryEmb.tables(m, positions, computeType), caches, pasts);
        }
        LlamaRotaryEmbedding.Rotation rope = rotaryEmb.at(m, positions, computeType);
        return throughLayers(inputsEmbeds, (layer, h) -> layer.forwardBatch(h, rope, caches, pasts, lengths));
    }

    /** @return whether decode steps run as one native call ({@link FusedDecodeStep}) */
    boolean fusesDecodeSteps() {
        return fused != null;
    }

    /** @return whether a decode step can run fused: packed projections, no autograd, no unmerged adapters */
    private boolean fusable() {
        return fused != null && !PackedLinear.recordingGradients() && adapters.get() == null;
    }

    /**
     * Runs every layer, then the final norm. A layer's intermediates are freed when it ends (autograd keeps what
     * backward needs natively); each layer's output is freed once the next has used it, the caller's input never.
     */
    private NDArray throughLayers(NDArray inputsEmbeds, BiFunction<LlamaDecoderLayer, NDArray, NDArray> layerStep) {
        NDArray h = inputsEmbeds;
        for (LlamaDecoderLayer layer : layers) {
            try (NDScope scope = new NDScope()) {
                NDArray next = layerStep.apply(layer, h);
                NDScope.unregister(next);
                if (h != inputsEmbeds) {
                    h.close();
                }
                h = next;
            }
        }
        return norm.forward(h);
    }

    /**
     * @param hidden {@code [n, hidden]}
     * @return logits {@code [n, vocab]} in the compute type
     */
    public NDArray logits(NDArray hidden) {
        return lmHead.apply(hidden);
    }

    /**
     * @param manager owner of the cache (the request's)
     * @param capacity positions
     * @return a zeroed cache for this model
     */
    KvCache newCache(NDManager manager, int capacity) {
        return new KvCache(manager, config, capacity, computeType);
    }

    /**
     * @param capacity positions
     * @return bytes {@link #newCache} would allocate for them
     */
    long kvCacheBytes(int capacity) {
        return KvCache.bytesFor(config, capacity, computeType);
    }
}
