package io.refrag.core.spi;

import io.refrag.core.checkpoint.HfConfig;

import java.nio.file.Path;
import java.util.Set;

/** {@link java.util.ServiceLoader} entry point of a chunk-encoder implementation. */
public interface EncoderProvider {

    /** @return HF {@code model_type} values this provider loads */
    Set<String> modelTypes();

    /**
     * @param folder an HF checkpoint folder
     * @param config its parsed config.json
     * @param options device and precision
     * @param pooling how token states become a chunk vector
     * @return the encoder
     */
    ChunkEncoder load(Path folder, HfConfig config, ModelOptions options, Pooling pooling);
}
