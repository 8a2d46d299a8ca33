package io.refrag.core.spi;

import io.refrag.core.checkpoint.HfConfig;

import java.nio.file.Path;
import java.util.Set;

/** {@link java.util.ServiceLoader} entry point of a decoder implementation. */
public interface DecoderProvider {

    /** @return HF {@code model_type} values this provider loads */
    Set<String> modelTypes();

    /**
     * @param folder an HF checkpoint folder
     * @param config its parsed config.json
     * @param options device and precision
     * @return the loaded decoder
     */
    CausalDecoder load(Path folder, HfConfig config, ModelOptions options);
}
