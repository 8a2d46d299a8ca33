package io.refrag.bench.cli;

import io.refrag.core.Refrag;
import io.refrag.core.RefragManifest;
import io.refrag.core.RefragOptions;
import io.refrag.core.checkpoint.RefragFolder;
import io.refrag.core.corpus.TrainingCorpus;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Stream;

/**
 * {@code precompute}: encodes a corpus's chunks into the persistent chunk cache of a REFRAG folder, so that requests
 * over those passages skip the encoder. Interrupted, it resumes: chunks already in the cache are not encoded again
 * (the cache writes a segment every 1024 new entries).
 */
@Command(name = "precompute", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Encode a corpus (text: one passage per line; .jsonl: a 'text' field per line) into the "
            + "persistent chunk cache of a REFRAG folder; run again to resume.",
            "A folder whose refrag.json names no cacheDir gets one: chunk-cache/ inside it."})
final class Precompute extends CliCommand {
    @Option(names = "--model", required = true, paramLabel = "DIR", description = "a local REFRAG folder")
    Path model;

    @Option(names = "--corpus", required = true, paramLabel = "FILE", description = "passages as requests will hold them")
    Path corpus;

    @Option(names = "--k", paramLabel = "N", description = "decoder tokens per chunk (default: refrag.json's k)")
    Integer k;

    @Mixin
    CliOptions.Device device;

    @Option(names = "--json", description = "print the result as JSON")
    boolean json;

    @Override
    void execute() {
        List<String> passages = TrainingCorpus.read(CliOptions.requireFile("--corpus", corpus)).documents();
        if (k != null) {
            RefragOptions.builder().optK(k); // checked before any model loads
        }
        if (!Files.isDirectory(model)) {
            throw new UsageException("precompute: --model " + model + " is not an existing folder (a local REFRAG "
                    + "folder: its cache is written inside it)");
        }
        RefragManifest named = RefragManifest.read(model, CliOptions.hub(err()));
        RefragManifest manifest = named.cacheDir() != null ? named
                : named.withCacheDir(model.toAbsolutePath().resolve(RefragFolder.CHUNK_CACHE));
        boolean cacheExisted = Files.exists(manifest.cacheDir());
        try {
            run(manifest, passages);
        } catch (RuntimeException e) {
            if (!cacheExisted) {
                deleteTree(manifest.cacheDir()); // a failed run leaves the folder as it was
            }
            throw e;
        }
        if (named.cacheDir() == null) { // refrag.json changes only once the cache holds the corpus
            manifest.write(model);
            err().println("precompute: " + model.resolve(RefragManifest.FILE_NAME) + " now names its chunk cache, "
                    + "chunk-cache/");
        }
    }

    private void run(RefragManifest manifest, List<String> passages) {
        try (Refrag refrag = Refrag.open(manifest, device.modelOptions(manifest.decoder()))) {
            int chunkSize = k != null ? k : refrag.defaults().k();
            long hitsBefore = refrag.cache().hits();
            long missesBefore = refrag.cache().misses();
            long start = System.nanoTime();
            Progress progress = new Progress("precompute", err(), json);
            int chunks = refrag.precompute(passages, chunkSize, progress::update);
            long cached = refrag.cache().hits() - hitsBefore;
            long encoded = refrag.cache().misses() - missesBefore;
            double seconds = (System.nanoTime() - start) / 1e9;
            if (json) {
                out().println(Main.JSON.toJson(Map.of("passages", passages.size(), "chunks", chunks,
                        "alreadyCached", cached, "encoded", encoded, "seconds", seconds,
                        "cacheDir", manifest.cacheDir().toString())));
            } else {
                out().printf(Locale.ROOT, "%d passages, %d chunks of k=%d: %d encoded, %d already cached, %.1f s; "
                        + "cache %s%n", passages.size(), chunks, chunkSize, encoded, cached, seconds,
                        manifest.cacheDir());
            }
        }
    }

    private static void deleteTree(Path dir) {
        try (Stream<Path> files = Files.walk(dir)) {
            for (Path f : files.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(f);
            }
        } catch (IOException e) {
            // best effort: the run's own failure is what the user needs to see
        }
    }
}
