package io.refrag.core.tensor;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.jni.IValue;
import ai.djl.pytorch.jni.JniUtils;

/**
 * Linear layers over weights that oneDNN packs once, for CPU inference: {@code x W^T + b} through
 * {@code mkldnn::_linear_pointwise}. PyTorch's default CPU product (MKL) repacks the weight on every call with more
 * than one row, so a batched decode step over 8 rows costs several single-row steps; with the weight packed once,
 * 8 rows cost about 1.3 rows, and one row runs faster too.
 *
 * <p>DJL's API has no such operator, so the library compiles a small {@link TorchScript} module of its own and calls
 * its methods; one per process serves every thread. Packed weights are opaque oneDNN tensors: nothing but
 * {@link #apply} may read them, and autograd does not pass through them (training keeps the plain product).
 */
public final class PackedLinear {
    /** Batch-size hint the weights are packed for: one packing serves 1 to 16 rows and more at full speed. */
    public static final long PACKED_FOR_ROWS = 8;
    /**
     * Outputs are padded to a multiple of this. oneDNN's single-row product reads a packed weight whose outputs are
     * not a multiple of 16 wrongly past the last full block of 16 (measured with libtorch 2.7.1: 172 outputs give
     * 144 right values; 64, 96, 128 and 512 outputs are right; a bias does not help). Zero rows cost their share of
     * the product, at most 63 rows of a layer.
     */
    public static final long PAD = 64;

    /**
     * TorchScript method {@code proj(x, packed, bias, out)}: the product over a packed weight, cut to the layer's
     * {@code out} true outputs (a view when padded). Modules that run packed layers inside a larger step include it.
     */
    public static final String PROJ_METHOD = String.join("\n",
            "  def proj(self: __torch__.M, x: Tensor, packed: Tensor, bias: Tensor, out: int) -> Tensor:",
            "    s = annotate(List[Optional[number]], [])",
            "    y = ops.mkldnn._linear_pointwise(x.contiguous(), packed, bias, \"none\", s, \"\")",
            "    if y.size(1) != out:",
            "      y = torch.narrow(y, 1, 0, out)",
            "    return y");

    /**
     * The methods: pack a weight for a row count; the product over a packed weight, contiguous for DJL. A single row
     * goes through as two (itself twice), since oneDNN's product over one row is its slowest path: on the hidden-1024
     * decoder a decode step whose products ran over two copies of the row took 6-9 % less time than over one row
     * (one process, alternating step by step), and one stream decoded 19-22 % faster than the build before in
     * {@code peer} runs beside it (the one-row kernel is also the one that misreads unpadded weights, see {@link #PAD}).
     */
    private static final String METHODS = String.join("\n",
            "  def pack(self: __torch__.M, w: Tensor, rows: int) -> Tensor:",
            "    return ops.mkldnn._reorder_linear_weight(w.contiguous(), rows)",
            PROJ_METHOD,
            "  def linear(self: __torch__.M, x: Tensor, packed: Tensor, bias: Tensor, out: int) -> Tensor:",
            "    if x.size(0) == 1:",
            "      return torch.narrow(self.proj(torch.cat([x, x], 0), packed, bias, out), 0, 0, 1).contiguous()",
            "    return self.proj(x, packed, bias, out).contiguous()");

    private static final TorchScript.Lazy MODULE = new TorchScript.Lazy("oneDNN's prepacked linear", METHODS);
    private static final PackedLinear INSTANCE = new PackedLinear();

    private PackedLinear() {
    }

    /**
     * @return the process's instance; its module is compiled on first use
     * @throws io.refrag.core.exception.ModelLoadException if this libtorch cannot compile it (no oneDNN)
     */
    public static PackedLinear get() {
        MODULE.get();
        return INSTANCE;
    }

    /**
     * @return whether autograd records this thread's operations: then products must take the plain path, which autograd
     *     can differentiate. PyTorch's grad mode is per thread and on by default; inference calls switch it off for
     *     their duration ({@link #inference})
     */
    public static boolean recordingGradients() {
        return JniUtils.isGradMode();
    }

    /**
     * Runs inference with this thread's grad mode off, as {@code torch.inference_mode} does, and restores it.
     *
     * @param work the inference
     * @param <T> its result
     * @return its result
     */
    public static <T> T inference(java.util.function.Supplier<T> work) {
        boolean recording = JniUtils.isGradMode();
        if (recording) {
            JniUtils.setGradMode(false);
        }
        try {
            return work.get();
        } finally {
            if (recording) {
                JniUtils.setGradMode(true);
            }
        }
    }

    /**
     * @param weight {@code [out, in]} float32 on the CPU
     * @param bias {@code [out]}, or null for none
     * @param owner the manager the packed weight belongs to (the model's)
     * @return the packed weight and its bias, for {@link #apply}
     */
    public Packed pack(NDArray weight, NDArray bias, NDManager owner) {
        long out = weight.getShape().get(0);
        long padding = (out + PAD - 1) / PAD * PAD - out; // zero outputs, cut off again by apply
        NDArray b = bias == null ? owner.zeros(new Shape(out + padding), weight.getDataType())
                : padding == 0 ? bias : padded(bias, padding, owner);
        NDArray w = padding == 0 ? weight : padded(weight, padding, owner);
        try (IValue wv = TorchScript.of(w); IValue rows = IValue.from(PACKED_FOR_ROWS)) {
            return new Packed(MODULE.get().runToTensor("pack", owner, wv, rows), b, out);
        } finally {
            if (w != weight) {
                w.close(); // the packed copy is all that is kept
            }
        }
    }

    /** @return {@code a} with {@code rows} zero rows appended, in {@code owner} */
    private static NDArray padded(NDArray a, long rows, NDManager owner) {
        long[] shape = a.getShape().getShape().clone();
        shape[0] = rows;
        try (NDManager scratch = owner.newSubManager()) {
            NDArray p = a.concat(scratch.zeros(new Shape(shape), a.getDataType()));
            p.attach(owner);
            return p;
        }
    }

    /**
     * A weight in oneDNN's layout, with its bias.
     *
     * @param weight the opaque packed weight, {@code out} rows padded with zeros to a multiple of {@value #PAD}:
     *     nothing but {@link #apply} may read it
     * @param bias the bias padded alike, zeros when the layer has none
     * @param out the layer's outputs
     */
    public record Packed(NDArray weight, NDArray bias, long out) {
    }

    /**
     * @param x {@code [rows, in]} float32, outside autograd ({@link #recordingGradients()} false)
     * @param packed a weight from {@link #pack}
     * @return {@code x W^T + b} {@code [rows, out]}, owned by x's manager
     */
    public NDArray apply(NDArray x, Packed packed) {
        try (IValue in = TorchScript.of(x); IValue w = TorchScript.of(packed.weight());
                IValue b = TorchScript.of(packed.bias()); IValue n = IValue.from(packed.out())) {
            return MODULE.get().runToTensor("linear", x.getManager(), in, w, b, n);
        }
    }
}
