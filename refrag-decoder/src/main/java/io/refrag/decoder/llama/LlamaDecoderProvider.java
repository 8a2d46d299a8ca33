package io.refrag.decoder.llama;

import io.refrag.core.json.JsonConfig;
import io.refrag.core.model.CausalDecoder;
import io.refrag.core.model.ModelOptions;
import io.refrag.core.spi.DecoderProvider;
import io.refrag.core.spi.train.TrainableDecoder;

import java.nio.file.Path;
import java.util.Set;

/** Registers {@link LlamaDecoder} for {@code model_type: llama} with {@link java.util.ServiceLoader}. */
public final class LlamaDecoderProvider implements DecoderProvider {

    @Override
    public Set<String> modelTypes() {
        return Set.of("llama");
    }

    @Override
    public CausalDecoder load(Path folder, JsonConfig config, ModelOptions options) {
        return LlamaDecoder.load(folder, config, options);
    }

    @Override
    public TrainableDecoder loadTrainable(Path folder, JsonConfig config, ModelOptions options) {
        return LlamaDecoder.load(folder, config, options);
    }
}
