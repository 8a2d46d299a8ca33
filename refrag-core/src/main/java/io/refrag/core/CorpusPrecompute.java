package io.refrag.core;

import io.refrag.core.checkpoint.AtomicFiles;
import io.refrag.core.checkpoint.RefragFolder;
import io.refrag.core.exception.InvalidRequestException;
import io.refrag.core.hub.HfHub;
import io.refrag.core.model.Compression;
import io.refrag.core.model.ModelOptions;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.function.BiConsumer;

/**
 * Encodes a corpus's chunks into the persistent chunk cache of a local REFRAG folder, so that requests over those
 * passages skip the encoder. A folder whose {@code refrag.json} names no cache gets one ({@link RefragFolder#CHUNK_CACHE}
 * inside it), and its {@code refrag.json} names it only once the cache holds the corpus; a failed first run removes
 * the cache it created. Interrupted, a run resumes: chunks already cached are not encoded again (the cache writes a
 * segment every 1024 new entries).
 */
public final class CorpusPrecompute {
    /**
     * What a run did.
     *
     * @param passages passages read
     * @param chunks their chunks
     * @param k decoder tokens per chunk
     * @param alreadyCached chunks found in the cache
     * @param encoded chunks encoded now
     * @param seconds the run's wall time
     * @param cacheDir the cache folder
     * @param manifestUpdated whether {@code refrag.json} now names the cache (it did not before)
     */
    public record Result(int passages, int chunks, int k, long alreadyCached, long encoded, double seconds,
            Path cacheDir, boolean manifestUpdated) {
    }

    private CorpusPrecompute() {
    }

    /**
     * @param folder a local REFRAG folder (its cache is written inside it unless {@code refrag.json} names another)
     * @param passages passages as requests will hold them
     * @param k decoder tokens per chunk, or null for the folder's default
     * @param options device, precision and threads
     * @param hub resolves the ids {@code refrag.json} names
     * @param progress called with (passages done, passages)
     * @return what the run did
     * @throws InvalidRequestException for a folder that is not there or a k out of range, before any model loads
     */
    public static Result run(Path folder, List<String> passages, Integer k, ModelOptions options, HfHub hub,
            BiConsumer<Integer, Integer> progress) {
        if (k != null) {
            Compression.requireK(k);
        }
        if (!Files.isDirectory(folder)) {
            throw new InvalidRequestException(folder + " is not an existing folder (a local REFRAG folder: the chunk "
                    + "cache is written inside it)");
        }
        RefragManifest named = RefragManifest.read(folder, hub);
        RefragManifest manifest = named.cacheDir() != null ? named
                : named.withCacheDir(folder.toAbsolutePath().resolve(RefragFolder.CHUNK_CACHE));
        boolean cacheExisted = Files.exists(manifest.cacheDir());
        Result result;
        try (Refrag refrag = Refrag.open(manifest, options)) {
            int chunkSize = k != null ? k : refrag.defaults().k();
            long hitsBefore = refrag.cache().hits();
            long missesBefore = refrag.cache().misses();
            long start = System.nanoTime();
            int chunks = refrag.precompute(passages, chunkSize, progress);
            result = new Result(passages.size(), chunks, chunkSize, refrag.cache().hits() - hitsBefore,
                    refrag.cache().misses() - missesBefore, (System.nanoTime() - start) / 1e9, manifest.cacheDir(),
                    named.cacheDir() == null);
        } catch (RuntimeException e) {
            if (!cacheExisted) {
                AtomicFiles.deleteTreeQuietly(manifest.cacheDir()); // a failed run leaves the folder as it was
            }
            throw e;
        }
        if (result.manifestUpdated()) {
            manifest.write(folder);
        }
        return result;
    }
}
