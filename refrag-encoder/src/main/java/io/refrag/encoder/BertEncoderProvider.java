package io.refrag.encoder;

import io.refrag.core.json.JsonConfig;
import io.refrag.core.model.ChunkEncoder;
import io.refrag.core.model.ModelOptions;
import io.refrag.core.model.Pooling;
import io.refrag.core.spi.EncoderProvider;
import io.refrag.core.spi.train.TrainableEncoder;

import java.nio.file.Path;
import java.util.Set;

/** Registers {@link BertChunkEncoder} for bert, roberta and xlm-roberta checkpoints. */
public final class BertEncoderProvider implements EncoderProvider {

    @Override
    public Set<String> modelTypes() {
        return BertConfig.MODEL_TYPES;
    }

    @Override
    public ChunkEncoder load(Path folder, JsonConfig config, ModelOptions options, Pooling pooling) {
        return BertChunkEncoder.load(folder, config, options, pooling);
    }

    @Override
    public TrainableEncoder loadTrainable(Path folder, JsonConfig config, ModelOptions options, Pooling pooling) {
        return BertChunkEncoder.load(folder, config, options, pooling);
    }
}
