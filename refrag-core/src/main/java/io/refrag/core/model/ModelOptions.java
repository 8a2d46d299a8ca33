package io.refrag.core.model;

import io.refrag.core.exception.InvalidRequestException;
import io.refrag.core.tensor.Device;

import java.nio.file.Path;
import java.util.Objects;

/**
 * How a model is placed: the device (see {@link io.refrag.core.tensor.Devices}), compute precision, and whether its weights
 * may be trained.
 *
 * @param device where the model runs
 * @param precision compute precision
 * @param trainable whether the weights may receive gradients and optimiser updates (the fine-tuning hooks); a serving
 *     model seals its weights' manager instead, so that any array leaking onto it fails fast
 * @param threads PyTorch intra-op threads on the CPU, set when a decoder loads and then kept; 0 lets the library
 *     choose ({@link io.refrag.core.tensor.Devices#intraOpThreads}: one for a small decoder, else the cores) and lower
 *     the count while other processes keep cores busy ({@link io.refrag.core.tensor.CpuThreads})
 * @param adapter a LoRA adapter folder in PEFT's layout ({@link io.refrag.core.lora.LoraAdapter}) applied to the
 *     model as it loads, or null
 * @param unmergedAdapter whether the adapter runs beside the base weights instead of merged into them (merged is the
 *     default: the model then runs exactly as fast as the base model); a trainable model's adapter is never merged
 */
public record ModelOptions(Device device, Precision precision, boolean trainable, int threads, Path adapter,
        boolean unmergedAdapter) {

    /** Validates the fields. */
    public ModelOptions {
        Objects.requireNonNull(device, "device");
        Objects.requireNonNull(precision, "precision");
        if (threads < 0) {
            throw new InvalidRequestException("threads must be >= 0 (0: the library chooses), got " + threads);
        }
    }

    /**
     * Options without an adapter.
     *
     * @param device the device
     * @param precision compute precision
     * @param trainable whether the weights train
     * @param threads intra-op threads, 0 for the library's choice
     */
    public ModelOptions(Device device, Precision precision, boolean trainable, int threads) {
        this(device, precision, trainable, threads, null, false);
    }

    /**
     * Options whose thread count the library chooses.
     *
     * @param device the device
     * @param precision compute precision
     * @param trainable whether the weights train
     */
    public ModelOptions(Device device, Precision precision, boolean trainable) {
        this(device, precision, trainable, 0);
    }

    /**
     * Serving options (weights not trainable).
     *
     * @param device the device
     * @param precision compute precision
     */
    public ModelOptions(Device device, Precision precision) {
        this(device, precision, false);
    }

    /** @return automatic device (or the {@code refrag.device} system property), fp32 */
    public static ModelOptions defaults() {
        return new ModelOptions(Device.AUTO, Precision.FP32);
    }

    /** @return these options with trainable weights */
    public ModelOptions withTrainable() {
        return new ModelOptions(device, precision, true, threads, adapter, unmergedAdapter);
    }

    /**
     * @param n PyTorch intra-op threads, or 0 for the library's choice
     * @return these options with that thread count
     */
    public ModelOptions withThreads(int n) {
        return new ModelOptions(device, precision, trainable, n, adapter, unmergedAdapter);
    }

    /**
     * @param folder a LoRA adapter folder (PEFT's layout), or null for none
     * @return these options with that adapter
     */
    public ModelOptions withAdapter(Path folder) {
        return new ModelOptions(device, precision, trainable, threads, folder, unmergedAdapter);
    }

    /**
     * @param unmerged whether adapters run beside the base weights rather than merged into them
     * @return these options so
     */
    public ModelOptions withUnmergedAdapter(boolean unmerged) {
        return new ModelOptions(device, precision, trainable, threads, adapter, unmerged);
    }
}
