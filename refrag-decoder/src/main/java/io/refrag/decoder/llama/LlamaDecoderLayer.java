package io.refrag.decoder.llama;

import ai.djl.ndarray.NDArray;

/** Pre-norm residual block: {@code h + attn(norm(h))}, then {@code h + mlp(norm(h))}. */
final class LlamaDecoderLayer {
    private final LlamaRMSNorm inputLayernorm;
    private final LlamaAttention selfAttn;
    private final LlamaRMSNorm postAttentionLayernorm;
    private final LlamaMLP mlp;

    LlamaDecoderLayer(
            LlamaRMSNorm inputLayernorm, LlamaAttention selfAttn, LlamaRMSNorm postAttentionLayernorm, LlamaMLP mlp) {
        this.inputLayernorm = inputLayernorm;
        this.selfAttn = selfAttn;
        this.postAttentionLayernorm = postAttentionLayernorm;
        this.mlp = mlp;
    }

    /**
     * @param hidden {@code [seq, hidden]}
     * @param rope the rotation of the sequence's positions
     * @param cache the request's cache or null
     * @param past positions already cached
     * @return {@code [seq, hidden]}
     */
    NDArray forward(NDArray hidden, LlamaRotaryEmbedding.Rotation rope, KvCache cache, int past) {
        NDArray h = hidden.add(selfAttn.forward(inputLayernorm.forward(hidden), rope, cache, past));
        return h.add(mlp.forward(postAttentionLayernorm.forward(h)));
    }

    /**
     * @param hidden {@code [rows, hidden]}: {@code lengths[b]} rows of request b, the requests one after another
     * @param rope the rotation of each row's position
     * @param caches one cache per request
     * @param pasts positions already in each cache
     * @param lengths rows per request
     * @return {@code [rows, hidden]}
     */
    NDArray forwardBatch(NDArray hidden, LlamaRotaryEmbedding.Rotation rope, KvCache[] caches, int[] pasts,
            int[] lengths) {
        NDArray h = hidden.add(selfAttn.forwardBatch(inputLayernorm.forward(hidden), rope, caches, pasts, lengths));
        return h.add(mlp.forward(postAttentionLayernorm.forward(h)));
    }

    /** Adds this layer's weights in the fused step's order: norm, qkv, o, norm, gate|up, down. */
    void addFusedWeights(java.util.List<NDArray> into) {
        into.add(inputLayernorm.weight());
        selfAttn.addFusedWeights(into);
        into.add(postAttentionLayernorm.weight());
        mlp.addFusedWeights(into);
    }
}
