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
import java.util.LinkedHashMap;
import java.util.Map;

/** {@code perplexity}: the decoder's mean NLL and perplexity on a text file (windowed past the context length). */
@Command(name = "perplexity", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Score --text-file with the decoder: mean NLL (nats/token) and perplexity.")
final class Perplexity extends CliCommand {
    @Option(names = "--decoder", required = true, paramLabel = "DIR|ID", description = "decoder folder or HF id")
    String decoder;

    @Option(names = "--text-file", required = true, paramLabel = "FILE", description = "UTF-8 text to score")
    Path textFile;

    @Mixin
    CliOptions.Device device;

    @Option(names = "--json", description = "print the result as JSON")
    boolean json;

    @Override
    void execute() {
        String text;
        try {
            text = Files.readString(CliOptions.requireFile("--text-file", textFile), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UsageException("cannot read " + textFile + ": " + e.getMessage());
        }
        Path folder = CliOptions.hub(err()).resolve(decoder);
        try (CausalDecoder d = Providers.loadDecoder(folder, device.modelOptions(folder))) {
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
            Map<String, Object> result = new LinkedHashMap<>();
            result.put("tokens", tokens.length);
            result.put("predictedTokens", nll.length);
            result.put("meanNll", mean);
            result.put("perplexity", Math.exp(mean));
            if (json) {
                out().println(Main.JSON.toJson(result));
            } else {
                out().printf("%d tokens, mean NLL %.4f nats/token, perplexity %.3f%n", tokens.length, mean,
                        Math.exp(mean));
            }
        }
    }
}
