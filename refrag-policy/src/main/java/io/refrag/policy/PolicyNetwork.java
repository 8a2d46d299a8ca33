package io.refrag.policy;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Activation;
import ai.djl.nn.core.Linear;
import io.refrag.core.checkpoint.SafetensorsCheckpoint;
import io.refrag.core.checkpoint.SafetensorsWriter;
import io.refrag.core.exception.InvalidRequestException;
import io.refrag.core.exception.ModelLoadException;
import io.refrag.core.tensor.Tensors;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * REFRAG's learned expansion policy: a small transformer encoder over the chunk embeddings that outputs one logit per
 * chunk. Weight names follow PyTorch's {@code nn.TransformerEncoderLayer} (post-norm, ReLU):
 * {@code input_proj.{weight,bias}}, {@code layers.N.self_attn.in_proj_{weight,bias}},
 * {@code layers.N.self_attn.out_proj.{weight,bias}}, {@code layers.N.linear1/linear2/norm1/norm2.{weight,bias}},
 * {@code head.{weight,bias}}; metadata {@value #HEADS_KEY} holds the head count. Chunk order enters through fixed
 * sinusoidal position encodings (Vaswani et al.) added after {@code input_proj}, so the network can prefer chunks by
 * position as well as by content.
 */
public final class PolicyNetwork implements AutoCloseable {
    /** Safetensors metadata key holding the number of attention heads. */
    public static final String HEADS_KEY = "refrag.policy.heads";
    private static final float LAYER_NORM_EPS = 1e-5f;

    private final NDManager manager;
    private final Map<String, NDArray> weights; // HF/PyTorch name -> tensor, in file order
    private final int inputSize;
    private final int modelSize;
    private final int heads;
    private final int layers;

    private PolicyNetwork(NDManager manager, Map<String, NDArray> weights, int heads) {
        this.manager = manager;
        this.weights = weights;
        this.heads = heads;
        long[] in = weights.get("input_proj.weight").getShape().getShape();
        this.modelSize = Math.toIntExact(in[0]);
        this.inputSize = Math.toIntExact(in[1]);
        this.layers = (int) weights.keySet().stream().filter(n -> n.endsWith(".self_attn.in_proj_weight")).count();
        if (modelSize % heads != 0) {
            throw new ModelLoadException("policy width " + modelSize + " is not a multiple of its " + heads + " heads");
        }
    }

    /**
     * A seeded, untrained network (PyTorch Linear init; LayerNorm weight 1, bias 0).
     *
     * @param manager owner of the weights (the network closes it)
     * @param inputSize chunk-embedding width (the decoder hidden size)
     * @param modelSize transformer width
     * @param heads attention heads
     * @param layers transformer layers
     * @param seed initialisation seed
     * @return the network
     */
    public static PolicyNetwork create(NDManager manager, int inputSize, int modelSize, int heads, int layers,
            long seed) {
        if (inputSize < 1 || modelSize < 1 || heads < 1 || layers < 0 || modelSize % heads != 0) {
            throw new InvalidRequestException("policy network needs sizes >= 1 and width divisible by heads; got input "
                    + inputSize + ", width " + modelSize + ", heads " + heads + ", layers " + layers);
        }
        SplittableRandom r = new SplittableRandom(seed);
        Map<String, NDArray> w = new LinkedHashMap<>();
        long fanIn = 0;
        for (Map.Entry<String, long[]> e : layout(inputSize, modelSize, layers).entrySet()) {
            String name = e.getKey();
            long[] shape = e.getValue();
            if (name.contains(".norm")) { // LayerNorm: weight 1, bias 0
                w.put(name, name.endsWith("weight") ? manager.ones(new Shape(shape)) : manager.zeros(new Shape(shape)));
                continue;
            }
            if (shape.length == 2) { // a Linear's weight [out, in]; its bias follows with the same bound
                fanIn = shape[1];
            }
            double bound = 1 / Math.sqrt(fanIn);
            float[] v = new float[Math.toIntExact(new Shape(shape).size())];
            for (int i = 0; i < v.length; i++) {
                v[i] = (float) r.nextDouble(-bound, bound);
            }
            w.put(name, manager.create(v, new Shape(shape)));
        }
        return new PolicyNetwork(manager, w, heads);
    }

    /**
     * Every tensor of a network, in file order, with its shape.
     *
     * @param inputSize chunk-embedding width
     * @param width transformer width
     * @param layers transformer layers
     * @return names to shapes
     */
    private static Map<String, long[]> layout(long inputSize, long width, int layers) {
        Map<String, long[]> shapes = new LinkedHashMap<>();
        linearLayout(shapes, "input_proj", ".weight", ".bias", width, inputSize);
        for (int i = 0; i < layers; i++) {
            String l = "layers." + i + ".";
            linearLayout(shapes, l + "self_attn.in_proj", "_weight", "_bias", 3 * width, width);
            linearLayout(shapes, l + "self_attn.out_proj", ".weight", ".bias", width, width);
            linearLayout(shapes, l + "linear1", ".weight", ".bias", 2 * width, width);
            linearLayout(shapes, l + "linear2", ".weight", ".bias", width, 2 * width);
            for (String norm : new String[] {"norm1", "norm2"}) {
                shapes.put(l + norm + ".weight", new long[] {width});
                shapes.put(l + norm + ".bias", new long[] {width});
            }
        }
        linearLayout(shapes, "head", ".weight", ".bias", 1, width);
        return shapes;
    }

    private static void linearLayout(Map<String, long[]> shapes, String module, String weight, String bias, long out,
            long in) {
        shapes.put(module + weight, new long[] {out, in});
        shapes.put(module + bias, new long[] {out});
    }

    /**
     * @param manager owner of the weights (the network closes it)
     * @param file a policy safetensors file
     * @return the network
     */
    public static PolicyNetwork load(NDManager manager, Path file) {
        try (SafetensorsCheckpoint c = SafetensorsCheckpoint.openFile(file)) {
            String heads = c.metadata().get(HEADS_KEY);
            if (heads == null) {
                throw new ModelLoadException(file + " lacks the metadata key " + HEADS_KEY + " (is it a policy file?)");
            }
            int headCount;
            try {
                headCount = Integer.parseInt(heads.strip());
            } catch (NumberFormatException e) {
                headCount = 0;
            }
            if (headCount < 1) {
                throw new ModelLoadException(file + ": metadata " + HEADS_KEY + " must be a whole number >= 1 "
                        + "(attention heads), got '" + heads + "'");
            }
            if (c.find("input_proj.weight").isEmpty() || c.info("input_proj.weight").shape().length != 2) {
                throw new ModelLoadException(file + " lacks a 2-D input_proj.weight (is it a policy file?)");
            }
            long[] in = c.info("input_proj.weight").shape(); // [width, inputSize]
            int layers = (int) c.names().stream().filter(n -> n.endsWith(".self_attn.in_proj_weight")).count();
            Map<String, long[]> expected = layout(in[1], in[0], layers);
            // Every shape is checked before any data is read: a header claiming huge tensors costs nothing.
            if (!expected.keySet().equals(c.names())) {
                throw new ModelLoadException(file + ": a policy network of " + layers + " layers has the tensors "
                        + expected.keySet() + ", found " + c.names());
            }
            for (Map.Entry<String, long[]> e : expected.entrySet()) {
                if (!Arrays.equals(e.getValue(), c.info(e.getKey()).shape())) {
                    throw new ModelLoadException(file + ": policy tensor '" + e.getKey() + "' has shape "
                            + c.info(e.getKey()).shapeText() + ", expected " + Arrays.toString(e.getValue())
                            + " for width " + in[0] + " and input " + in[1]);
                }
            }
            Map<String, NDArray> w = new LinkedHashMap<>();
            for (String name : expected.keySet()) {
                w.put(name, manager.create(c.readFloats(name), new Shape(c.info(name).shape())));
            }
            return new PolicyNetwork(manager, w, headCount);
        } catch (RuntimeException e) {
            manager.close();
            throw e;
        }
    }

    /** @return chunk-embedding width it accepts */
    public int inputSize() {
        return inputSize;
    }

    /** @return all weights under their file names, in file order, for trainers */
    public Map<String, NDArray> parameters() {
        return Collections.unmodifiableMap(weights);
    }

    /**
     * @param x chunk embeddings {@code [chunks, inputSize]}
     * @return one logit per chunk {@code [chunks]}, owned by x's manager
     */
    public NDArray forward(NDArray x) {
        long n = x.getShape().get(0);
        int hd = modelSize / heads;
        NDArray h = linear(x, "input_proj").add(positions(x.getManager(), n)); // [chunks, width]
        for (int i = 0; i < layers; i++) {
            String l = "layers." + i + ".";
            NDList qkv = Linear.linear(h, w(l + "self_attn.in_proj_weight"), w(l + "self_attn.in_proj_bias"))
                    .singletonOrThrow() // [chunks, 3 * width]
                    .reshape(n, 3L * heads, hd)
                    .transpose(1, 0, 2) // [3 * heads, chunks, hd]
                    .split(3, 0);
            NDArray attn = Tensors.scale(qkv.get(0).matMul(qkv.get(1).transpose(0, 2, 1)), (float) (1 / Math.sqrt(hd)))
                    .softmax(-1)
                    .matMul(qkv.get(2)) // [heads, chunks, hd]
                    .transpose(1, 0, 2)
                    .reshape(n, modelSize); // [chunks, width]
            h = layerNorm(h.add(linear(attn, l + "self_attn.out_proj")), l + "norm1");
            NDArray ff = linear(Activation.relu(linear(h, l + "linear1")), l + "linear2");
            h = layerNorm(h.add(ff), l + "norm2");
        }
        return linear(h, "head").reshape(n); // [chunks]
    }

    /** Sinusoidal position encodings {@code [chunks, width]}: sin on even, cos on odd features. */
    private NDArray positions(NDManager m, long chunks) {
        float[] pe = new float[Math.toIntExact(chunks * modelSize)];
        for (int pos = 0; pos < chunks; pos++) {
            for (int i = 0; i < modelSize; i++) {
                double angle = pos / Math.pow(10000, (double) (i - i % 2) / modelSize);
                pe[pos * modelSize + i] = (float) (i % 2 == 0 ? Math.sin(angle) : Math.cos(angle));
            }
        }
        return m.create(pe, new Shape(chunks, modelSize));
    }

    /**
     * Selects chunks one by one with a pointer mask: each step takes the highest-logit chunk not yet chosen (greedy
     * decoding of the policy's sequential choice).
     *
     * @param logits one per chunk
     * @param budget how many to choose
     * @return chosen indices, in choice order
     */
    public static int[] selectGreedy(float[] logits, int budget) {
        boolean[] taken = new boolean[logits.length];
        int[] picked = new int[budget];
        for (int step = 0; step < budget; step++) {
            int best = -1;
            for (int i = 0; i < logits.length; i++) {
                if (!taken[i] && (best < 0 || logits[i] > logits[best])) {
                    best = i;
                }
            }
            taken[best] = true;
            picked[step] = best;
        }
        return picked;
    }

    /**
     * Writes the network atomically.
     *
     * @param file target safetensors file
     */
    public void save(Path file) {
        SafetensorsWriter sw = new SafetensorsWriter().metadata(HEADS_KEY, Integer.toString(heads));
        weights.forEach((name, t) -> sw.add(name, t.toFloatArray(), t.getShape().getShape()));
        sw.write(file);
    }

    /** @return the network's manager (owner of its weights) */
    NDManager manager() {
        return manager;
    }

    private NDArray w(String name) {
        NDArray t = weights.get(name);
        if (t == null) {
            throw new ModelLoadException("policy network is missing tensor '" + name + "'");
        }
        return t;
    }

    private NDArray linear(NDArray x, String module) {
        return Linear.linear(x, w(module + ".weight"), w(module + ".bias")).singletonOrThrow();
    }

    private NDArray layerNorm(NDArray x, String module) {
        return x.getNDArrayInternal()
                .layerNorm(x, new Shape(modelSize), w(module + ".weight"), w(module + ".bias"), LAYER_NORM_EPS)
                .singletonOrThrow();
    }

    @Override
    public void close() {
        manager.close();
    }
}
