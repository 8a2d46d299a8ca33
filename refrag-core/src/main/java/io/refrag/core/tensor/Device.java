package io.refrag.core.tensor;

import io.refrag.core.exception.InvalidRequestException;

import java.util.Locale;

/**
 * Where a model runs, as a user names it: parsed once ({@link #parse}), checked against the machine when a model
 * loads ({@link Devices#resolve}).
 *
 * @param kind auto, CPU, CUDA or MPS
 * @param index the CUDA device's index; 0 otherwise
 */
public record Device(Kind kind, int index) {
    /** CUDA if PyTorch sees a GPU, then Apple MPS, then CPU; the {@code refrag.device} system property overrides. */
    public static final Device AUTO = new Device(Kind.AUTO, 0);
    /** The CPU. */
    public static final Device CPU = new Device(Kind.CPU, 0);
    /** Apple silicon's GPU. */
    public static final Device MPS = new Device(Kind.MPS, 0);
    /** What {@link #parse} accepts. */
    public static final String ALLOWED = "auto, cpu, cuda, cuda:N, mps";

    /** The kinds of device. */
    public enum Kind {
        /** chosen when a model loads */
        AUTO,
        /** the CPU */
        CPU,
        /** an NVIDIA GPU */
        CUDA,
        /** Apple silicon's GPU */
        MPS
    }

    /** Validates the index. */
    public Device {
        if (kind == null) {
            throw new InvalidRequestException("device kind is null; allowed: " + ALLOWED);
        }
        if (index < 0 || (kind != Kind.CUDA && index != 0)) {
            throw new InvalidRequestException("device index " + index + " is invalid for " + kind
                    + ": only cuda takes one, >= 0");
        }
    }

    /**
     * @param index the GPU's index, {@code >= 0}
     * @return that CUDA device
     */
    public static Device cuda(int index) {
        return new Device(Kind.CUDA, index);
    }

    /**
     * @param name {@code auto} (or null or blank), {@code cpu}, {@code cuda}, {@code cuda:N} ({@code gpu} and
     *     {@code gpu:N} too) or {@code mps}, in any case
     * @return the device
     * @throws InvalidRequestException for any other name
     */
    public static Device parse(String name) {
        String n = name == null ? "" : name.strip().toLowerCase(Locale.ROOT);
        switch (n) {
            case "", "auto" -> {
                return AUTO;
            }
            case "cpu" -> {
                return CPU;
            }
            case "mps" -> {
                return MPS;
            }
            case "cuda", "gpu" -> {
                return cuda(0);
            }
            default -> {
                int colon = n.indexOf(':');
                String prefix = colon < 0 ? n : n.substring(0, colon);
                if ((prefix.equals("cuda") || prefix.equals("gpu")) && n.substring(colon + 1).matches("\\d{1,4}")) {
                    return cuda(Integer.parseInt(n.substring(colon + 1)));
                }
                throw new InvalidRequestException("unknown device '" + name + "'; allowed: " + ALLOWED);
            }
        }
    }

    /** @return the name {@link #parse} reads back: {@code auto}, {@code cpu}, {@code cuda:N} or {@code mps} */
    @Override
    public String toString() {
        return kind == Kind.CUDA ? "cuda:" + index : kind.name().toLowerCase(Locale.ROOT);
    }
}
