package io.refrag.decoder.llama;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import io.refrag.core.tensor.PackedLinear;
import io.refrag.core.tensor.Tensors;

/**
 * Grouped-query causal self-attention with RoPE. The q/k/v projections are applied as one fused matrix (loaded from
 * HF's separate {@code q_proj}/{@code k_proj}/{@code v_proj}). With a {@link KvCache} the new keys/values are written
 * in place and attention reads the cache; without one (training, scoring) it attends over the current sequence only.
 *
 * <p>Outside autograd, in float32, a prefill attends through PyTorch's fused kernel ({@link SdpaAttention}).
 * Otherwise queries are processed in blocks so the score matrix never exceeds {@value #SCORE_BUDGET} elements, which keeps a
 * 16k-position prefill within a few GB. Blocks are smaller still where that leaves at least {@value #MIN_BLOCK} rows:
 * a block's scores, masked scores and probabilities then stay in the last-level cache instead of streaming through
 * memory (measured: a 2,048-position prefill of a 16-head, hidden-1024 model went from 340-460 to 540-660
 * positions/s on a 2-core CPU with a 32 MiB cache).
 */
final class LlamaAttention {
    /** Most elements of one {@code [kvHeads, groups * block, kvLen]} score matrix. */
    static final long SCORE_BUDGET = 1L << 24;
    /** Elements of a score matrix that fits in the last-level cache (8 MiB of float32) with its masked copy. */
    static final long CACHED_SCORES = 1L << 21;
    /** Fewest query rows a block is cut to for the cache's sake; per-op costs outweigh the gain below this. */
    static final int MIN_BLOCK = 64;
    /** Added to masked float32 scores; exp underflows to exactly 0 and, unlike -inf, never yields NaN. */
    private static final float MASKED = -1e30f;

    private final LlamaConfig config;
    private final int layerIdx;
    private final Projection qkvProj; // [(heads + 2 * kvHeads) * headDim, hidden]: q_proj | k_proj | v_proj
    private final Projection oProj; // [hidden, heads * headDim]
    private final float scaling;

    LlamaAttention(LlamaConfig config, int layerIdx, Projection qkvProj, Projection oProj) {
        this.config = config;
        this.layerIdx = layerIdx;
        this.qkvProj = qkvProj;
        this.oProj = oProj;
        this.scaling = (float) (1.0 / Math.sqrt(config.headDim()));
    }

    /**
     * @param x {@code [seq, hidden]}
     * @param rope the rotation of the sequence's positions
     * @param cache the request's cache, or null to attend within {@code x} only
     * @param past positions already in the cache (0 without a cache)
     * @return {@code [seq, hidden]}
     */
    NDArray forward(NDArray x, LlamaRotaryEmbedding.Rotation rope, KvCache cache, int past) {
        int seq = Math.toIntExact(x.getShape().get(0));
        NDList qkv = queryKeyValue(x, rope);
        NDArray q = qkv.get(0); // [heads, seq, headDim]
        NDArray keys = qkv.get(1); // [kvHeads, seq, headDim]
        NDArray values = qkv.get(2);
        if (cache != null) {
            cache.write(layerIdx, past, keys, values);
            keys = cache.keys(layerIdx, past + seq, x.getManager()); // [kvHeads, past + seq, headDim]
            values = cache.values(layerIdx, past + seq, x.getManager());
        }
        return output(attend(q, keys, values, past)); // [seq, hidden]
    }

    /**
     * Several requests in one pass: request b's {@code lengths[b]} rows follow request b - 1's, at positions
     * {@code pasts[b] ..} of its own cache (one row each in a decode step, a prompt each in a shared prefill). The
     * projections run once over all rows; the cache write and attention run per request.
     *
     * @param x {@code [rows, hidden]}, rows = the sum of {@code lengths}
     * @param rope the rotation of each row's position
     * @param caches one cache per request
     * @param pasts positions already in each cache
     * @param lengths rows per request
     * @return {@code [rows, hidden]}
     */
    NDArray forwardBatch(NDArray x, LlamaRotaryEmbedding.Rotation rope, KvCache[] caches, int[] pasts,
            int[] lengths) {
        NDList qkv = queryKeyValue(x, rope); // each [heads or kvHeads, rows, headDim]
        NDList outputs = new NDList(caches.length);
        int row = 0;
        for (int b = 0; b < caches.length; b++) {
            NDIndex rows = new NDIndex(":, {}:{}", row, row + lengths[b]);
            caches[b].write(layerIdx, pasts[b], qkv.get(1).get(rows), qkv.get(2).get(rows));
            int total = pasts[b] + lengths[b];
            NDArray keys = caches[b].keys(layerIdx, total, x.getManager()); // [kvHeads, total, headDim]
            NDArray values = caches[b].values(layerIdx, total, x.getManager());
            outputs.add(attend(qkv.get(0).get(rows), keys, values, pasts[b])); // [heads, lengths[b], headDim]
            row += lengths[b];
        }
        return output(outputs.size() == 1 ? outputs.singletonOrThrow() : NDArrays.concat(outputs, 1));
    }

    /** Causal attention of queries at positions {@code past ..} over keys and values from position 0. */
    private NDArray attend(NDArray q, NDArray keys, NDArray values, int past) {
        boolean fused = q.getShape().get(1) > 1 && q.getDataType() == DataType.FLOAT32
                && !PackedLinear.recordingGradients();
        return fused ? SdpaAttention.attend(q, keys, values, past, scaling) : blockwiseAttention(q, keys, values, past);
    }

