package io.refrag.policy;

import io.refrag.core.InvalidRequestException;
import io.refrag.core.spi.ExpansionPolicy;
import io.refrag.core.spi.ModelOptions;
import io.refrag.core.spi.PolicyProvider;
import io.refrag.core.spi.TrainablePolicy;

import java.nio.file.Path;
import java.util.Optional;
import java.util.Set;

/** Registers the built-in policies with {@link java.util.ServiceLoader}. */
public final class BuiltInPolicies implements PolicyProvider {
    @Override
    public Set<String> names() {
        return Set.of("none", "all", "random", "query-similarity", "perplexity", "learned");
    }

    @Override
    public ExpansionPolicy create(String name, Path file, ModelOptions options) {
        return switch (name) {
            case "none" -> new NoExpansionPolicy();
            case "all" -> new ExpandAllPolicy();
            case "random" -> new RandomPolicy();
            case "query-similarity" -> new QuerySimilarityPolicy();
            case "perplexity" -> new PerplexityPolicy();
            case "learned" -> file != null ? LearnedPolicy.load(file, options) : new LazyLearnedPolicy(options);
            default -> throw new InvalidRequestException("unknown expansion policy '" + name + "'; available: "
                    + new java.util.TreeSet<>(names()));
        };
    }

    @Override
    public Optional<TrainablePolicy> createTrainable(int inputSize, long seed, ModelOptions options) {
        return Optional.of(LearnedPolicy.create(inputSize, seed, options));
    }
}
