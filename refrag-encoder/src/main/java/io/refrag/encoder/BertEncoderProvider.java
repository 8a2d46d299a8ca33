package io.refrag.encoder;

import io.refrag.core.checkpoint.HfConfig;
import io.refrag.core.spi.ChunkEncoder;
import io.refrag.core.spi.EncoderProvider;
import io.refrag.core.spi.ModelOptions;
import io.refrag.core.spi.Pooling;

import java.nio.file.Path;
import java.util.Set;

/** Registers {@link BertChunkEncoder} for bert, roberta and xlm-roberta checkpoints. */
public final class BertEncoderProvider implements EncoderProvider {

    @Override
    public Set<String> modelTypes() {
        return BertConfig.MODEL_TYPES;
    }

    @Override
    public ChunkEncoder load(Path folder, HfConfig config, ModelOptions options, Pooling pooling) {
        return BertChunkEncoder.load(folder, config, options, pooling);
    }
}
