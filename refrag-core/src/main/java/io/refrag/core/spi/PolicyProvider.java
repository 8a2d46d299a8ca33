package io.refrag.core.spi;

import io.refrag.core.model.ExpansionPolicy;
import io.refrag.core.model.ModelOptions;
import io.refrag.core.spi.train.TrainablePolicy;

import java.nio.file.Path;
import java.util.Optional;
import java.util.Set;

/** {@link java.util.ServiceLoader} entry point of expansion policies. */
public interface PolicyProvider {

    /** @return policy names this provider creates */
    Set<String> names();

    /**
     * @param name one of {@link #names()}
     * @param file weights for learned policies (null for the others, or for a learned policy to start untrained)
     * @param options device and precision for learned policies
     * @return the policy
     */
    ExpansionPolicy create(String name, Path file, ModelOptions options);

    /**
     * Creates an untrained, seeded policy network for reinforcement-learning training.
     *
     * @param inputSize chunk-embedding width (the decoder hidden size)
     * @param seed initialisation seed
     * @param options device
     * @return the policy, or empty if this provider has no trainable policy
     */
    default Optional<TrainablePolicy> createTrainable(int inputSize, long seed, ModelOptions options) {
        return Optional.empty();
    }

    /**
     * Loads a trained policy network to train further.
     *
     * @param file its weights
     * @param options device
     * @return the policy, or empty if this provider has no trainable policy
     */
    default Optional<TrainablePolicy> loadTrainable(Path file, ModelOptions options) {
        return Optional.empty();
    }
}
