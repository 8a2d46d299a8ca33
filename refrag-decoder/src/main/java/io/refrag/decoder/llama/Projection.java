package io.refrag.decoder.llama;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.nn.core.Linear;
import io.refrag.core.tensor.Devices;
import io.refrag.core.lora.LoraAdapter;
import io.refrag.core.tensor.PackedLinear;

/**
 * One of the decoder's linear layers, {@code x W^T + b}, applied in the form PyTorch's CPU kernels run fastest for the
 * number of rows. A serving model on the CPU in float32 packs its weight for oneDNN once ({@link PackedLinear}), and
 * every product that needs no gradient goes through it: a batched decode step over 8 rows then costs little more than
 * one row, and a 512-token prefill runs 1.7x faster than through MKL. Otherwise (training, other devices,
 * {@value Devices#PREPACK}{@code =false}):
 * <ul>
 *   <li>one row (a decode step): a batched product over {@code blocks} row blocks of {@code W}, with {@code x^T}
 *       passed as a {@code [1, in, 1]} view of the row. {@code linear}'s matrix-vector product runs on one MKL thread
 *       however many are set (profiled: the other thread waits); the batched product hands each block to its own
 *       intra-op thread, so every core streams its share of the weights. Measured on a 2-core machine over the 57
 *       weight matrices of an 8-layer, hidden-1024 model: 21-24 ms against 31-43 ms for {@code linear}. The same
 *       product with {@code x} reshaped to {@code [1, in, 1]} (other strides) takes another MKL path, 6x slower;</li>
 *   <li>2 to {@value #FEW_ROWS} rows (a batched decode step): {@code (W x^T)^T};</li>
 *   <li>more rows (prefill, training): {@code linear}.</li>
 * </ul>
 */
final class Projection {
    /** Up to this many rows go through {@code (W x^T)^T}: measured 1.4-2.5x faster than {@code linear} at 2-16 rows. */
    private static final long FEW_ROWS = 16;
    private static final NDIndex ALL = new NDIndex(":");

    private final NDArray weight; // [out, in]
    private final NDArray bias; // [out] or null
    private final NDArray weightBlocks; // [blocks, out / blocks, in]: a view of weight, or null for one block
    private final PackedLinear.Packed packed; // oneDNN's layout of weight and the bias, or null
    private final AdapterSlot adapters; // where unmerged LoRA adapters attach, or null
    private final String[] modules; // the HF modules the weight stacks by rows (q|k|v, gate|up, or one)
    private final long[] moduleRows;

    /**
     * How a model's projections run.
     *
     * @param rowBlocks row blocks for single-row products on the plain path (the intra-op threads); 1, or a count
     *     that does not divide {@code out}, keeps {@code linear}
     * @param packed whether to pack the weights for oneDNN (CPU, float32, serving)
     */
    record Plan(int rowBlocks, boolean packed) {
    }

    /**
     * @param weight {@code [out, in]}
     * @param bias {@code [out]} or null
     * @param plan how it runs; the blocks and the packed weight are made here, in the weights' manager
     */
    Projection(NDArray weight, NDArray bias, Plan plan) {
        this(weight, bias, plan, null, new String[0], new long[0]);
    }

    /**
     * @param weight {@code [out, in]}
     * @param bias {@code [out]} or null
     * @param plan how it runs
     * @param adapters where unmerged LoRA adapters attach
     * @param modules the HF module names the weight stacks, in row order
     * @param moduleRows each module's rows
     */
    Projection(NDArray weight, NDArray bias, Plan plan, AdapterSlot adapters, String[] modules, long[] moduleRows) {
        this.adapters = adapters;
        this.modules = modules;
        this.moduleRows = moduleRows;
        this.weight = weight;
        this.bias = bias;
        long out = weight.getShape().get(0);
        int blocks = plan.rowBlocks();
        this.weightBlocks = blocks > 1 && out % blocks == 0
                ? weight.reshape(blocks, out / blocks, weight.getShape().get(1)) : null;
        this.packed = plan.packed() ? PackedLinear.get().pack(weight, bias, weight.getManager()) : null;
    }

    /**
     * @param x {@code [rows, in]}
     * @return {@code [rows, out]}, owned by x's manager
     */
    NDArray apply(NDArray x) {
        NDArray y = base(x);
        LoraAdapter lora = adapters == null ? null : adapters.get();
        NDArray delta = lora == null ? null : lora.delta(modules, moduleRows, x, PackedLinear.recordingGradients());
        return delta == null ? y : y.add(delta);
    }

    private NDArray base(NDArray x) {
        if (packed != null && !PackedLinear.recordingGradients()) {
            return PackedLinear.get().apply(x, packed);
        }
        long rows = x.getShape().get(0);
        NDArray y;
        if (rows == 1 && weightBlocks != null) {
            y = weightBlocks.get(x.getManager(), ALL) // a view: the product then belongs to x's manager
                    .matMul(x.transpose().expandDims(0)) // [blocks, out / blocks, 1]
                    .reshape(1, weight.getShape().get(0)); // [1, out]
        } else if (rows >= 2 && rows <= FEW_ROWS) {
            NDArray view = weight.get(x.getManager(), ALL); // no copy; the product then belongs to x's manager
            y = view.matMul(x.transpose()).transpose(); // [rows, out]
        } else {
            return Linear.linear(x, weight, bias).singletonOrThrow();
        }
        return bias == null ? y : y.add(bias);
    }

    /** @return the oneDNN-packed weight and bias, or null when this projection is not packed */
    PackedLinear.Packed packed() {
        return packed;
    }
}
