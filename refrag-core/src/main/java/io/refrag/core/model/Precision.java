package io.refrag.core.model;

import ai.djl.ndarray.types.DataType;
import io.refrag.core.exception.InvalidRequestException;

import java.util.Locale;

/**
 * Compute precision of a loaded model. Checkpoint weights may be stored as F32, F16 or BF16 whatever the precision.
 *
 * <p>BF16 compute is not offered: DJL 0.35.1's PyTorch JNI aborts the JVM when it creates or casts to BF16 tensors,
 * so BF16 checkpoints are widened on load.
 */
public enum Precision {
    /** float32: the CPU default. */
    FP32(DataType.FLOAT32),
    /** float16: for GPUs. */
    FP16(DataType.FLOAT16);

    private final DataType dataType;

    Precision(DataType dataType) {
        this.dataType = dataType;
    }

    /** @return the DJL data type used for weights and activations */
    public DataType dataType() {
        return dataType;
    }

    /**
     * @param text fp32/float32 or fp16/float16 (case-insensitive)
     * @return the precision
     * @throws InvalidRequestException for anything else, bf16 included
     */
    public static Precision parse(String text) {
        String t = text.toLowerCase(Locale.ROOT);
        return switch (t) {
            case "fp32", "float32", "f32" -> FP32;
            case "fp16", "float16", "f16", "half" -> FP16;
            case "bf16", "bfloat16" -> throw new InvalidRequestException("precision '" + text
                    + "' is not available: DJL 0.35.1's PyTorch JNI cannot compute in bf16 (bf16 checkpoints load "
                    + "fine and are widened); use fp32 or fp16");
            default -> throw new InvalidRequestException("unknown precision '" + text + "'; allowed: fp32, fp16");
        };
    }
}
