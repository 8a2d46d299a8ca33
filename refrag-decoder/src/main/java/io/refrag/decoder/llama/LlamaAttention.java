package io.refrag.decoder.llama;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.nn.core.Linear;

/**
 * Grouped-query causal self-attention with RoPE. With a {@link KvCache} the new keys/values are written in place and
 * attention reads the cache; without one (training, scoring) it attends over the current sequence only.
 *
 * <p>Queries are processed in blocks so the score matrix never exceeds {@value #SCORE_BUDGET} elements, which keeps a
 * 16k-position prefill within a few GB.
 */
final class LlamaAttention {
    /** Most elements of one {@code [kvHeads, groups * block, kvLen]} score matrix. */
    static final long SCORE_BUDGET = 1L << 24;

    private final LlamaConfig config;
    private final int layerIdx;
    private final NDArray qProj; // [heads * headDim, hidden]
    private final NDArray qBias;
    private final NDArray kProj; // [kvHeads * headDim, hidden]
    private final NDArray kBias;
    private final NDArray vProj; // [kvHeads * headDim, hidden]
    private final NDArray vBias;
    private final NDArray oProj; // [hidden, heads * headDim]
    private final NDArray oBias;
    private final float scaling;

    LlamaAttention(LlamaConfig config, int layerIdx, NDArray[] qkvo, NDArray[] biases) {
        this.config = config;
        this.layerIdx = layerIdx;
        this.qProj = qkvo[0];
        this.kProj = qkvo[1];
        this.vProj = qkvo[2];
        this.oProj = qkvo[3];
        this.qBias = biases[0];
        this.kBias = biases[1];
        this.vBias = biases[2];
        this.oBias = biases[3];
        this.scaling = (float) (1.0 / Math.sqrt(config.headDim()));
    }

    /**
     * @param x {@code [seq, hidden]}
     * @param cos {@code [seq, headDim]}
     * @param sin {@code [seq, headDim]}
     * @param cache the request's cache, or null to attend within {@code x} only
     * @param past positions already in the cache (0 without a cache)
     * @return {@code [seq, hidden]}
     */
    NDArray forward(NDArray x, NDArray cos, NDArray sin, KvCache cache, int past) {
        int seq = Math.toIntExact(x.getShape().get(0));
        int heads = config.numAttentionHeads();
        int kvHeads = config.numKeyValueHeads();
        int headDim = config.headDim();

        NDArray q = project(x, qProj, qBias, heads, seq); // [heads, seq, headDim]
        NDArray k = project(x, kProj, kBias, kvHeads, seq); // [kvHeads, seq, headDim]
        NDArray v = project(x, vProj, vBias, kvHeads, seq); // [kvHeads, seq, headDim]
        q = LlamaRotaryEmbedding.applyRotaryPosEmb(q, cos, sin);
        k = LlamaRotaryEmbedding.applyRotaryPosEmb(k, cos, sin);

        NDArray keys;
        NDArray values;
        if (cache != null) {
            cache.write(layerIdx, past, k, v);
            keys = cache.keys(layerIdx, past + seq, x.getManager()); // [kvHeads, past + seq, headDim]
            values = cache.values(layerIdx, past + seq, x.getManager());
        } else {
            keys = k;
            values = v;
        }

        NDArray attn = blockwiseAttention(q, keys, values, past); // [heads, seq, headDim]
        NDArray merged = attn.transpose(1, 0, 2).reshape(seq, (long) heads * headDim); // [seq, heads * headDim]
        return Linear.linear(merged, oProj, oBias).singletonOrThrow(); // [seq, hidden]
    }

    private static NDArray project(NDArray x, NDArray w, NDArray b, int heads, int seq) {
        NDArray y = Linear.linear(x, w, b).singletonOrThrow(); // [seq, heads * headDim]
        return y.reshape(seq, heads, -1).transpose(1, 0, 2); // [heads, seq, headDim]
    }

    /**
     * softmax(q k^T * scaling + causal mask) v, over query blocks.
     *
     * @param q {@code [heads, seq, headDim]}, query i at absolute position {@code past + i}
     * @param keys {@code [kvHeads, past + seq, headDim]}
     * @param values {@code [kvHeads, past + seq, headDim]}
     * @param past absolute position of the first query
     * @return {@code [heads, seq, headDim]}
     */
    private NDArray blockwiseAttention(NDArray q, NDArray keys, NDArray values, int past) {
        int seq = Math.toIntExact(q.getShape().get(1));
        int kvHeads = config.numKeyValueHeads();
        int groups = config.numKeyValueGroups();
        int headDim = config.headDim();
        int total = past + seq;
        int block = (int) Math.max(1, Math.min(seq, SCORE_BUDGET / ((long) config.numAttentionHeads() * total)));
        NDManager m = q.getManager();
        NDList outputs = new NDList();
        for (int b0 = 0; b0 < seq; b0 += block) {
            int b1 = Math.min(seq, b0 + block);
            int rows = b1 - b0;
            int kvLen = past + b1; // causal: later keys are never needed
            NDArray qb = rows == seq ? q : q.get(new NDIndex(":, {}:{}", b0, b1)); // [heads, rows, headDim]
            NDArray kb = kvLen == total ? keys : keys.get(new NDIndex(":, :{}", kvLen)); // [kvHeads, kvLen, headDim]
            NDArray vb = kvLen == total ? values : values.get(new NDIndex(":, :{}", kvLen));
            NDArray scores = qb.reshape(kvHeads, (long) groups * rows, headDim)
                    .matMul(kb.transpose(0, 2, 1))
                    .mul(scaling); // [kvHeads, groups * rows, kvLen]
            if (rows > 1) {
                // key j is hidden from query i when j > past + b0 + i
                NDArray queryPos = m.arange(past + b0, past + b1).reshape(rows, 1); // [rows, 1]
                NDArray keyPos = m.arange(0, kvLen).reshape(1, kvLen); // [1, kvLen]
                NDArray future = keyPos.gt(queryPos); // [rows, kvLen]
                NDArray negInf = m.create(Float.NEGATIVE_INFINITY).toType(scores.getDataType(), false);
                scores = NDArrays.where(future, negInf, scores.reshape(kvHeads, groups, rows, kvLen))
                        .reshape(kvHeads, (long) groups * rows, kvLen);
            }
            NDArray probs = scores.getDataType() == DataType.FLOAT32
                    ? scores.softmax(-1)
                    : scores.toType(DataType.FLOAT32, false).softmax(-1).toType(scores.getDataType(), false);
            outputs.add(probs.matMul(vb).reshape(config.numAttentionHeads(), rows, headDim)); // [heads, rows, headDim]
        }
        return outputs.size() == 1 ? outputs.singletonOrThrow() : NDArrays.concat(outputs, 1);
    }
}
