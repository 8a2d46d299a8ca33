package io.refrag.decoder.llama;

import ai.djl.ndarray.NDArray;
import ai.djl.pytorch.jni.IValue;
import io.refrag.core.tensor.TorchScript;

/**
 * Causal attention of a prefill through PyTorch's fused {@code scaled_dot_product_attention}, which on the CPU runs a
 * flash-attention kernel: scores are made, masked and normalised block by block in cache, and blocks above the
 * diagonal are skipped, instead of the score matrix streaming through memory several times (its softmax included).
 * Used outside autograd in float32; training keeps {@link LlamaAttention}'s plain path, which autograd differentiates.
 *
 * <p>Each key/value head is repeated for its group of query heads. A prompt that starts the cache attends with
 * {@code is_causal}; one that continues a cache (queries at positions {@code past ..}) attends in blocks of query rows
 * with an explicit mask, each block over the keys up to its last position.
 */
final class SdpaAttention {
    /** Query rows per masked block: the mask of one block, {@code rows x positions} booleans, stays small. */
    static final int MASKED_BLOCK = 256;

    private static final String METHODS = String.join("\n",
            "  def attend(self: __torch__.M, q: Tensor, k: Tensor, v: Tensor, past: int, block: int, scaling: float)"
                + " -> Tensor:",
            "    heads = q.size(0)",
            "    seq = q.size(1)",
            "    groups = heads // k.size(0)",
            "    kx = torch.repeat_interleave(k, groups, 0).unsqueeze(0)",
            "    vx = torch.repeat_interleave(v, groups, 0).unsqueeze(0)",
            "    if past == 0:",
            "      return torch.scaled_dot_product_attention(q.unsqueeze(0), kx, vx, None, 0.0, True,"
                + " scale=scaling).squeeze(0)",
            "    outs = annotate(List[Tensor], [])",
            "    b0 = 0",
            "    while b0 < seq:",
            "      b1 = min(seq, b0 + block)",
            "      n = past + b1",
            "      mask = torch.le(torch.arange(n, device=q.device).unsqueeze(0),"
                + " torch.arange(past + b0, past + b1, device=q.device).unsqueeze(1))",
            "      qb = torch.narrow(q, 1, b0, b1 - b0).unsqueeze(0)",
            "      o = torch.scaled_dot_product_attention(qb, torch.narrow(kx, 2, 0, n), torch.narrow(vx, 2, 0, n),"
                + " mask, 0.0, False, scale=scaling)",
            "      outs.append(o.squeeze(0))",
            "      b0 = b1",
            "    return torch.cat(outs, 1)");

    private static final TorchScript.Lazy MODULE = new TorchScript.Lazy("prefill attention", METHODS);

    private SdpaAttention() {
    }

    /**
     * softmax(q k^T * scaling + causal mask) v.
     *
     * @param q {@code [heads, seq, headDim]}, query i at absolute position {@code past + i}
     * @param keys {@code [kvHeads, past + seq, headDim]}
     * @param values {@code [kvHeads, past + seq, headDim]}
     * @param past absolute position of the first query
     * @param scaling the score scale
     * @return {@code [heads, seq, headDim]}, owned by q's manager
     */
    static NDArray attend(NDArray q, NDArray keys, NDArray values, int past, double scaling) {
        try (IValue qv = TorchScript.of(q); IValue k = TorchScript.of(keys); IValue v = TorchScript.of(values);
                IValue p = IValue.from(past); IValue b = IValue.from(MASKED_BLOCK); IValue s = IValue.from(scaling)) {
            return MODULE.get().runToTensor("attend", q.getManager(), qv, k, v, p, b, s);
        }
    }
}
