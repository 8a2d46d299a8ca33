package io.refrag.core.lora;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.core.Linear;
import ai.djl.nn.norm.Dropout;
import io.refrag.core.checkpoint.AtomicFiles;
import io.refrag.core.checkpoint.SafetensorsCheckpoint;
import io.refrag.core.checkpoint.SafetensorsWriter;
import io.refrag.core.exception.InvalidRequestException;
import io.refrag.core.exception.ModelLoadException;
import io.refrag.core.tensor.Tensors;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;

/**
 * LoRA adapters on a model's linear layers, in Hugging Face PEFT's layout: a folder with {@value #CONFIG_FILE}
 * ({@link LoraConfig}) and {@value #WEIGHTS_FILE}, whose tensors are named
 * {@code base_model.model.<module>.lora_A.weight [r, in]} and {@code ...lora_B.weight [out, r]}, the module named as
 * in the model's checkpoint ({@code encoder.layer.0.attention.self.query}, {@code model.layers.0.self_attn.q_proj}).
 *
 * <p>An adapter is used one of two ways. <b>Merged</b> ({@link #merge}) into the base weights as they load:
 * {@code W += scale * B A}, after which the model runs exactly as an unadapted one (fused and packed serving paths
 * included). <b>Unmerged</b> ({@link #delta}): the model adds {@code scale * dropout(x) A^T B^T} to each adapted
 * layer's output; how adapters train, with the base weights frozen (they get no gradient and no optimiser state: only
 * {@link #parameters()} train). The arrays live in the manager they were created or read in.
 */
public final class LoraAdapter {
    /** PEFT's config file. */
    public static final String CONFIG_FILE = "adapter_config.json";
    /** PEFT's weights file. */
    public static final String WEIGHTS_FILE = "adapter_model.safetensors";
    /** PEFT's prefix of every tensor name (the wrapped model). */
    public static final String PEFT_PREFIX = "base_model.model.";
    private static final String A = ".lora_A.weight";
    private static final String B = ".lora_B.weight";
    private static final long MAX_CONFIG_BYTES = 1 << 20;

    /** One adapted module's matrices. */
    private record Pair(NDArray a, NDArray b) {
    }

    private final LoraConfig config;
    private final Map<String, Pair> modules;
    private final float scale;
    private final Set<String> merged = ConcurrentHashMap.newKeySet();

    private LoraAdapter(LoraConfig config, Map<String, Pair> modules) {
        this.config = config;
        this.modules = modules;
        this.scale = (float) config.scale();
    }

    /**
     * New adapters for training: {@code A} drawn as PEFT does (Kaiming-uniform, bound {@code 1/sqrt(in)}), {@code B}
     * zero, so the adapted model starts equal to the base model.
     *
     * @param config rank, alpha, dropout, targets
     * @param linears the model's linear layers: module name to weight shape {@code [out, in]}
     * @param manager owner of the adapter arrays
     * @param seed seed of {@code A}
     * @return the adapters
     * @throws InvalidRequestException if the targets match none of the model's linear layers
     */
    public static LoraAdapter create(LoraConfig config, Map<String, long[]> linears, NDManager manager, long seed) {
        Random random = new Random(seed);
        Map<String, Pair> modules = new TreeMap<>();
        for (Map.Entry<String, long[]> e : new TreeMap<>(linears).entrySet()) {
            if (!config.targets(e.getKey())) {
                continue;
            }
            int out = Math.toIntExact(e.getValue()[0]);
            int in = Math.toIntExact(e.getValue()[1]);
            float[] a = new float[config.rank() * in];
            double bound = 1 / Math.sqrt(in);
            for (int i = 0; i < a.length; i++) {
                a[i] = (float) ((random.nextDouble() * 2 - 1) * bound);
            }
            modules.put(e.getKey(), new Pair(manager.create(a, new Shape(config.rank(), in)),
                    manager.zeros(new Shape(out, config.rank()), DataType.FLOAT32)));
        }
        if (modules.isEmpty()) {
            throw new InvalidRequestException("LoRA target_modules " + (config.targetRegex() != null
                    ? config.targetRegex() : config.targetModules()) + " match none of the model's linear layers "
                    + "(e.g. " + new TreeSet<>(linears.keySet()).stream().limit(4).toList() + ")");
        }
        return new LoraAdapter(config, modules);
    }

    /**
     * New adapters for a model that trains them: what a trainable encoder or decoder does on
     * {@code addAdapter}.
     *
     * @param model the model, for messages ({@code "encoder /path"})
     * @param trainable whether the model was loaded to train
     * @param attached the adapters it has already, or null
     * @param config rank, alpha, dropout, targets
     * @param linears its linear layers that may be adapted
     * @param manager its weights' manager (open: a trainable model's is)
     * @param seed seed of {@code A}
     * @return the adapters to attach
     * @throws InvalidRequestException for a serving model, or one that has adapters already
     */
    public static LoraAdapter createFor(String model, boolean trainable, LoraAdapter attached, LoraConfig config,
            Map<String, long[]> linears, NDManager manager, long seed) {
        if (!trainable) {
            throw new InvalidRequestException(model + " was loaded for serving; load it with "
                    + "ModelOptions.withTrainable() to train adapters");
        }
        if (attached != null) {
            throw new InvalidRequestException(model + " has LoRA adapters already (loaded from the run it continues); "
                    + "they train on");
        }
        return create(config, linears, manager, seed);
    }

