package io.refrag.bench.cli;

import io.refrag.core.model.CausalDecoder;
import io.refrag.core.spi.Providers;
import io.refrag.core.corpus.CorpusSource;
import io.refrag.core.corpus.TrainingCorpus;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Path;

/** {@code sample}: documents the decoder writes from BOS at temperature 1, one per line (document i: seed + i). */
@Command(name = "sample", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Write a corpus the decoder samples itself, one document per line, for training and eval.")
final class Sample extends CliCommand {
    @Option(names = "--decoder", required = true, paramLabel = "DIR|ID", description = "decoder folder or HF id")
    String decoder;

    @Option(names = "--documents", required = true, paramLabel = "N", description = "documents to write")
    int documents;

    @Option(names = "--tokens", defaultValue = "256", paramLabel = "T", description = "tokens per document")
    int tokens;

    @Option(names = "--seed", defaultValue = "0", paramLabel = "S", description = "seed of document 0")
    long seed;

    @Option(names = "--output", required = true, paramLabel = "FILE", description = "the corpus file to write")
    Path output;

    @Mixin
    CliOptions.Device device;

    @Override
    void execute() {
        Path file = CliOptions.outputFile("--output", output);
        CorpusSource.Sampled spec = new CorpusSource.Sampled(documents, tokens, seed); // checks the counts first
        Path folder = CliOptions.hub(err()).resolve(decoder);
        try (CausalDecoder d = Providers.loadDecoder(folder, device.modelOptions())) {
            Progress progress = new Progress("sample", err(), false);
            TrainingCorpus corpus = TrainingCorpus.sample(d, spec.documents(), spec.tokens(), spec.seed(),
                    done -> progress.update(done, spec.documents()));
            Eval.write(file, String.join("\n", corpus.documents()) + "\n");
            err().printf("sample: %d documents written to %s%n", corpus.documents().size(), file);
        }
    }
}
