package io.refrag.core.spi;

import io.refrag.core.exception.InvalidRequestException;
import io.refrag.core.exception.ModelLoadException;
import io.refrag.core.json.JsonConfig;
import io.refrag.core.model.CausalDecoder;
import io.refrag.core.model.ChunkEncoder;
import io.refrag.core.model.ExpansionPolicy;
import io.refrag.core.model.ModelOptions;
import io.refrag.core.model.Pooling;
import io.refrag.core.spi.train.TrainableDecoder;
import io.refrag.core.spi.train.TrainableEncoder;
import io.refrag.core.spi.train.TrainablePolicy;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.ServiceLoader;
import java.util.Set;
import java.util.TreeSet;

/** Finds implementations on the class path with {@link ServiceLoader}, so core never depends on them. */
public final class Providers {
    private Providers() {
    }

    /**
     * Loads a decoder checkpoint with the provider registered for its {@code model_type}.
     *
     * @param folder an HF checkpoint folder
     * @param options device and precision
     * @return the decoder
     * @throws ModelLoadException if the folder is missing or no provider handles its model_type
     */
    public static CausalDecoder loadDecoder(Path folder, ModelOptions options) {
        JsonConfig config = JsonConfig.read(folder);
        DecoderProvider p = byModelType(DecoderProvider.class, config, folder, "decoder", DecoderProvider::modelTypes);
        return p.load(folder, config, options);
    }

    /**
     * Loads a chunk-encoder checkpoint with the provider registered for its {@code model_type}.
     *
     * @param folder an HF checkpoint folder
     * @param options device and precision
     * @param pooling how token states become a chunk vector
     * @return the encoder
     */
    public static ChunkEncoder loadEncoder(Path folder, ModelOptions options, Pooling pooling) {
        JsonConfig config = JsonConfig.read(folder);
        EncoderProvider p = byModelType(EncoderProvider.class, config, folder, "encoder", EncoderProvider::modelTypes);
        return p.load(folder, config, options, pooling);
    }

    /** @return the projector implementation on the class path */
    public static ProjectorProvider projectors() {
        return ServiceLoader.load(ProjectorProvider.class).findFirst().orElseThrow(() -> new ModelLoadException(
                "no projector implementation on the class path (is refrag-encoder there?)"));
    }

    /**
     * Creates an expansion policy by name.
     *
     * @param name none, all, random, query-similarity, perplexity, learned (or any registered name)
     * @param file weights for learned policies, or null
     * @param options device and precision
     * @return the policy
     * @throws io.refrag.core.exception.InvalidRequestException for unknown names
     */
    public static ExpansionPolicy loadPolicy(String name, Path file, ModelOptions options) {
        TreeSet<String> known = new TreeSet<>();
        for (PolicyProvider p : ServiceLoader.load(PolicyProvider.class)) {
            if (p.names().contains(name)) {
                return p.create(name, file, options);
            }
            known.addAll(p.names());
        }
        throw new InvalidRequestException("unknown expansion policy '" + name + "'; available: " + known
                + (known.isEmpty() ? " (is refrag-policy on the class path?)" : ""));
    }

    /** @return the names of every expansion policy on the class path */
    public static Set<String> policyNames() {
        TreeSet<String> names = new TreeSet<>();
        ServiceLoader.load(PolicyProvider.class).forEach(p -> names.addAll(p.names()));
        return names;
    }

    /**
     * Creates an untrained, seeded policy network for reinforcement-learning training.
     *
     * @param inputSize chunk-embedding width (the decoder hidden size)
     * @param seed initialisation seed
     * @param options device
     * @return the first trainable policy a provider offers
     * @throws io.refrag.core.exception.InvalidRequestException if no provider offers one
     */
    public static TrainablePolicy createTrainablePolicy(int inputSize, long seed, ModelOptions options) {
        for (PolicyProvider p : ServiceLoader.load(PolicyProvider.class)) {
            Optional<TrainablePolicy> policy = p.createTrainable(inputSize, seed, options);
            if (policy.isPresent()) {
                return policy.get();
            }
        }
        throw new InvalidRequestException("no trainable expansion policy on the class path (is refrag-policy there?)");
    }

    /**
     * Loads a decoder checkpoint for training.
     *
     * @param folder an HF checkpoint folder
     * @param options device, precision and trainability
     * @return the decoder
     */
    public static TrainableDecoder loadTrainableDecoder(Path folder, ModelOptions options) {
        JsonConfig config = JsonConfig.read(folder);
        return byModelType(DecoderProvider.class, config, folder, "decoder", DecoderProvider::modelTypes)
                .loadTrainable(folder, config, options);
    }

    /**
     * Loads a chunk-encoder checkpoint for training.
     *
     * @param folder an HF checkpoint folder
     * @param options device, precision and trainability
     * @param pooling how token states become a chunk vector
     * @return the encoder
     */
    public static TrainableEncoder loadTrainableEncoder(Path folder, ModelOptions options, Pooling pooling) {
        JsonConfig config = JsonConfig.read(folder);
        return byModelType(EncoderProvider.class, config, folder, "encoder", EncoderProvider::modelTypes)
                .loadTrainable(folder, config, options, pooling);
    }

    /**
     * Loads a trained policy network to train further.
     *
     * @param file its weights
     * @param options device
     * @return the first trainable policy a provider loads
     * @throws InvalidRequestException if no provider offers one
     */
    public static TrainablePolicy loadTrainablePolicy(Path file, ModelOptions options) {
        for (PolicyProvider p : ServiceLoader.load(PolicyProvider.class)) {
            Optional<TrainablePolicy> policy = p.loadTrainable(file, options);
            if (policy.isPresent()) {
                return policy.get();
            }
        }
        throw new InvalidRequestException("no trainable expansion policy on the class path (is refrag-policy there?)");
    }

    private static <P> P byModelType(Class<P> type, JsonConfig config, Path folder, String role,
            java.util.function.Function<P, Set<String>> types) {
        String modelType = config.requireString("model_type");
        List<P> all = new ArrayList<>();
        ServiceLoader.load(type).forEach(all::add);
        for (P p : all) {
            if (types.apply(p).contains(modelType)) {
                return p;
            }
        }
        TreeSet<String> known = new TreeSet<>();
        all.forEach(p -> known.addAll(types.apply(p)));
        throw new ModelLoadException("no " + role + " implementation for model_type '" + modelType + "' in " + folder
                + "; supported: " + known + (known.isEmpty() ? " (is refrag-" + role + " on the class path?)" : ""));
    }
}
