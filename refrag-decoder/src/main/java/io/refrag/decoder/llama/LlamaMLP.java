package io.refrag.decoder.llama;

import ai.djl.ndarray.NDArray;
import ai.djl.nn.Activation;
import ai.djl.nn.core.Linear;

/** SwiGLU: {@code down_proj(silu(gate_proj(x)) * up_proj(x))}. */
final class LlamaMLP {
    private final NDArray gateProj; // [intermediate, hidden]
    private final NDArray gateBias;
    private final NDArray upProj; // [intermediate, hidden]
    private final NDArray upBias;
    private final NDArray downProj; // [hidden, intermediate]
    private final NDArray downBias;

    LlamaMLP(NDArray gateProj, NDArray gateBias, NDArray upProj, NDArray upBias, NDArray downProj, NDArray downBias) {
        this.gateProj = gateProj;
        this.gateBias = gateBias;
        this.upProj = upProj;
        this.upBias = upBias;
        this.downProj = downProj;
        this.downBias = downBias;
    }

    /**
     * @param x {@code [seq, hidden]}
     * @return {@code [seq, hidden]}
     */
    NDArray forward(NDArray x) {
        NDArray gate = Linear.linear(x, gateProj, gateBias).singletonOrThrow(); // [seq, intermediate]
        NDArray up = Linear.linear(x, upProj, upBias).singletonOrThrow(); // [seq, intermediate]
        NDArray act = gate.mul(Activation.sigmoid(gate)).mul(up); // silu(gate) * up
        return Linear.linear(act, downProj, downBias).singletonOrThrow();
    }
}
