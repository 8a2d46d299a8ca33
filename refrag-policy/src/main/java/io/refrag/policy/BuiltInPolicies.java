package io.refrag.policy;

import io.refrag.core.exception.InvalidRequestException;
import io.refrag.core.model.ExpansionPolicy;
import io.refrag.core.model.ModelOptions;
import io.refrag.core.model.PolicyNames;
import io.refrag.core.spi.PolicyProvider;
import io.refrag.core.spi.train.TrainablePolicy;

import java.nio.file.Path;
import java.util.Optional;
import java.util.Set;

/** Registers the built-in policies with {@link java.util.ServiceLoader}. */
public final class BuiltInPolicies implements PolicyProvider {
    @Override
    public Set<String> names() {
        return Set.copyOf(PolicyNames.ALL_NAMES);
    }

    @Override
    public ExpansionPolicy create(String name, Path file, ModelOptions options) {
        return switch (name) {
            case PolicyNames.NONE -> new NoExpansionPolicy();
            case PolicyNames.ALL -> new ExpandAllPolicy();
            case PolicyNames.RANDOM -> new RandomPolicy();
            case PolicyNames.QUERY_SIMILARITY -> new QuerySimilarityPolicy();
            case PolicyNames.PERPLEXITY -> new PerplexityPolicy();
            case PolicyNames.LEARNED -> file != null ? LearnedPolicy.load(file, options) : new LazyLearnedPolicy(options);
            default -> throw new InvalidRequestException("unknown expansion policy '" + name + "'; available: "
                    + PolicyNames.ALL_NAMES);
        };
    }

    @Override
    public Optional<TrainablePolicy> createTrainable(int inputSize, long seed, ModelOptions options) {
        return Optional.of(LearnedPolicy.create(inputSize, seed, options));
    }

    @Override
    public Optional<TrainablePolicy> loadTrainable(Path file, ModelOptions options) {
        return Optional.of(LearnedPolicy.load(file, options));
    }
}
