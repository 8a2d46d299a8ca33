package io.refrag.encoder;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Activation;
import ai.djl.nn.core.Linear;
import io.refrag.core.checkpoint.SafetensorsCheckpoint;
import io.refrag.core.checkpoint.SafetensorsWriter;
import io.refrag.core.exception.InvalidRequestException;
import io.refrag.core.exception.ModelLoadException;
import io.refrag.core.json.Enums;
import io.refrag.core.model.ModelOptions;
import io.refrag.core.tensor.Devices;
import io.refrag.core.tensor.Tensors;
import io.refrag.core.spi.train.TrainableProjector;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * REFRAG's projection layer: {@code fc2(act(fc1(x)))} from the encoder's hidden size to the decoder's (hidden = output
 * = decoder size), or a single {@code fc(x)}.
 *
 * <p>Safetensors layout: two-layer {@code fc1.weight [out, in]}, {@code fc1.bias [out]}, {@code fc2.weight [out, out]},
 * {@code fc2.bias [out]}; single-linear {@code fc.weight [out, in]}, {@code fc.bias [out]}; metadata key
 * {@value #ACTIVATION_KEY} names the activation. Serving never changes the weights; trainers update
 * {@link #parameters()} in place, and {@link #id()} keeps naming the weights it was created or loaded with (save and
 * reload a trained projector before serving it with a chunk cache).
 */
public final class MlpProjector implements TrainableProjector {
    /** Safetensors metadata key holding the activation name. */
    public static final String ACTIVATION_KEY = "refrag.projector.activation";

    /** Activation between the two layers. */
    public enum ProjectorActivation {
        /** Exact (erf) GELU, the default. */
        GELU,
        /** ReLU. */
        RELU,
        /** SiLU. */
        SILU,
        /** tanh. */
        TANH;

        /**
         * @param name gelu, relu, silu or tanh
         * @return the activation
         */
        public static ProjectorActivation parse(String name) {
            return Enums.parse(ProjectorActivation.class, name, "projector activation");
        }

        NDArray apply(NDArray x) {
            return switch (this) {
                case GELU -> Activation.gelu(x);
                case RELU -> Activation.relu(x);
                case SILU -> x.mul(Activation.sigmoid(x));
                case TANH -> x.tanh();
            };
        }
    }

    private final NDManager manager;
    private final int inputSize;
    private final int outputSize;
    private final ProjectorActivation activation;
    private final NDArray fc1Weight; // [out, in]
    private final NDArray fc1Bias; // [out]
    private final NDArray fc2Weight; // [out, out] or null for a single linear layer
    private final NDArray fc2Bias; // [out] or null
    private final String id;

    private MlpProjector(NDManager manager, ProjectorActivation activation, float[][] values, int inputSize,
            int outputSize) {
        this.manager = manager;
        this.inputSize = inputSize;
        this.outputSize = outputSize;
        this.activation = activation;
        this.fc1Weight = manager.create(values[0], new Shape(outputSize, inputSize));
        this.fc1Bias = manager.create(values[1], new Shape(outputSize));
        this.fc2Weight = values.length > 2 ? manager.create(values[2], new Shape(outputSize, outputSize)) : null;
        this.fc2Bias = values.length > 2 ? manager.create(values[3], new Shape(outputSize)) : null;
        this.id = "mlp-" + activation.name().toLowerCase(Locale.ROOT) + "-" + fingerprint(values);
    }

    /**
     * Creates a deterministically initialised projector (PyTorch {@code nn.Linear} default: uniform in
     * {@code ±1/sqrt(fan_in)}) and logs that it is untrained.
     *
     * @param inputSize encoder hidden size
     * @param outputSize decoder hidden size
     * @param twoLayer two layers with an activation, else one linear layer
     * @param activation activation between the layers
     * @param seed initialisation seed
     * @param options device (precision is float32: the projector is small)
     * @return the projector
     */
    public static MlpProjector create(int inputSize, int outputSize, boolean twoLayer, ProjectorActivation activation,
            long seed, ModelOptions options) {
        if (inputSize < 1 || outputSize < 1) {
            throw new InvalidRequestException("projector sizes must be >= 1, got " + inputSize + " -> " + outputSize);
        }
        SplittableRandom r = new SplittableRandom(seed);
        float[][] values = twoLayer
                ? new float[][] {
                    uniform(r, outputSize * inputSize, inputSize), uniform(r, outputSize, inputSize),
                    uniform(r, outputSize * outputSize, outputSize), uniform(r, outputSize, outputSize)}
                : new float[][] {uniform(r, outputSize * inputSize, inputSize), uniform(r, outputSize, inputSize)};
        return new MlpProjector(NDManager.newBaseManager(Devices.resolve(options.device())), activation, values,
                inputSize, outputSize);
    }

    /**
     * Loads a projector; every tensor's shape is checked against the sizes it must map between before any data is read,
     * so a header that claims huge tensors costs nothing.
     *
     * @param file a projector safetensors file
     * @param inputSize encoder hidden size it must accept
     * @param outputSize decoder hidden size it must produce
     * @param options device
     * @return the projector
     * @throws ModelLoadException if the file is not a projector from {@code inputSize} to {@code outputSize}
     */
    public static MlpProjector load(Path file, int inputSize, int outputSize, ModelOptions options) {
        try (SafetensorsCheckpoint c = SafetensorsCheckpoint.openFile(file)) {
            ProjectorActivation act = ProjectorActivation.parse(c.metadata().getOrDefault(ACTIVATION_KEY, "gelu"));
            boolean twoLayer = c.find("fc1.weight").isPresent();
            String first = twoLayer ? "fc1" : "fc";
            int out = outputSize;
            int in = inputSize;
            List<String> names = new ArrayList<>(List.of(first + ".weight", first + ".bias"));
            List<long[]> shapes = new ArrayList<>(List.of(new long[] {out, in}, new long[] {out}));
            if (twoLayer) {
                names.addAll(List.of("fc2.weight", "fc2.bias"));
                shapes.addAll(List.of(new long[] {out, out}, new long[] {out}));
            }
            if (c.names().size() != names.size()) {
                throw new ModelLoadException(file + ": expected exactly the tensors " + names + ", found " + c.names());
            }
            float[][] values = new float[names.size()][];
            for (int i = 0; i < names.size(); i++) {
                if (!Arrays.equals(c.info(names.get(i)).shape(), shapes.get(i))) {
                    throw new ModelLoadException(file + ": tensor '" + names.get(i) + "' has shape "
                            + c.info(names.get(i)).shapeText() + ", expected " + Arrays.toString(shapes.get(i))
                            + " (a projector from the encoder's " + in + " to the decoder's " + out + ")");
                }
            }
            for (int i = 0; i < names.size(); i++) {
                values[i] = c.readFloats(names.get(i));
            }
            return new MlpProjector(NDManager.newBaseManager(Devices.resolve(options.device())), act, values, in, out);
        }
    }

    private static float[] uniform(SplittableRandom r, int n, int fanIn) {
        double bound = 1.0 / Math.sqrt(fanIn);
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) r.nextDouble(-bound, bound);
        }
        return v;
    }

    private static String fingerprint(float[][] values) {
        long h = 0xcbf29ce484222325L;
        for (float[] v : values) {
            for (float f : v) {
                h = (h ^ Float.floatToIntBits(f)) * 0x100000001b3L;
            }
        }
        return Long.toHexString(h);
    }

    @Override
    public String id() {
        return id;
    }

    @Override
    public int inputSize() {
        return inputSize;
    }

    @Override
    public int outputSize() {
        return outputSize;
    }

    /** @return whether the projector has two layers */
    public boolean isTwoLayer() {
        return fc2Weight != null;
    }

    /** @return the weights under their file names, in file order (fc1/fc weight and bias, then fc2) */
    @Override
    public Map<String, NDArray> parameters() {
        Map<String, NDArray> p = new LinkedHashMap<>();
        String first = fc2Weight == null ? "fc" : "fc1";
        p.put(first + ".weight", fc1Weight);
        p.put(first + ".bias", fc1Bias);
        if (fc2Weight != null) {
            p.put("fc2.weight", fc2Weight);
            p.put("fc2.bias", fc2Bias);
        }
        return p;
    }

    /**
     * @param x {@code [n, inputSize]} float32
     * @return {@code [n, outputSize]}, owned by x's manager
     */
    @Override
    public NDArray forward(NDArray x) {
        NDArray h = Linear.linear(x, fc1Weight, fc1Bias).singletonOrThrow(); // [n, out]
        if (fc2Weight == null) {
            return h;
        }
        return Linear.linear(activation.apply(h), fc2Weight, fc2Bias).singletonOrThrow(); // [n, out]
    }

    @Override
    public float[][] project(float[][] vectors) {
        try (NDManager m = manager.newSubManager()) {
            NDArray in = Tensors.fromRows(m, vectors, inputSize, i -> "projector input row " + i + " has "
                    + vectors[i].length + " values; the projector expects the encoder hidden size " + inputSize);
            return Tensors.toRows(forward(in)); // [n, outputSize]
        }
    }

    /**
     * Writes the weights (atomically) in the documented layout.
     *
     * @param file target safetensors file
     */
    @Override
    public void save(Path file) {
        SafetensorsWriter w = new SafetensorsWriter()
                .metadata(ACTIVATION_KEY, activation.name().toLowerCase(Locale.ROOT));
        parameters().forEach((name, t) -> w.add(name, t.toFloatArray(), t.getShape().getShape()));
        w.write(file);
    }

    @Override
    public void close() {
        manager.close();
    }
}
