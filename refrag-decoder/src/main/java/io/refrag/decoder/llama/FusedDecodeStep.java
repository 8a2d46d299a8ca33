package io.refrag.decoder.llama;

import ai.djl.ndarray.NDArray;
import ai.djl.pytorch.jni.IValue;
import io.refrag.core.tensor.PackedLinear;
import io.refrag.core.tensor.TorchScript;

import java.util.ArrayList;
import java.util.List;

/**
 * A decode step over every layer in one native call: the layers' norms, oneDNN-packed projections, RoPE, each row's
 * cache write and attention over its own cache (PyTorch's fused {@code scaled_dot_product_attention}, a query head group
 * per KV head as its rows), the SwiGLU MLP and the residuals, written in TorchScript and run by libtorch's
 * interpreter. The step the plain path runs as about 500 DJL operations (per row, for the attention), each
 * a JNI call with its Java wrapper, becomes one. The same arithmetic as the plain path (attention's softmax computed
 * blockwise); used for CPU serving models whose projections are packed ({@link Projection}), outside autograd. A step
 * over one row runs it twice, as {@link PackedLinear} does, because oneDNN's one-row product is its slowest; the row is
 * doubled once at the step's input rather than in {@code proj}, which would add a copy and a cut to every product.
 */
final class FusedDecodeStep {
    /** Weights per layer in the list the method reads: norm, qkv, o, norm, gate|up, down (a projection: weight, bias). */
    private static final int PER_LAYER = 10;

    private static final String METHODS = String.join("\n",
            PackedLinear.PROJ_METHOD,
            "  def decode(self: __torch__.M, h0: Tensor, w: List[Tensor], keys: List[Tensor], values: List[Tensor],"
                + " pasts: List[int], cos: Tensor, sin: Tensor, dims: List[int], eps: float, scaling: float)"
                + " -> Tensor:",
            "    heads = dims[0]",
            "    kv_heads = dims[1]",
            "    head_dim = dims[2]",
            "    inter = dims[3]",
            "    layers = dims[4]",
            "    hidden = dims[5]",
            "    groups = heads // kv_heads",
            "    rows = len(pasts)",
            "    half = head_dim // 2",
            "    h = h0",
            "    if rows == 1:", // oneDNN's one-row product is its slowest: the row goes through twice
            "      h = torch.cat([h0, h0], 0)",
            "      cos = torch.cat([cos, cos], 0)",
            "      sin = torch.cat([sin, sin], 0)",
            "    n = h.size(0)",
            "    cos = cos.unsqueeze(1)",
            "    sin = sin.unsqueeze(1)",
            "    for l in range(layers):",
            "      base = l * " + PER_LAYER,
            "      x = torch.rms_norm(h, [hidden], w[base], eps)",
            "      qkv = self.proj(x, w[base + 1], w[base + 2], (heads + 2 * kv_heads) * head_dim)",
            "      qkv = qkv.reshape([n, heads + 2 * kv_heads, head_dim])",
            "      qk = torch.narrow(qkv, 1, 0, heads + kv_heads)",
            "      turned = torch.cat([torch.neg(torch.narrow(qk, 2, half, half)), torch.narrow(qk, 2, 0, half)], 2)",
            "      qk = qk * cos + turned * sin",
            "      outs = annotate(List[Tensor], [])",
            "      for b in range(rows):",
            "        p = pasts[b]",
            "        kc = keys[l * rows + b]",
            "        vc = values[l * rows + b]",
            "        qkb = qk.select(0, b)",
            "        kc.select(1, p).copy_(torch.narrow(qkb, 0, heads, kv_heads))",
            "        vc.select(1, p).copy_(torch.narrow(qkv.select(0, b), 0, heads + kv_heads, kv_heads))",
            "        qb = torch.narrow(qkb, 0, 0, heads).reshape([1, kv_heads, groups, head_dim])",
            "        kb = torch.narrow(kc, 1, 0, p + 1).unsqueeze(0)",
            "        vb = torch.narrow(vc, 1, 0, p + 1).unsqueeze(0)",
            "        o = torch.scaled_dot_product_attention(qb, kb, vb, None, 0.0, False, scale=scaling)",
            "        outs.append(o.reshape([1, heads * head_dim]))",
            "      if n > rows:",
            "        outs.append(outs[0])",
            "      h = h + self.proj(torch.cat(outs, 0), w[base + 3], w[base + 4], hidden)",
            "      x = torch.rms_norm(h, [hidden], w[base + 5], eps)",
            "      gu = self.proj(x, w[base + 6], w[base + 7], 2 * inter)",
            "      act = torch.silu(torch.narrow(gu, 1, 0, inter)) * torch.narrow(gu, 1, inter, inter)",
            "      h = h + self.proj(act, w[base + 8], w[base + 9], hidden)",
            "    return torch.rms_norm(torch.narrow(h, 0, 0, rows), [hidden], w[layers * " + PER_LAYER + "], eps)");

