package io.refrag.core.spi;

import java.nio.file.Path;

/** {@link java.util.ServiceLoader} entry point that loads or creates projection layers. */
public interface ProjectorProvider {

    /**
     * @param file a projector safetensors file
     * @param options device and precision
     * @return the projector
     */
    Projector load(Path file, ModelOptions options);

    /**
     * Creates an untrained, deterministically initialised 2-layer MLP projector (a warning is logged).
     *
     * @param inputSize encoder hidden size
     * @param outputSize decoder hidden size
     * @param seed initialisation seed
     * @param options device and precision
     * @return the projector
     */
    Projector createUntrained(int inputSize, int outputSize, long seed, ModelOptions options);
}
