package io.refrag.core.checkpoint;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import io.refrag.core.exception.Closeables;
import io.refrag.core.exception.ModelLoadException;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * The tensors of one safetensors file or of a sharded checkpoint ({@code model.safetensors.index.json}).
 *
 * <p>Only headers are parsed on open; {@link #data(String)} reads one tensor's bytes on demand, with positional reads
 * into memory the buffer owns. Nothing is memory-mapped: native code that copied from a mapping of a file truncated or
 * rewritten meanwhile would die of SIGBUS, whereas a short read becomes a {@link ModelLoadException}. A checkpoint is
 * never held twice in RAM: each tensor's bytes live only until the model has copied them.
 */
public final class SafetensorsCheckpoint implements AutoCloseable {
    /** Single-file weights name inside an HF folder. */
    public static final String SINGLE_FILE = "model.safetensors";
    /** Sharded weights index inside an HF folder. */
    public static final String INDEX_FILE = "model.safetensors.index.json";

    /** The most bytes one read returns: a direct buffer is indexed by int. */
    public static final int MAX_BUFFER_BYTES = Integer.MAX_VALUE - 8;

    private final Map<String, TensorInfo> tensors;
    private final Map<Path, FileChannel> channels;
    private final Map<Path, Long> dataStart;
    private final Map<String, String> metadata;

    private SafetensorsCheckpoint(
            Map<String, TensorInfo> tensors,
            Map<Path, FileChannel> channels,
            Map<Path, Long> dataStart,
            Map<String, String> metadata) {
        this.tensors = tensors;
        this.channels = channels;
        this.dataStart = dataStart;
        this.metadata = metadata;
    }

    /**
     * Opens the weights of an HF checkpoint folder: {@code model.safetensors}, else the sharded index.
     *
     * @param folder the checkpoint folder
     * @return the opened checkpoint
     * @throws ModelLoadException if neither file exists or a header is malformed
     */
    public static SafetensorsCheckpoint openFolder(Path folder) {
        return openFiles(new TreeSet<>(weightFiles(folder)));
    }

    /**
     * @param folder an HF checkpoint folder
     * @return its weight files: {@code model.safetensors}, else the shards its index names (sorted)
     * @throws ModelLoadException if neither file exists or the index is malformed
     */
    public static List<Path> weightFiles(Path folder) {
        Path single = folder.resolve(SINGLE_FILE);
        Path index = folder.resolve(INDEX_FILE);
        if (Files.isRegularFile(single)) {
            return List.of(single);
        }
        if (Files.isRegularFile(index)) {
            return List.copyOf(shardsOf(index));
        }
        throw new ModelLoadException("no weights in " + folder + ": expected " + SINGLE_FILE + " or " + INDEX_FILE);
    }

    /**
     * Opens one safetensors file (a projector, a policy, a cache segment).
     *
     * @param file the file
     * @return the opened checkpoint
     */
    public static SafetensorsCheckpoint openFile(Path file) {
        if (!Files.isRegularFile(file)) {
            throw new ModelLoadException("missing safetensors file " + file);
        }
        return openFiles(Set.of(file));
    }

    private static Set<Path> shardsOf(Path index) {
        try {
            JsonObject root = JsonParser.parseString(Files.readString(index)).getAsJsonObject();
            JsonObject map = root.getAsJsonObject("weight_map");
            if (map == null) {
                throw new ModelLoadException(index + " has no 'weight_map' object");
            }
            Set<Path> files = new TreeSet<>();
            for (Map.Entry<String, JsonElement> e : map.entrySet()) {
                Path shard = index.resolveSibling(e.getValue().getAsString());
                if (!Files.isRegularFile(shard)) {
                    throw new ModelLoadException(
                            index + " maps tensor '" + e.getKey() + "' to missing shard " + shard);
                }
                files.add(shard);
            }
            return files;
        } catch (IOException | JsonParseException | IllegalStateException | ClassCastException
                | UnsupportedOperationException e) {
            throw new ModelLoadException("cannot read sharded index " + index + " (expected {\"weight_map\": "
                    + "{tensor: shard file}}): " + e.getMessage(), e);
        }
    }

    private static SafetensorsCheckpoint openFiles(Set<Path> files) {
        Map<String, TensorInfo> tensors = new TreeMap<>();
        Map<Path, FileChannel> channels = new LinkedHashMap<>();
        Map<Path, Long> dataStart = new LinkedHashMap<>();
        Map<String, String> metadata = new TreeMap<>();
        try {
            for (Path file : files) {
                FileChannel ch = FileChannel.open(file, StandardOpenOption.READ);
                channels.put(file, ch);
                dataStart.put(file, readHeader(file, ch, tensors, metadata));
            }
        } catch (IOException | RuntimeException e) {
            Closeables.closeAfter(e, channels.values().toArray(AutoCloseable[]::new));
            if (e instanceof ModelLoadException mle) {
                throw mle;
            }
            throw new ModelLoadException("cannot read safetensors " + files + ": " + e.getMessage(), e);
        }
        return new SafetensorsCheckpoint(tensors, channels, dataStart, metadata);
    }

    private static long readHeader(Path file, FileChannel ch, Map<String, TensorInfo> out, Map<String, String> meta)
            throws IOException {
        long size = ch.size();
        if (size < 8) {
            throw new ModelLoadException(file + " is not a safetensors file: " + size + " bytes");
        }
        ByteBuffer lenBuf = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
        ch.read(lenBuf, 0);
        long headerLen = lenBuf.flip().getLong();
        if (headerLen <= 0 || headerLen > size - 8 || headerLen > 100_000_000L) {
            throw new ModelLoadException(file + " is not a safetensors file: its first 8 bytes are not the length of "
                    + "a header inside the file (" + size + " bytes)");
        }
        ByteBuffer header = ByteBuffer.allocate((int) headerLen);
        ch.read(header, 8);
        JsonObject root;
        try {
            root = JsonParser.parseString(new String(header.array(), StandardCharsets.UTF_8)).getAsJsonObject();
        } catch (JsonParseException | IllegalStateException e) {
            throw new ModelLoadException(file + " has a malformed safetensors header: " + e.getMessage(), e);
        }
        long start = 8 + headerLen;
        long dataLen = size - start;
        List<TensorInfo> inFile = new ArrayList<>();
        for (Map.Entry<String, JsonElement> e : root.entrySet()) {
            try {
                if (e.getKey().equals("__metadata__")) {
                    e.getValue().getAsJsonObject().entrySet()
                            .forEach(m -> meta.put(m.getKey(), m.getValue().getAsString()));
                    continue;
                }
                inFile.add(tensorInfo(file, e.getKey(), e.getValue().getAsJsonObject(), dataLen));
            } catch (ClassCastException | IllegalStateException | UnsupportedOperationException
                    | IndexOutOfBoundsException | NullPointerException | NumberFormatException
                    | ArithmeticException ex) {
                throw new ModelLoadException(file + " has a malformed safetensors header entry '" + e.getKey()
                        + "': expected {\"dtype\": string, \"shape\": [integers], \"data_offsets\": [begin, end]}", ex);
            }
        }
        requireNoOverlap(file, inFile);
        for (TensorInfo info : inFile) {
            if (out.put(info.name(), info) != null) {
                throw new ModelLoadException("tensor '" + info.name() + "' appears in more than one shard (" + file
                        + ")");
            }
        }
        return start;
    }

    private static void requireNoOverlap(Path file, List<TensorInfo> inFile) {
        inFile.sort(Comparator.comparingLong(TensorInfo::begin));
        for (int i = 1; i < inFile.size(); i++) {
            if (inFile.get(i).begin() < inFile.get(i - 1).end()) {
                throw new ModelLoadException(file + ": tensors '" + inFile.get(i - 1).name() + "' and '"
                        + inFile.get(i).name() + "' overlap in the data section");
            }
        }
    }

    private static TensorInfo tensorInfo(Path file, String name, JsonObject t, long dataLen) {
        TensorDType dtype = TensorDType.parse(t.get("dtype").getAsString(), name);
        long[] shape = t.getAsJsonArray("shape").asList().stream().mapToLong(JsonElement::getAsLong).toArray();
        long begin = t.getAsJsonArray("data_offsets").get(0).getAsLong();
        long end = t.getAsJsonArray("data_offsets").get(1).getAsLong();
        for (long d : shape) {
            if (d < 0) {
                throw new ModelLoadException(file + ": tensor '" + name + "' has a negative dimension in shape "
                        + Arrays.toString(shape));
            }
        }
        TensorInfo info = new TensorInfo(name, dtype, shape, file, begin, end);
        if (begin < 0 || end > dataLen || end - begin != info.elementCount() * dtype.bytes()) {
            throw new ModelLoadException(file + ": tensor '" + name + "' has offsets [" + begin + ", " + end
                    + ") inconsistent with shape " + info.shapeText() + " " + dtype + " and data size " + dataLen);
        }
        return info;
    }

    /** @return all tensor names, sorted */
    public Set<String> names() {
        return Collections.unmodifiableSet(tensors.keySet());
    }

    /**
     * @param name a tensor name
     * @return its location, if present
     */
    public Optional<TensorInfo> find(String name) {
        return Optional.ofNullable(tensors.get(name));
    }

    /**
     * @param name a tensor name
     * @return its location
     * @throws ModelLoadException if absent
     */
    public TensorInfo info(String name) {
        TensorInfo info = tensors.get(name);
        if (info == null) {
            throw new ModelLoadException("missing tensor '" + name + "' in " + channels.keySet());
        }
        return info;
    }

    /** @return the {@code __metadata__} map of the files (merged) */
    public Map<String, String> metadata() {
        return Collections.unmodifiableMap(metadata);
    }

    /**
     * Reads one tensor's raw little-endian bytes into a direct buffer of its own.
     *
     * @param name a tensor name
     * @return a little-endian buffer of exactly the tensor's bytes
     * @throws ModelLoadException if the file ends before the tensor does (truncated, or rewritten since it was opened),
     *     or the tensor is over 2 GiB (read those in parts with {@link #data(String, long, int)})
     */
    public ByteBuffer data(String name) {
        TensorInfo info = info(name);
        long len = info.end() - info.begin();
        if (len > MAX_BUFFER_BYTES) {
            throw new ModelLoadException("tensor '" + name + "' in " + info.file() + " has " + len + " bytes, more "
                    + "than one buffer holds (" + MAX_BUFFER_BYTES + "); it must be read in parts");
        }
        return data(name, 0, (int) len);
    }

    /**
     * Reads a byte range of one tensor (a block of rows of a tensor too large for one buffer).
     *
     * @param name a tensor name
     * @param offset first byte, relative to the tensor's start
     * @param length number of bytes
     * @return a little-endian buffer of exactly those bytes
     * @throws ModelLoadException if the range lies outside the tensor or the file ends before it does
     */
    public ByteBuffer data(String name, long offset, int length) {
        TensorInfo info = info(name);
        long len = info.end() - info.begin();
        if (offset < 0 || length < 0 || offset + length > len) {
            throw new IllegalArgumentException("bytes [" + offset + ", " + (offset + length) + ") lie outside tensor '"
                    + name + "' of " + len + " bytes");
        }
        ByteBuffer buf = ByteBuffer.allocateDirect(length).order(ByteOrder.LITTLE_ENDIAN);
        long start = dataStart.get(info.file()) + info.begin() + offset;
        try {
            FileChannel ch = channels.get(info.file());
            while (buf.hasRemaining()) {
                if (ch.read(buf, start + buf.position()) < 0) {
                    throw new ModelLoadException(info.file() + " ends inside tensor '" + name + "' (byte "
                            + (start + buf.position()) + " of " + (start + length) + "): the file is truncated or "
                            + "was rewritten after it was opened");
                }
            }
        } catch (IOException e) {
            throw new ModelLoadException("cannot read tensor '" + name + "' from " + info.file() + ": "
                    + e.getMessage(), e);
        }
        return buf.flip();
    }

    /**
     * Reads a floating-point tensor into a Java array, widening F16/BF16 to float32. For small tensors
     * (projectors, cached embeddings); model weights go through {@link WeightLoader}.
     *
     * @param name a tensor name
     * @return the values in row-major order
     */
    public float[] readFloats(String name) {
        TensorInfo info = info(name);
        ByteBuffer buf = data(name);
        return HalfFloats.toFloat32(buf, info.dtype(), name);
    }

    /**
     * Reads a tensor written by {@link SafetensorsWriter#addChecked} and checks it against its checksum.
     *
     * @param name a tensor name
     * @return the values in row-major order
     * @throws ModelLoadException if the file holds no checksum for it, or the values do not match it
     */
    public float[] readCheckedFloats(String name) {
        String expected = metadata().get(Checksums.PREFIX + name);
        if (expected == null) {
            throw new ModelLoadException("tensor '" + name + "' of " + info(name).file() + " has no checksum "
                    + "(written by another version?)");
        }
        float[] values = readFloats(name);
        if (!Checksums.crc32(values).equals(expected)) {
            throw new ModelLoadException("tensor '" + name + "' of " + info(name).file() + " does not match its "
                    + "checksum: the file is damaged");
        }
        return values;
    }

    @Override
    public void close() {
        Closeables.closeAll(List.copyOf(channels.values())); // read-only channels: a failure to close loses nothing
    }
}