    private static final TorchScript.Lazy MODULE = new TorchScript.Lazy("the fused LLaMA decode step", METHODS);

    private final NDArray[] weights; // PER_LAYER per layer, then the final norm's
    private final long[] dims;
    private final double eps;
    private final double scaling;

    /**
     * @param config the model's config
     * @param layers its layers, every projection packed
     * @param norm the final norm
     */
    FusedDecodeStep(LlamaConfig config, LlamaDecoderLayer[] layers, LlamaRMSNorm norm) {
        List<NDArray> w = new ArrayList<>();
        for (LlamaDecoderLayer layer : layers) {
            layer.addFusedWeights(w);
        }
        w.add(norm.weight());
        this.weights = w.toArray(NDArray[]::new);
        this.dims = new long[] {config.numAttentionHeads(), config.numKeyValueHeads(), config.headDim(),
            config.intermediateSize(), layers.length, config.hiddenSize()};
        this.eps = config.rmsNormEps();
        this.scaling = 1.0 / Math.sqrt(config.headDim());
        MODULE.get(); // compiled at load: a libtorch that cannot is refused there
    }

    /**
     * @param projection a packed projection
     * @param into the list to add its weight and bias to
     */
    static void add(Projection projection, List<NDArray> into) {
        PackedLinear.Packed p = projection.packed();
        into.add(p.weight());
        into.add(p.bias());
    }

    /**
     * @param inputsEmbeds {@code [rows, hidden]}: each row one request's new position
     * @param rope each row's RoPE rotation, as cos/sin tables {@code [rows, headDim]}
     * @param caches one cache per row, written at {@code pasts}
     * @param pasts positions already in each cache
     * @return the final norm's output {@code [rows, hidden]}, owned by the inputs' manager
     */
    NDArray step(NDArray inputsEmbeds, LlamaRotaryEmbedding.Rotation rope, KvCache[] caches, int[] pasts) {
        int layers = (int) dims[4];
        NDArray[] keys = new NDArray[layers * caches.length];
        NDArray[] values = new NDArray[keys.length];
        for (int l = 0; l < layers; l++) {
            for (int b = 0; b < caches.length; b++) {
                keys[l * caches.length + b] = caches[b].keys(l);
                values[l * caches.length + b] = caches[b].values(l);
            }
        }
        long[] positions = new long[pasts.length];
        for (int b = 0; b < pasts.length; b++) {
            positions[b] = pasts[b];
        }
        try (IValue h = TorchScript.of(inputsEmbeds); IValue w = TorchScript.listOf(weights);
                IValue k = TorchScript.listOf(keys); IValue v = TorchScript.listOf(values);
                IValue p = IValue.listFrom(positions); IValue cos = TorchScript.of(rope.cos());
                IValue sin = TorchScript.of(rope.sin());
                IValue d = IValue.listFrom(dims); IValue e = IValue.from(eps); IValue s = IValue.from(scaling)) {
            return MODULE.get().runToTensor("decode", inputsEmbeds.getManager(), h, w, k, v, p, cos, sin, d, e, s);
        }
    }
}
