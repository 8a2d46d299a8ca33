package io.refrag.core.checkpoint;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import io.refrag.core.exception.InvalidRequestException;
import io.refrag.core.exception.RefragException;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * A model's weights under their checkpoint names, in load order. Tensors fused at load time (q|k|v, gate|up) appear
 * once under the names of their parts joined with {@code +}, and are split back when written, so a trained model is
 * saved exactly in the layout it was loaded from.
 */
public final class NamedWeights {
    private final Map<String, NDArray> tensors = new LinkedHashMap<>();
    private final Map<String, Stack> stacks = new LinkedHashMap<>();

    private record Stack(String[] names, long[] rows) {
    }

    void add(String name, NDArray tensor) {
        tensors.put(name, tensor);
    }

    void addStacked(String[] names, long[] rows, NDArray tensor) {
        String key = String.join("+", names);
        tensors.put(key, tensor);
        stacks.put(key, new Stack(names.clone(), rows.clone()));
    }

    /** @return name to live tensor, in load order (unmodifiable) */
    public Map<String, NDArray> asMap() {
        return Collections.unmodifiableMap(tensors);
    }

    /**
     * Writes every tensor as float32 under its checkpoint name(s), atomically.
     *
     * @param file target safetensors file
     */
    public void write(Path file) {
        SafetensorsWriter w = new SafetensorsWriter();
        tensors.forEach((key, t) -> {
            long[] shape = t.getShape().getShape();
            float[] values = (t.getDataType() == DataType.FLOAT32 ? t : t.toType(DataType.FLOAT32, false))
                    .toFloatArray();
            Stack stack = stacks.get(key);
            if (stack == null) {
                w.add(key, values, shape);
                return;
            }
            long rowSize = values.length / shape[0];
            long row0 = 0;
            for (int i = 0; i < stack.names().length; i++) {
                long[] partShape = shape.clone();
                partShape[0] = stack.rows()[i];
                w.add(stack.names()[i], Arrays.copyOfRange(values, (int) (row0 * rowSize),
                        (int) ((row0 + stack.rows()[i]) * rowSize)), partShape);
                row0 += stack.rows()[i];
            }
        });
        w.write(file);
    }

    /**
     * Writes a Hugging Face checkpoint folder: these weights as {@code model.safetensors}, plus every other file of
     * the source folder (config, tokenizer, generation config) copied unchanged; source weight files are not copied.
     *
     * @param source the folder the model was loaded from
     * @param target the folder to write (created; must not be the source)
     */
    public void writeFolder(Path source, Path target) {
        try {
            if (Files.exists(target) && Files.isSameFile(source, target)) {
                throw new InvalidRequestException("refusing to overwrite the source checkpoint " + source
                        + "; save to another folder");
            }
            Files.createDirectories(target);
            List<Path> files;
            try (Stream<Path> s = Files.list(source)) {
                files = s.filter(Files::isRegularFile).toList();
            }
            for (Path f : files) {
                String name = f.getFileName().toString();
                if (!name.endsWith(".safetensors") && !name.equals(SafetensorsCheckpoint.INDEX_FILE)
                        && !name.endsWith(".bin")) {
                    Files.copy(f, target.resolve(name), StandardCopyOption.REPLACE_EXISTING);
                }
            }
            write(target.resolve(SafetensorsCheckpoint.SINGLE_FILE));
        } catch (IOException e) {
            throw new RefragException("cannot write checkpoint folder " + target + ": " + e.getMessage(), e);
        }
    }
}
