package io.refrag.encoder;

import io.refrag.core.model.ModelOptions;
import io.refrag.core.model.Projector;
import io.refrag.core.spi.ProjectorProvider;
import io.refrag.core.train.spi.TrainableProjector;

import java.nio.file.Path;

/** Registers {@link MlpProjector} with {@link java.util.ServiceLoader}. */
public final class MlpProjectorProvider implements ProjectorProvider {

    @Override
    public Projector load(Path file, ModelOptions options) {
        return MlpProjector.load(file, options);
    }

    @Override
    public Projector createUntrained(int inputSize, int outputSize, long seed, ModelOptions options) {
        return createTrainable(inputSize, outputSize, seed, options);
    }

    @Override
    public TrainableProjector loadTrainable(Path file, ModelOptions options) {
        return MlpProjector.load(file, options);
    }

    @Override
    public TrainableProjector createTrainable(int inputSize, int outputSize, long seed, ModelOptions options) {
        return MlpProjector.create(inputSize, outputSize, true, MlpProjector.ProjectorActivation.GELU, seed, options);
    }
}
