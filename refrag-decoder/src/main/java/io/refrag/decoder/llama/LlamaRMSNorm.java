package io.refrag.decoder.llama;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;

/** {@code weight * x / sqrt(mean(x^2) + eps)}, computed in float32 as HF does. */
final class LlamaRMSNorm {
    private final NDArray weight; // [hidden]
    private final float eps;

    LlamaRMSNorm(NDArray weight, float eps) {
        this.weight = weight;
        this.eps = eps;
    }

    /**
     * @param x {@code [seq, hidden]}
     * @return normalised {@code [seq, hidden]}
     */
    NDArray forward(NDArray x) {
        DataType type = x.getDataType();
        NDArray x32 = type == DataType.FLOAT32 ? x : x.toType(DataType.FLOAT32, false);
        NDArray variance = x32.square().mean(new int[] {-1}, true); // [seq, 1]
        NDArray normed = x32.div(variance.add(eps).sqrt());
        return (type == DataType.FLOAT32 ? normed : normed.toType(type, false)).mul(weight);
    }

    /** @return the scale {@code [hidden]} */
    NDArray weight() {
        return weight;
    }
}
