package io.refrag.core.checkpoint;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.refrag.core.lora.LoraAdapter;
import io.refrag.core.exception.ModelLoadException;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.function.Predicate;

/**
 * Loads named tensors from a checkpoint into a model's {@link NDManager} in the compute type, checking shapes and
 * remembering which tensors were consumed so that {@link #requireAllConsumed()} can reject unexpected ones.
 *
 * <p>Each tensor is read from its file and copied once into a tensor the manager owns; BF16 is widened on the host
 * first. A tensor over {@value #BLOCK_BYTES} bytes is read in blocks of rows, so tensors over 2 GiB load. Not thread-safe: a model is loaded on one thread.
 */
public final class WeightLoader {
    /** Tensors larger than this are read in blocks of rows (one buffer holds at most 2 GiB). */
    static final long BLOCK_BYTES = 1L << 30;

    private final SafetensorsCheckpoint checkpoint;
    private final long blockBytes;
    private final NDManager manager;
    private final DataType computeType;
    private final Set<String> consumed = new HashSet<>();
    private final List<Predicate<String>> ignored = new ArrayList<>();
    private final NamedWeights loaded = new NamedWeights();
    private LoraAdapter merging;

    /**
     * @param checkpoint the opened weights
     * @param manager the model's manager, owner of every loaded tensor
     * @param computeType FLOAT32 or FLOAT16
     */
    public WeightLoader(SafetensorsCheckpoint checkpoint, NDManager manager, DataType computeType) {
        this(checkpoint, manager, computeType, BLOCK_BYTES);
    }

    WeightLoader(SafetensorsCheckpoint checkpoint, NDManager manager, DataType computeType, long blockBytes) {
        this.checkpoint = checkpoint;
        this.manager = manager;
        this.computeType = computeType;
        this.blockBytes = blockBytes;
    }

    /**
     * @param name a tensor name
     * @return whether the checkpoint holds it
     */
    public boolean has(String name) {
        return checkpoint.find(name).isPresent();
    }

    /**
     * Merges LoRA adapters into the weights as they load ({@code W += scale * B A}), before any model packs or fuses
     * them; {@link #requireAllConsumed()} then also requires every adapted module to have been found.
     *
     * @param adapter the adapters (their arrays may be closed once the model has loaded)
     */
    public void mergeAdapter(LoraAdapter adapter) {
        this.merging = adapter;
    }

    /**
     * Declares tensors that a checkpoint may carry but the model recomputes (e.g. {@code rotary_emb.inv_freq},
     * {@code embeddings.position_ids}); they count as consumed.
     *
     * @param rule matches ignorable names
     */
    public void ignore(Predicate<String> rule) {
        ignored.add(rule);
    }

    /**
     * Loads one tensor and checks its shape.
     *
     * @param name the HF tensor name
     * @param expectedShape the shape the model needs
     * @return a tensor owned by the model's manager, in the compute type
     * @throws ModelLoadException if missing or of another shape
     */
    public NDArray load(String name, long... expectedShape) {
        NDArray t = read(name, expectedShape);
        loaded.add(name, t);
        return t;
    }

