package io.refrag.encoder;

import io.refrag.core.model.ModelOptions;
import io.refrag.core.model.Projector;
import io.refrag.core.spi.ProjectorProvider;
import io.refrag.core.spi.train.TrainableProjector;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.file.Path;

/** Registers {@link MlpProjector} with {@link java.util.ServiceLoader}. */
public final class MlpProjectorProvider implements ProjectorProvider {
    private static final Logger LOG = LoggerFactory.getLogger(MlpProjectorProvider.class);

    @Override
    public Projector load(Path file, int inputSize, int outputSize, ModelOptions options) {
        return MlpProjector.load(file, inputSize, outputSize, options);
    }

    @Override
    public Projector createUntrained(int inputSize, int outputSize, long seed, ModelOptions options) {
        LOG.warn("serving an UNTRAINED projector ({} -> {}, seed {}): chunk embeddings carry no trained meaning for the "
                + "decoder; train one with the reconstruction task", inputSize, outputSize, seed);
        return createTrainable(inputSize, outputSize, seed, options);
    }

    @Override
    public TrainableProjector loadTrainable(Path file, int inputSize, int outputSize, ModelOptions options) {
        return MlpProjector.load(file, inputSize, outputSize, options);
    }

    @Override
    public TrainableProjector createTrainable(int inputSize, int outputSize, long seed, ModelOptions options) {
        return MlpProjector.create(inputSize, outputSize, true, MlpProjector.ProjectorActivation.GELU, seed, options);
    }
}