    /**
     * Writes a model's attached adapters: what {@code saveAdapter} does.
     *
     * @param model the model, for messages
     * @param attached its adapters, or null
     * @param folder target folder
     * @param baseModel the base model as PEFT records it
     * @throws InvalidRequestException if it has none
     */
    public static void saveFrom(String model, LoraAdapter attached, Path folder, String baseModel) {
        if (attached == null) {
            throw new InvalidRequestException(model + " has no LoRA adapters to save");
        }
        attached.save(folder, baseModel);
    }

    /**
     * Reads a PEFT adapter folder.
     *
     * @param folder the folder holding {@value #CONFIG_FILE} and {@value #WEIGHTS_FILE}
     * @param manager owner of the adapter arrays
     * @return the adapters
     * @throws ModelLoadException if a file is missing, too large, or not a LoRA adapter this library applies
     */
    public static LoraAdapter read(Path folder, NDManager manager) {
        Path configFile = folder.resolve(CONFIG_FILE);
        Path weights = folder.resolve(WEIGHTS_FILE);
        LoraConfig config;
        try {
            if (!Files.isRegularFile(configFile) || !Files.isRegularFile(weights)) {
                throw new ModelLoadException(folder + " is not a LoRA adapter folder: it needs " + CONFIG_FILE
                        + " and " + WEIGHTS_FILE + " (PEFT's layout)");
            }
            if (Files.size(configFile) > MAX_CONFIG_BYTES) {
                throw new ModelLoadException(configFile + " is " + Files.size(configFile) + " bytes; an adapter "
                        + "config is under 1 MiB");
            }
            config = LoraConfig.fromPeftJson(Files.readString(configFile), configFile.toString());
        } catch (IOException e) {
            throw new ModelLoadException("cannot read " + configFile + ": " + e.getMessage(), e);
        } catch (InvalidRequestException e) {
            throw new ModelLoadException(e.getMessage(), e);
        }
        Map<String, Pair> modules = new TreeMap<>();
        try (SafetensorsCheckpoint c = SafetensorsCheckpoint.openFile(weights)) {
            for (String name : c.names()) {
                if (!name.startsWith(PEFT_PREFIX) || !(name.endsWith(A) || name.endsWith(B))) {
                    throw new ModelLoadException(weights + ": tensor '" + name + "' is not a LoRA matrix ("
                            + PEFT_PREFIX + "<module>" + A + " or " + B + ")");
                }
            }
            for (String name : c.names()) {
                if (!name.endsWith(A)) {
                    continue;
                }
                String module = name.substring(PEFT_PREFIX.length(), name.length() - A.length());
                String bName = PEFT_PREFIX + module + B;
                if (c.find(bName).isEmpty()) {
                    throw new ModelLoadException(weights + ": module " + module + " has lora_A but no lora_B");
                }
                long[] a = c.info(name).shape();
                long[] b = c.info(bName).shape();
                if (a.length != 2 || b.length != 2 || a[0] != config.rank() || b[1] != config.rank()) {
                    throw new ModelLoadException(weights + ": module " + module + " has lora_A "
                            + Arrays.toString(a) + " and lora_B " + Arrays.toString(b) + "; rank r = "
                            + config.rank() + " needs [r, in] and [out, r]");
                }
                modules.put(module, new Pair(manager.create(c.readFloats(name), new Shape(a)),
                        manager.create(c.readFloats(bName), new Shape(b))));
            }
            if (modules.size() * 2 != c.names().size()) {
                throw new ModelLoadException(weights + " holds a lora_B without its lora_A");
            }
        }
        if (modules.isEmpty()) {
            throw new ModelLoadException(weights + " holds no LoRA matrices");
        }
        return new LoraAdapter(config, modules);
    }

    /**
     * Writes the adapters as a PEFT folder, each file atomically.
     *
     * @param folder the folder (created)
     * @param baseModel the base model's hub id or folder, recorded as PEFT records it (may be null)
     */
    public void save(Path folder, String baseModel) {
        SafetensorsWriter w = new SafetensorsWriter();
        modules.forEach((module, p) -> {
            w.add(PEFT_PREFIX + module + A, p.a().toFloatArray(), p.a().getShape().getShape());
            w.add(PEFT_PREFIX + module + B, p.b().toFloatArray(), p.b().getShape().getShape());
        });
        try {
            Files.createDirectories(folder);
        } catch (IOException e) {
            throw new InvalidRequestException("cannot create adapter folder " + folder + ": " + e.getMessage());
        }
        w.write(folder.resolve(WEIGHTS_FILE));
        AtomicFiles.writeString(folder.resolve(CONFIG_FILE), config.toPeftJson(baseModel));
    }

    /** @return rank, alpha, dropout and targets */
    public LoraConfig config() {
        return config;
    }

