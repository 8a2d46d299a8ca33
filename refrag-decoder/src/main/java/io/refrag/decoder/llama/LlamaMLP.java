package io.refrag.decoder.llama;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.nn.Activation;

/** SwiGLU: {@code down_proj(silu(gate_proj(x)) * up_proj(x))}, gate and up applied as one fused matrix. */
final class LlamaMLP {
    private final NDArray gateUpProj; // [2 * intermediate, hidden]: gate_proj | up_proj
    private final NDArray gateUpBias; // [2 * intermediate] or null
    private final NDArray downProj; // [hidden, intermediate]
    private final NDArray downBias; // [hidden] or null

    LlamaMLP(NDArray gateUpProj, NDArray gateUpBias, NDArray downProj, NDArray downBias) {
        this.gateUpProj = gateUpProj;
        this.gateUpBias = gateUpBias;
        this.downProj = downProj;
        this.downBias = downBias;
    }

    /**
     * @param x {@code [seq, hidden]}
     * @return {@code [seq, hidden]}
     */
    NDArray forward(NDArray x) {
        NDList gateUp = Projections.apply(x, gateUpProj, gateUpBias) // [seq, 2 * intermediate]
                .split(2, 1);
        NDArray gate = gateUp.get(0); // [seq, intermediate]
        NDArray act = gate.mul(Activation.sigmoid(gate)).mul(gateUp.get(1)); // silu(gate) * up
        return Projections.apply(act, downProj, downBias);
    }
}
