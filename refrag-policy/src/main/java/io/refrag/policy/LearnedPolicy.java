package io.refrag.policy;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.refrag.core.model.ModelOptions;
import io.refrag.core.model.PolicyInput;
import io.refrag.core.model.PolicyNames;
import io.refrag.core.tensor.Devices;
import io.refrag.core.tensor.Tensors;
import io.refrag.core.spi.train.TrainablePolicy;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;

/**
 * {@code learned}: the {@link PolicyNetwork} scores every chunk from its projected embedding and chunks are chosen
 * one by one under a pointer mask. Costs one small transformer forward over the chunk embeddings (every chunk must
 * be encoded). Thread-safe.
 */
public final class LearnedPolicy extends BasePolicy implements TrainablePolicy {
    private static final Logger LOG = LoggerFactory.getLogger(LearnedPolicy.class);

    private final PolicyNetwork network;

    /** @param network the policy network (owned from now on) */
    public LearnedPolicy(PolicyNetwork network) {
        super(PolicyNames.LEARNED, Need.CHUNK_EMBEDDINGS);
        this.network = network;
    }

    /**
     * @param file policy weights
     * @param options device
     * @return the policy
     */
    public static LearnedPolicy load(Path file, ModelOptions options) {
        return new LearnedPolicy(PolicyNetwork.load(NDManager.newBaseManager(Devices.resolve(options.device())), file));
    }

    /**
     * An untrained network (seed 0, width min(inputSize, 256), 4 heads, 2 layers); logs a warning.
     *
     * @param inputSize chunk-embedding width
     * @param options device
     * @return the policy
     */
    public static LearnedPolicy untrained(int inputSize, ModelOptions options) {
        LOG.warn("learned policy has no weights file: using an UNTRAINED network (seed 0); train one first");
        return create(inputSize, 0, options);
    }

    /**
     * A seeded, untrained network to train: width min(inputSize, 256), 4 heads, 2 layers.
     *
     * @param inputSize chunk-embedding width (the decoder hidden size)
     * @param seed initialisation seed
     * @param options device
     * @return the policy
     */
    public static LearnedPolicy create(int inputSize, long seed, ModelOptions options) {
        NDManager m = NDManager.newBaseManager(Devices.resolve(options.device()));
        int width = Math.min(inputSize, 256);
        return new LearnedPolicy(PolicyNetwork.create(m, inputSize, width, 4, 2, seed));
    }

    /** @return the network */
    public PolicyNetwork network() {
        return network;
    }

    @Override
    public int inputSize() {
        return network.inputSize();
    }

    @Override
    public Map<String, NDArray> parameters() {
        return network.parameters();
    }

    @Override
    public NDArray logits(NDArray chunkEmbeddings) {
        return network.forward(chunkEmbeddings);
    }

    @Override
    public void save(Path file) {
        network.save(file);
    }

    @Override
    public int[] select(PolicyInput input, int budget) {
        float[][] rows = input.chunkEmbeddings();
        int width = network.inputSize();
        float[] logits;
        try (NDManager m = network.manager().newSubManager()) {
            NDArray in = Tensors.fromRows(m, rows, width, i -> "learned policy expects chunk embeddings of width "
                    + width + " but got " + rows[i].length + " (trained for another decoder?)");
            logits = network.forward(in).toFloatArray();
        }
        int[] picked = PolicyNetwork.selectGreedy(logits, budget);
        Arrays.sort(picked);
        return picked;
    }

    @Override
    public void close() {
        network.close();
    }
}
