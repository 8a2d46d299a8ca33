package io.refrag.core.spi;

import java.util.Objects;

/**
 * How a model is placed: the device (see {@link io.refrag.core.Devices}) and compute precision.
 *
 * @param device {@code auto} (CUDA, then MPS, then CPU), {@code cpu}, {@code cuda}, {@code cuda:N} or {@code mps}
 * @param precision compute precision
 */
public record ModelOptions(String device, Precision precision) {

    /** Validates the fields. */
    public ModelOptions {
        Objects.requireNonNull(device, "device");
        Objects.requireNonNull(precision, "precision");
    }

    /** @return automatic device (or the {@code refrag.device} system property), fp32 */
    public static ModelOptions defaults() {
        return new ModelOptions("auto", Precision.FP32);
    }
}