    /** @return the adapted modules' names */
    public Set<String> modules() {
        return modules.keySet();
    }

    /** @return the trainable matrices, {@code <module>.lora_A.weight} and {@code <module>.lora_B.weight} */
    public Map<String, NDArray> parameters() {
        Map<String, NDArray> out = new LinkedHashMap<>();
        modules.forEach((module, p) -> {
            out.put(module + A, p.a());
            out.put(module + B, p.b());
        });
        return out;
    }

    /**
     * Merges a module's adapter into its weight as the weight loads: {@code W += scale * B A}.
     *
     * @param weightName the weight's checkpoint name ({@code <module>.weight}); other names are left alone
     * @param weight the weight {@code [out, in]}, changed in place
     * @throws ModelLoadException if the adapter's shapes do not fit the weight
     */
    public void merge(String weightName, NDArray weight) {
        if (!weightName.endsWith(".weight")) {
            return;
        }
        String module = weightName.substring(0, weightName.length() - ".weight".length());
        Pair p = modules.get(module);
        if (p == null) {
            return;
        }
        Shape w = weight.getShape();
        if (w.dimension() != 2 || w.get(0) != p.b().getShape().get(0) || w.get(1) != p.a().getShape().get(1)) {
            throw new ModelLoadException("LoRA adapter for " + module + " is [" + p.b().getShape().get(0) + " x "
                    + p.a().getShape().get(1) + "], but the weight is " + w);
        }
        try (NDArray delta = p.b().matMul(p.a()).mul(scale)) {
            weight.addi(delta.toType(weight.getDataType(), false));
        }
        merged.add(module);
    }

    /**
     * @throws ModelLoadException naming the adapted modules the model has no weight for (an adapter for another
     *     model)
     */
    public void requireAllMerged() {
        List<String> missing = modules.keySet().stream().filter(m -> !merged.contains(m)).toList();
        if (!missing.isEmpty()) {
            throw new ModelLoadException("LoRA adapter names " + missing.size() + " module(s) this model does not "
                    + "have: " + (missing.size() > 5 ? missing.subList(0, 5) + " ..." : missing)
                    + " (an adapter for another "
                    + "model?)");
        }
    }

    /**
     * @param linears a model's linear layers: module name to weight shape {@code [out, in]}
     * @throws ModelLoadException naming an adapted module the model lacks, or one whose shapes do not fit
     */
    public void requireFits(Map<String, long[]> linears) {
        modules.forEach((module, p) -> {
            long[] w = linears.get(module);
            if (w == null) {
                throw new ModelLoadException("LoRA adapter names module " + module + ", which this model does not "
                        + "have as a linear layer (an adapter for another model?)");
            }
            if (w[0] != p.b().getShape().get(0) || w[1] != p.a().getShape().get(1)) {
                throw new ModelLoadException("LoRA adapter for " + module + " is [" + p.b().getShape().get(0) + " x "
                        + p.a().getShape().get(1) + "], but the layer is " + Arrays.toString(w));
            }
        });
    }

    /**
     * @param module a module name
     * @return whether it is adapted
     */
    public boolean adapts(String module) {
        return modules.containsKey(module);
    }

    /**
     * The adapter's share of a layer's output, unmerged.
     *
     * @param module the layer's module name
     * @param x the layer's input {@code [..., in]}
     * @param training whether dropout applies
     * @return {@code scale * dropout(x) A^T B^T}, {@code [..., out]}, or null when the module is not adapted
     */
    public NDArray delta(String module, NDArray x, boolean training) {
        Pair p = modules.get(module);
        if (p == null) {
            return null;
        }
        NDArray in = training && config.dropout() > 0
                ? Dropout.dropout(x, (float) config.dropout(), true).singletonOrThrow() : x;
        // linear: the products belong to x's manager, never to the adapters' (a serving model's is sealed);
        // Tensors.scale: autograd keeps the scalar for the backward pass, so it must own its memory
        return Tensors.scale(Linear.linear(Linear.linear(in, p.a()).singletonOrThrow(), p.b()).singletonOrThrow(),
                scale);
    }

    /**
     * The adapters' share of a fused layer's output (several modules' weights stacked by rows, such as q|k|v).
     *
     * @param modules the stacked modules, in order
     * @param rows each module's output rows
     * @param x the input {@code [..., in]}
     * @param training whether dropout applies
     * @return the deltas concatenated along the last axis (zeros for modules not adapted), or null when none is
     */
    public NDArray delta(String[] modules, long[] rows, NDArray x, boolean training) {
        if (modules.length == 1) {
            return delta(modules[0], x, training); // (NDArrays.concat of one array copies it off the autograd graph)
        }
        if (Arrays.stream(modules).noneMatch(this::adapts)) {
            return null;
        }
        NDList parts = new NDList();
        for (int i = 0; i < modules.length; i++) {
            NDArray d = delta(modules[i], x, training);
            if (d == null) {
                long[] shape = x.getShape().getShape().clone();
                shape[shape.length - 1] = rows[i];
                d = x.getManager().zeros(new Shape(shape), x.getDataType());
            }
            parts.add(d);
        }
        return NDArrays.concat(parts, -1);
    }
}
