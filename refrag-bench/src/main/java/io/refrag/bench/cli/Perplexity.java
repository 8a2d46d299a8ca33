package io.refrag.bench.cli;

import io.refrag.core.model.CausalDecoder;
import io.refrag.core.spi.Providers;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/** {@code perplexity}: the decoder's mean NLL and perplexity on a text file (windowed past the context length). */
@Command(name = "perplexity", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Score --text-file with the decoder: mean NLL (nats/token) and perplexity.")
final class Perplexity extends CliCommand {
    /** The result: tokens in the file (BOS included), tokens scored, their mean NLL and its exponential. */
    record Score(int tokens, int predictedTokens, double meanNll, double perplexity) {
    }

    @Option(names = "--decoder", required = true, paramLabel = "DIR|ID", description = "decoder folder or HF id")
    String decoder;

    @Option(names = "--text-file", required = true, paramLabel = "FILE", description = "UTF-8 text to score")
    Path textFile;

    @Mixin
    CliOptions.Device device;

    @Override
    void execute() {
        String text;
        try {
            text = Files.readString(CliOptions.requireFile("--text-file", textFile), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UsageException("cannot read " + textFile + ": " + e.getMessage());
        }
        Path folder = CliOptions.hub(err()).resolve(decoder);
        try (CausalDecoder d = Providers.loadDecoder(folder, device.modelOptions())) {
            int[] tokens = d.info().withBos(d.tokenizer().encode(text).ids());
            if (tokens.length < 2) {
                throw new UsageException("perplexity: " + textFile + " holds no text to score");
            }
            float[] nll = d.windowedNll(tokens);
            double sum = 0;
            for (float v : nll) {
                sum += v;
            }
            double mean = sum / nll.length;
            Score result = new Score(tokens.length, nll.length, mean, Math.exp(mean));
            print(result, out -> out.printf("%d tokens, mean NLL %.4f nats/token, perplexity %.3f%n",
                    result.tokens(), result.meanNll(), result.perplexity()));
        }
    }
}
