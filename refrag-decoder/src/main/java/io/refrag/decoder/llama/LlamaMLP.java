package io.refrag.decoder.llama;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.nn.Activation;

/** SwiGLU: {@code down_proj(silu(gate_proj(x)) * up_proj(x))}, gate and up applied as one fused matrix. */
final class LlamaMLP {
    private final Projection gateUpProj; // [2 * intermediate, hidden]: gate_proj | up_proj
    private final Projection downProj; // [hidden, intermediate]

    LlamaMLP(Projection gateUpProj, Projection downProj) {
        this.gateUpProj = gateUpProj;
        this.downProj = downProj;
    }

    /**
     * @param x {@code [seq, hidden]}
     * @return {@code [seq, hidden]}
     */
    NDArray forward(NDArray x) {
        NDList gateUp = gateUpProj.apply(x) // [seq, 2 * intermediate]
                .split(2, 1);
        NDArray gate = gateUp.get(0); // [seq, intermediate]
        NDArray act = gate.mul(Activation.sigmoid(gate)).mul(gateUp.get(1)); // silu(gate) * up
        return downProj.apply(act);
    }

    /** Adds the packed gate|up and down projections, weight then bias each (the fused step's order). */
    void addFusedWeights(java.util.List<NDArray> into) {
        FusedDecodeStep.add(gateUpProj, into);
        FusedDecodeStep.add(downProj, into);
    }
}
