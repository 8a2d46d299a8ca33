package io.refrag.core;

import com.google.gson.GsonBuilder;
import com.google.gson.JsonObject;
import io.refrag.core.checkpoint.AtomicFiles;
import io.refrag.core.checkpoint.RefragFolder;
import io.refrag.core.exception.InvalidRequestException;
import io.refrag.core.exception.ModelLoadException;
import io.refrag.core.hub.HfHub;
import io.refrag.core.hub.HfModelId;
import io.refrag.core.json.JsonConfig;
import io.refrag.core.model.Compression;
import io.refrag.core.model.PolicyNames;
import io.refrag.core.model.Pooling;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/**
 * A REFRAG pipeline's parts and defaults: what a folder's {@code refrag.json} holds. The one reader and writer of that
 * file ({@link Refrag#load} reads it, training writes it and starts from it); in memory every path is absolute.
 * <pre>{@code
 * {"decoder": "decoder", "encoder": "encoder", "projector": "projector.safetensors", "pooling": "cls",
 *  "policy": "learned", "policyFile": "policy.safetensors", "k": 16, "p": 0.25,
 *  "cacheDir": "chunk-cache", "cacheEntries": 100000, "chunkStore": "/mnt/stores/corpus-k8"}
 * }</pre>
 * Only {@code decoder} is required. {@code decoder} and {@code encoder} may name a Hugging Face id
 * ({@code owner/name[@revision]}) instead of a folder. A relative path resolves inside the folder and may not leave it ({@code ../} is
 * refused, so a manifest from elsewhere cannot reach into the rest of the file system); an absolute path is taken as
 * written. A model kept outside the folder is named by its absolute path or linked into the folder (a symbolic link,
 * as the Hugging Face cache links snapshots to blobs): whoever can create links there owns the folder anyway. Without
 * {@code projector} an untrained one is created (with a warning).
 *
 * @param decoder decoder checkpoint folder
 * @param encoder chunk-encoder checkpoint folder, or null (full-context requests only)
 * @param projector projector safetensors file, or null
 * @param pooling how the encoder pools a chunk into one vector
 * @param policy the default expansion policy's name
 * @param policyFile the default policy's weights, or null
 * @param k default decoder tokens per chunk
 * @param p default expansion fraction
 * @param cacheDir persistent chunk-embedding cache folder, or null for memory only
 * @param cacheEntries in-memory cache entries
 * @param chunkStore a chunk store (written by refrag-spark's corpus job) read as a tier below the caches, or null
 * @param encoderAdapter LoRA adapters for the encoder (a PEFT folder), or null
 * @param decoderAdapter LoRA adapters for the decoder (a PEFT folder), or null
 */