    /**
     * The fused q|k|v projection, with RoPE applied once over the stacked query and key heads.
     *
     * @param x {@code [rows, hidden]}
     * @param rope the rotation of the rows' positions
     * @return q {@code [heads, rows, headDim]}, k and v {@code [kvHeads, rows, headDim]}
     */
    private NDList queryKeyValue(NDArray x, LlamaRotaryEmbedding.Rotation rope) {
        long rows = x.getShape().get(0);
        int heads = config.numAttentionHeads();
        int kvHeads = config.numKeyValueHeads();
        NDArray qkv = qkvProj.apply(x) // [rows, (heads + 2 kvHeads) * headDim]
                .reshape(rows, heads + 2L * kvHeads, config.headDim())
                .transpose(1, 0, 2); // [heads + 2 kvHeads, rows, headDim]
        NDList qkAndV = qkv.split(new long[] {heads + kvHeads}, 0);
        NDArray qk = rope.apply(qkAndV.get(0)); // [heads + kvHeads, rows, headDim]
        NDList qAndK = qk.split(new long[] {heads}, 0);
        return new NDList(qAndK.get(0), qAndK.get(1), qkAndV.get(1));
    }

    /**
     * @param attn {@code [heads, rows, headDim]}
     * @return the heads merged and projected, {@code [rows, hidden]}
     */
    private NDArray output(NDArray attn) {
        long rows = attn.getShape().get(1);
        NDArray merged = attn.transpose(1, 0, 2).reshape(rows, (long) config.numAttentionHeads() * config.headDim());
        return oProj.apply(merged);
    }

    /**
     * @param heads query heads
     * @param seq query rows
     * @param total key positions (past + seq)
     * @return query rows per block: a cache-sized score matrix, but at least {@value #MIN_BLOCK} rows where the
     *     {@value #SCORE_BUDGET}-element bound allows, and at least one
     */
    static int blockRows(int heads, int seq, long total) {
        long perRow = heads * total;
        long rows = Math.max(CACHED_SCORES / perRow, Math.min(MIN_BLOCK, SCORE_BUDGET / perRow));
        return (int) Math.max(1, Math.min(seq, rows));
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
        long total = past + seq;
        int block = blockRows(config.numAttentionHeads(), seq, total);
        NDList outputs = new NDList();
        for (int b0 = 0; b0 < seq; b0 += block) {
            try (NDScope scope = new NDScope()) { // frees this block's scores before the next block
                attendBlock(q, keys, values, past, b0, Math.min(seq, b0 + block), outputs);
            }
            NDScope.register(outputs.get(outputs.size() - 1)); // the block output belongs to the caller's scope
        }
        return outputs.size() == 1 ? outputs.singletonOrThrow() : NDArrays.concat(outputs, 1);
    }

    /** Attention of queries {@code [b0, b1)}; appends {@code [heads, b1 - b0, headDim]} to {@code outputs}. */
    private void attendBlock(NDArray q, NDArray keys, NDArray values, int past, int b0, int b1, NDList outputs) {
        int seq = Math.toIntExact(q.getShape().get(1));
        int kvHeads = config.numKeyValueHeads();
        int groups = config.numKeyValueGroups();
        int headDim = config.headDim();
        int total = past + seq;
        NDManager m = q.getManager();
        int rows = b1 - b0;
        int kvLen = past + b1; // causal: later keys are never needed
        NDArray qb = rows == seq ? q : q.get(new NDIndex(":, {}:{}", b0, b1)); // [heads, rows, headDim]
        NDArray kb = kvLen == total ? keys : keys.get(new NDIndex(":, :{}", kvLen)); // [kvHeads, kvLen, headDim]
        NDArray vb = kvLen == total ? values : values.get(new NDIndex(":, :{}", kvLen));
        DataType type = qb.getDataType();
        // (q * scaling) k^T: scaling the queries touches kvLen / headDim times fewer elements than scaling the scores
        NDArray scores = Tensors.scale(qb, scaling).reshape(kvHeads, (long) groups * rows, headDim)
                .matMul(kb.transpose(0, 2, 1)); // [kvHeads, groups * rows, kvLen]
        if (type != DataType.FLOAT32) {
            scores = scores.toType(DataType.FLOAT32, false); // softmax in float32, as HF does
        }
        if (rows > 1) {
            // key j is hidden from query i when j > past + b0 + i
            NDArray queryPos = m.arange(past + b0, past + b1).reshape(rows, 1); // [rows, 1]
            NDArray keyPos = m.arange(0, kvLen).reshape(1, kvLen); // [1, kvLen]
            NDArray mask = keyPos.gt(queryPos).toType(DataType.FLOAT32, false).mul(MASKED); // [rows, kvLen]
            scores = scores.reshape(kvHeads, groups, rows, kvLen).add(mask)
                    .reshape(kvHeads, (long) groups * rows, kvLen);
        }
        NDArray probs = scores.softmax(-1);
        if (type != DataType.FLOAT32) {
            probs = probs.toType(type, false);
        }
        NDArray out = probs.matMul(vb).reshape(config.numAttentionHeads(), rows, headDim); // [heads, rows, headDim]
        NDScope.unregister(out);
        outputs.add(out);
    }

    /** Adds the packed q|k|v and o projections, weight then bias each (the fused step's order). */
    void addFusedWeights(java.util.List<NDArray> into) {
        FusedDecodeStep.add(qkvProj, into);
        FusedDecodeStep.add(oProj, into);
    }
}
