package io.refrag.bench.cli;

import io.refrag.core.CorpusPrecompute;
import io.refrag.core.RefragManifest;
import io.refrag.core.corpus.TrainingCorpus;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/** {@code precompute}: {@link CorpusPrecompute} on a corpus file, with progress and a summary line or JSON. */
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

    @Override
    void execute() {
        List<String> passages = TrainingCorpus.read(CliOptions.requireFile("--corpus", corpus)).documents();
        Progress progress = new Progress("precompute", err(), json);
        CorpusPrecompute.Result r = CorpusPrecompute.run(model, passages, k, device.modelOptions(),
                CliOptions.hub(err()), progress::update);
        print(r, out -> out.printf(Locale.ROOT, "%d passages, %d chunks of k=%d: %d encoded, %d already cached, "
                + "%.1f s; cache %s%n", r.passages(), r.chunks(), r.k(), r.encoded(), r.alreadyCached(), r.seconds(),
                r.cacheDir()));
        if (r.manifestUpdated()) {
            err().println("precompute: " + model.resolve(RefragManifest.FILE_NAME) + " now names its chunk cache, "
                    + r.cacheDir());
        }
    }
}