public record RefragManifest(Path decoder, Path encoder, Path projector, Pooling pooling, String policy,
        Path policyFile, int k, double p, Path cacheDir, int cacheEntries, Path chunkStore, Path encoderAdapter,
        Path decoderAdapter) {
    private static final Logger LOG = LoggerFactory.getLogger(RefragManifest.class);
    /** The manifest's file name inside a REFRAG folder. */
    public static final String FILE_NAME = RefragFolder.MANIFEST;
    /** Default chunk size k ({@link Compression#DEFAULT_K}). */
    public static final int DEFAULT_K = Compression.DEFAULT_K;
    /** Default expansion fraction p ({@link Compression#DEFAULT_P}). */
    public static final double DEFAULT_P = Compression.DEFAULT_P;
    /** Default pooling: CLS, the paper's choice for its RoBERTa encoder. */
    public static final Pooling DEFAULT_POOLING = Pooling.CLS;
    /** Default in-memory cache entries. */
    public static final int DEFAULT_CACHE_ENTRIES = 100_000;
    /** The keys {@value #FILE_NAME} may hold. */
    public static final Set<String> KEYS = Set.of("decoder", "encoder", "projector", "pooling", "policy", "policyFile",
            "k", "p", "cacheDir", "cacheEntries", "chunkStore", "encoderAdapter", "decoderAdapter");

    /** Checks the fields; messages name the field and the allowed values. */
    public RefragManifest {
        Objects.requireNonNull(decoder, "decoder");
        Objects.requireNonNull(pooling, "pooling");
        Objects.requireNonNull(policy, "policy");
        try {
            new Compression(k, p);
        } catch (InvalidRequestException e) {
            throw new InvalidRequestException("refrag manifest: " + e.getMessage(), e);
        }
        if (cacheEntries < 1) {
            throw new InvalidRequestException("refrag manifest: cacheEntries must be >= 1, got " + cacheEntries);
        }
    }

    /**
     * @param decoder decoder checkpoint folder
     * @return a manifest of that decoder alone, every other field at its default
     */
    public static RefragManifest of(Path decoder) {
        return new RefragManifest(decoder, null, null, DEFAULT_POOLING, PolicyNames.NONE, null, DEFAULT_K, DEFAULT_P,
                null, DEFAULT_CACHE_ENTRIES, null, null, null);
    }

    /**
     * Reads a manifest; a {@code decoder} or {@code encoder} that names no folder but a Hugging Face id
     * ({@code owner/name[@revision]}) resolves through the hub cache configured by the environment ({@link HfHub}).
     *
     * @param folder a folder holding {@value #FILE_NAME}
     * @return its manifest, paths resolved against the folder
     * @throws ModelLoadException if the folder holds no readable manifest
     */
    public static RefragManifest read(Path folder) {
        return read(folder, HfHub.fromEnvironment());
    }

    /**
     * @param folder a folder holding {@value #FILE_NAME}
     * @param hub where Hugging Face ids in {@code decoder} and {@code encoder} resolve
     * @return its manifest, paths resolved against the folder
     * @throws ModelLoadException if the folder holds no readable manifest, or an id cannot be resolved
     */
    public static RefragManifest read(Path folder, HfHub hub) {
        Path file = folder.resolve(FILE_NAME);
        if (!Files.isRegularFile(file)) {
            throw new ModelLoadException(folder + " holds no " + FILE_NAME + " (is it a REFRAG folder or a "
                    + "training output?)");
        }
        JsonConfig c = JsonConfig.readFile(file);
        c.requireKnownKeys(KEYS);
        Path dir = file.toAbsolutePath().normalize().getParent();
        return new RefragManifest(
                model(file, "decoder", c.requireString("decoder"), hub),
                c.optString("encoder").map(v -> model(file, "encoder", v, hub)).orElse(null),
                c.optString("projector").map(v -> inside(file, "projector", v)).orElse(null),
                c.optString("pooling").map(Pooling::parse).orElse(DEFAULT_POOLING),
                c.optString("policy").orElse(PolicyNames.NONE),
                c.optString("policyFile").map(v -> inside(file, "policyFile", v)).orElse(null),
                c.optInt("k").orElse(DEFAULT_K),
                c.optDouble("p", DEFAULT_P),
                c.optString("cacheDir").map(v -> inside(file, "cacheDir", v)).orElse(null),
                c.optInt("cacheEntries").orElse(DEFAULT_CACHE_ENTRIES),
                c.optString("chunkStore").map(v -> inside(file, "chunkStore", v)).orElse(null),
                c.optString("encoderAdapter").map(v -> inside(file, "encoderAdapter", v)).orElse(null),
                c.optString("decoderAdapter").map(v -> inside(file, "decoderAdapter", v)).orElse(null));
    }

    /** A model folder: a path of the manifest when it exists, else a Hugging Face id when it is one. */
    private static Path model(Path file, String key, String value, HfHub hub) {
        Path path = inside(file, key, value);
        if (Files.exists(path)) {
            return path;
        }
        return HfModelId.tryParse(value).map(hub::snapshot).orElse(path);
    }

    /** Resolves a path of the manifest: absolute as written, relative only inside the manifest's folder. */
    private static Path inside(Path file, String key, String value) {
        Path dir = file.toAbsolutePath().normalize().getParent();
        Path path;
        try {
            path = Path.of(value);
        } catch (InvalidPathException e) {
            throw new InvalidRequestException(file + ": '" + key + "' is not a valid path: " + e.getMessage(), e);
        }
        if (path.isAbsolute()) {
            return path.normalize();
        }
        Path resolved = dir.resolve(path).normalize();
        if (!resolved.startsWith(dir) || resolved.equals(dir)) {
            throw new InvalidRequestException(file + ": '" + key + "' is \"" + value + "\", which leads out of the "
                    + "folder; relative paths must stay inside it (give an absolute path, or link the model into the "
                    + "folder)");
        }
        return resolved;
    }

    /**
     * Writes {@value #FILE_NAME} into a folder, atomically; paths inside the folder are written relative to it.
     *
     * @param folder the REFRAG folder
     */
    public void write(Path folder) {
        Path dir = folder.toAbsolutePath().normalize();
        JsonObject json = new JsonObject();
        json.addProperty("decoder", model(dir, decoder));
        if (encoder != null) {
            json.addProperty("encoder", model(dir, encoder));
            json.addProperty("pooling", pooling.name().toLowerCase(Locale.ROOT));
        }
        if (projector != null) {
            json.addProperty("projector", relative(dir, projector));
        }
        json.addProperty("policy", policy);
        if (policyFile != null) {
            json.addProperty("policyFile", relative(dir, policyFile));
        }
        json.addProperty("k", k);
        json.addProperty("p", p);
        if (cacheDir != null) {
            json.addProperty("cacheDir", relative(dir, cacheDir));
        }
        json.addProperty("cacheEntries", cacheEntries);
        if (chunkStore != null) {
            json.addProperty("chunkStore", relative(dir, chunkStore));
        }
        if (encoderAdapter != null) {
            json.addProperty("encoderAdapter", relative(dir, encoderAdapter));
        }
        if (decoderAdapter != null) {
            json.addProperty("decoderAdapter", relative(dir, decoderAdapter));
        }
        AtomicFiles.writeString(dir.resolve(FILE_NAME), new GsonBuilder().setPrettyPrinting().create().toJson(json));
    }

    /**
     * @return a base model as a portable manifest names it: its Hugging Face id when it was resolved from the hub
     *     cache, else its path (relative inside the folder; an absolute path elsewhere, which is logged as not
     *     portable)
     */
    private static String model(Path dir, Path p) {
        Optional<HfModelId> id = HfModelId.ofSnapshot(p);
        if (id.isPresent()) {
            return id.get().repo();
        }
        String written = relative(dir, p);
        if (Path.of(written).isAbsolute()) {
            LOG.warn("{} names {} by its absolute path: the folder is not portable; name the model by its Hugging Face"
                    + " id (the CLI's hub-import puts a local folder into the cache under an id)", dir.resolve(
                    FILE_NAME), p);
        }
        return written;
    }

    private static String relative(Path dir, Path p) {
        Path abs = p.toAbsolutePath().normalize();
        return abs.startsWith(dir) ? dir.relativize(abs).toString() : abs.toString();
    }

    /**
     * @param folder chunk-encoder checkpoint folder
     * @param chunkPooling its pooling
     * @return this manifest with that encoder
     */
    public RefragManifest withEncoder(Path folder, Pooling chunkPooling) {
        return new RefragManifest(decoder, folder, projector, chunkPooling, policy, policyFile, k, p, cacheDir,
                cacheEntries, chunkStore, encoderAdapter, decoderAdapter);
    }

    /**
     * @param file projector safetensors, or null for an untrained one
     * @return this manifest with that projector
     */
    public RefragManifest withProjector(Path file) {
        return new RefragManifest(decoder, encoder, file, pooling, policy, policyFile, k, p, cacheDir, cacheEntries,
                chunkStore, encoderAdapter, decoderAdapter);
    }

    /**
     * @param name default policy name
     * @param file its weights, or null
     * @return this manifest with that policy
     */
    public RefragManifest withPolicy(String name, Path file) {
        return new RefragManifest(decoder, encoder, projector, pooling, name, file, k, p, cacheDir, cacheEntries,
                chunkStore, encoderAdapter, decoderAdapter);
    }

    /**
     * @param chunkSize default k
     * @param fraction default p
     * @return this manifest with those request defaults
     */
    public RefragManifest withDefaults(int chunkSize, double fraction) {
        return new RefragManifest(decoder, encoder, projector, pooling, policy, policyFile, chunkSize, fraction,
                cacheDir, cacheEntries, chunkStore, encoderAdapter, decoderAdapter);
    }

    /**
     * @param folder the persistent chunk-embedding cache folder, or null for memory only
     * @return this manifest with that cache
     */
    public RefragManifest withCacheDir(Path folder) {
        return new RefragManifest(decoder, encoder, projector, pooling, policy, policyFile, k, p, folder, cacheEntries,
                chunkStore, encoderAdapter, decoderAdapter);
    }

    /**
     * @param store a chunk store folder, or null for none
     * @return this manifest reading that store
     */
    public RefragManifest withChunkStore(Path store) {
        return new RefragManifest(decoder, encoder, projector, pooling, policy, policyFile, k, p, cacheDir,
                cacheEntries, store, encoderAdapter, decoderAdapter);
    }

    /**
     * @param encoder LoRA adapters for the encoder (a PEFT folder), or null for none
     * @param decoder LoRA adapters for the decoder, or null for none
     * @return this manifest with those adapters
     */
    public RefragManifest withAdapters(Path encoder, Path decoder) {
        return new RefragManifest(this.decoder, this.encoder, projector, pooling, policy, policyFile, k, p, cacheDir,
                cacheEntries, chunkStore, encoder, decoder);
    }
}