    private NDArray read(String name, long... expectedShape) {
        TensorInfo info = checkpoint.info(name);
        if (!Arrays.equals(info.shape(), expectedShape)) {
            throw new ModelLoadException("tensor '" + name + "' has shape " + info.shapeText() + " but the config needs "
                    + Arrays.toString(expectedShape) + " (" + info.file() + ")");
        }
        if (info.dtype() != TensorDType.F32 && info.dtype() != TensorDType.F16 && info.dtype() != TensorDType.BF16) {
            throw new ModelLoadException("tensor '" + name + "' has dtype " + info.dtype()
                    + "; model weights must be F32, F16 or BF16");
        }
        long bytes = info.end() - info.begin();
        NDArray owned;
        if (bytes <= blockBytes || expectedShape.length == 0) {
            owned = block(info, 0, expectedShape);
        } else {
            // Over one buffer (real checkpoints hold embeddings over 2 GiB): copy blocks of rows into the result.
            long rowBytes = bytes / expectedShape[0];
            if (rowBytes > SafetensorsCheckpoint.MAX_BUFFER_BYTES) {
                throw new ModelLoadException("tensor '" + name + "' " + info.shapeText() + " has rows of " + rowBytes
                        + " bytes; one row must fit in 2 GiB (" + info.file() + ")");
            }
            long rowsPerBlock = Math.max(1, blockBytes / rowBytes);
            owned = manager.create(new Shape(expectedShape), computeType);
            for (long row = 0; row < expectedShape[0]; row += rowsPerBlock) {
                long[] blockShape = expectedShape.clone();
                blockShape[0] = Math.min(rowsPerBlock, expectedShape[0] - row);
                try (NDArray part = block(info, row * rowBytes, blockShape)) {
                    owned.set(new NDIndex("{}:{}", row, row + blockShape[0]), part);
                }
            }
        }
        if (merging != null) {
            merging.merge(name, owned);
        }
        owned.setName(name);
        consumed.add(name);
        return owned;
    }

    /**
     * Loads several tensors and stacks them along the first axis into one (fused q|k|v or gate|up projections), so a
     * forward pass runs one matrix product instead of several. The parts are freed.
     *
     * @param modules HF module names of the parts, in stacking order (e.g. {@code ...self_attn.q_proj})
     * @param suffix the tensor of each module: {@code .weight} or {@code .bias}
     * @param rows first dimension of each part
     * @param trailing the remaining dimensions, shared by all parts
     * @return the stacked tensor {@code [sum(rows), trailing...]}
     */
    public NDArray loadStacked(String[] modules, String suffix, long[] rows, long... trailing) {
        NDList parts = new NDList();
        for (int i = 0; i < modules.length; i++) {
            long[] shape = new long[trailing.length + 1];
            shape[0] = rows[i];
            System.arraycopy(trailing, 0, shape, 1, trailing.length);
            parts.add(read(modules[i] + suffix, shape));
        }
        NDArray stacked = NDArrays.concat(parts, 0);
        parts.close();
        String[] names = new String[modules.length];
        for (int i = 0; i < modules.length; i++) {
            names[i] = modules[i] + suffix;
        }
        loaded.addStacked(names, rows, stacked);
        return stacked;
    }

    /** Reads rows of a tensor, starting {@code offset} bytes into it, as a new tensor in the compute type. */
    private NDArray block(TensorInfo info, long offset, long[] shape) {
        long count = 1;
        for (long d : shape) {
            count *= d;
        }
        ByteBuffer bytes = checkpoint.data(info.name(), offset, Math.toIntExact(count * info.dtype().bytes()));
        NDArray raw = info.dtype() == TensorDType.BF16
                ? manager.create(HalfFloats.bf16ToFloat32Direct(bytes), new Shape(shape), DataType.FLOAT32)
                : manager.create(bytes, new Shape(shape), info.dtype().djl());
        // raw aliases the direct buffer; the model keeps its own copy.
        NDArray owned = raw.getDataType() == computeType ? raw.duplicate() : raw.toType(computeType, false);
        raw.close();
        return owned;
    }

    /**
     * @throws ModelLoadException naming every tensor the checkpoint holds that no module consumed
     */
    public void requireAllConsumed() {
        if (merging != null) {
            merging.requireAllMerged();
        }
        List<String> extra = checkpoint.names().stream()
                .filter(n -> !consumed.contains(n))
                .filter(n -> ignored.stream().noneMatch(r -> r.test(n)))
                .toList();
        if (!extra.isEmpty()) {
            throw new ModelLoadException("checkpoint holds " + extra.size() + " tensor(s) the model does not use: "
                    + (extra.size() > 10 ? extra.subList(0, 10) + " ..." : extra)
                    + " (wrong architecture or config?)");
        }
    }

    /** @return every tensor loaded so far under its checkpoint name(s), for trainers and checkpoint writing */
    public NamedWeights loaded() {
        return loaded;
    }

    /** @return the names consumed so far */
    public Set<String> consumed() {
        return Set.copyOf(consumed);
    }
}
