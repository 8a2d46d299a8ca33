package io.refrag.bench.cli;

import io.refrag.core.checkpoint.AtomicFiles;
import io.refrag.core.eval.Statistics;
import io.refrag.core.generate.BatchedGenerator;
import io.refrag.core.generate.GenerationOptions;
import io.refrag.core.model.DecoderInput;
import io.refrag.core.model.ModelOptions;
import io.refrag.decoder.llama.LlamaDecoder;
import io.refrag.decoder.llama.RandomLlamaCheckpoint;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * {@code concurrency}: the aggregate tokens/s of B concurrent requests through the library's scheduler
 * ({@link BatchedGenerator}: shared prefills, one decode step for all) against one request alone, on the random
 * hidden-1024 LLaMA of {@code peer}. Every round runs each stream count once, one after another, so the gain of B
 * streams is the ratio of two runs minutes apart at most, not hours: memory bandwidth drifts on these machines.
 */
@Command(name = "concurrency", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Aggregate tokens/s of B concurrent requests through the scheduler against one request, on a "
            + "random LLaMA (hidden 1024, 8 layers, 16/4 heads, vocab 32000, F32), stream counts alternating round "
            + "by round; medians, and the gain's range over the rounds."})
final class Concurrency extends CliCommand {
    /** One stream count's figures over the rounds. */
    record Row(int streams, double tokensPerSecond, double gain, double gainMin, double gainMax, List<Double> gains) {
    }

    @Option(names = "--streams", split = ",", defaultValue = "1,2,4,8", paramLabel = "B",
            description = "stream counts (default: ${DEFAULT-VALUE}); 1 is always run, as the baseline")
    List<Integer> streams;

    @Option(names = "--rounds", defaultValue = "5", paramLabel = "R", description = "rounds (median; default 5)")
    int rounds;

    @Option(names = "--prompt", defaultValue = "32", paramLabel = "N", description = "prompt tokens per request")
    int prompt;

    @Option(names = "--new-tokens", defaultValue = "32", paramLabel = "N", description = "new tokens per request")
    int newTokens;

    @Override
    void execute() {
        if (rounds < 1 || prompt < 1 || newTokens < 1 || streams.stream().anyMatch(b -> b < 1 || b > 64)) {
            throw new UsageException("concurrency: --rounds, --prompt and --new-tokens must be >= 1 and every stream "
                    + "count in [1, 64]");
        }
        List<Integer> counts = new ArrayList<>(List.of(1));
        streams.stream().filter(b -> b > 1).distinct().sorted().forEach(counts::add);
        int maxBatch = counts.get(counts.size() - 1);
        Path dir = tempDir("concurrency");
        try {
            Path model = RandomLlamaCheckpoint.builder().shape(32000, 1024, 2816, 8, 16, 4)
                    .maxPositions(prompt + newTokens).write(dir.resolve("llama"));
            Map<Integer, List<Double>> rates = new LinkedHashMap<>();
            try (LlamaDecoder decoder = LlamaDecoder.load(model, ModelOptions.defaults());
                    BatchedGenerator scheduler = new BatchedGenerator(decoder, maxBatch)) {
                GenerationOptions options = GenerationOptions.builder().optMaxNewTokens(newTokens).optStopTokenIds()
                        .build();
                SplittableRandom r = new SplittableRandom(1);
                List<DecoderInput> prompts = new ArrayList<>();
                for (int b = 0; b < maxBatch; b++) {
                    prompts.add(DecoderInput.ofTokens(r.ints(prompt, 3, 32000).toArray()));
                }
                run(scheduler, prompts.subList(0, maxBatch), options); // warm-up: JIT, allocator, OpenMP
                for (int round = 0; round < rounds; round++) {
                    err().printf("concurrency: round %d/%d%n", round + 1, rounds);
                    for (int b : counts) {
                        double seconds = run(scheduler, prompts.subList(0, b), options);
                        rates.computeIfAbsent(b, k -> new ArrayList<>()).add((double) b * newTokens / seconds);
                    }
                }
            }
            report(rates);
        } finally {
            AtomicFiles.deleteTreeQuietly(dir);
        }
    }

    /** @return seconds until every request has finished, all submitted at once */
    private static double run(BatchedGenerator scheduler, List<DecoderInput> prompts, GenerationOptions options) {
        long start = System.nanoTime();
        List<BatchedGenerator.Stream> running = new ArrayList<>();
        for (DecoderInput p : prompts) {
            running.add(scheduler.submit(p, options, System.nanoTime()));
        }
        running.forEach(s -> s.result().join());
        return (System.nanoTime() - start) / 1e9;
    }

    private void report(Map<Integer, List<Double>> rates) {
        List<Double> one = rates.get(1);
        List<Row> rows = new ArrayList<>();
        rates.forEach((b, r) -> {
            double[] gains = new double[r.size()];
            List<Double> gainList = new ArrayList<>();
            for (int i = 0; i < gains.length; i++) {
                gains[i] = r.get(i) / one.get(i); // within one round
                gainList.add(gains[i]);
            }
            rows.add(new Row(b, Statistics.median(r.stream().mapToDouble(Double::doubleValue).toArray()),
                    Statistics.median(gains), java.util.Arrays.stream(gains).min().orElseThrow(),
                    java.util.Arrays.stream(gains).max().orElseThrow(), gainList));
        });
        print(rows, out -> {
            out.printf("%-8s %14s %8s %15s   (%d prompt + %d new tokens per request, medians of %d rounds)%n",
                    "streams", "tokens/s", "gain", "gain range", prompt, newTokens, rounds);
            for (Row row : rows) {
                out.printf(Locale.ROOT, "%-8d %14.1f %8.2f %7.2f - %5.2f%n", row.streams(), row.tokensPerSecond(),
                        row.gain(), row.gainMin(), row.gainMax());
            }
        });
    }
}
