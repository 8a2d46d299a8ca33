package io.refrag.bench.cli;

import com.google.gson.JsonElement;
import com.google.gson.JsonParser;
import io.refrag.core.checkpoint.AtomicFiles;
import io.refrag.core.eval.Statistics;
import io.refrag.core.model.DecoderInput;
import io.refrag.core.model.DecoderSession;
import io.refrag.core.model.ModelOptions;
import io.refrag.core.model.Precision;
import io.refrag.decoder.llama.LlamaDecoder;
import io.refrag.decoder.llama.RandomLlamaCheckpoint;
import io.refrag.core.tensor.Device;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

/**
 * {@code peer}: our decoder and llama.cpp ({@code peer-bench}) on the same random LLaMA checkpoint, alternating run by
 * run, with the same threads; prints medians and the ratio ours / llama.cpp for prefill, decode, and steps over 1, 2
 * and 8 rows (ours: one decode step of that many requests, each at {@value #BATCH_DEPTH} cached positions; llama.cpp: a
 * ubatch of that many tokens at that depth), in tokens per second, and each engine's gain of B rows over one row.
 */
@Command(name = "peer", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Speed against llama.cpp on the same random LLaMA (hidden 1024, 8 layers, 16/4 heads, vocab "
            + "32000, F32), run alternately: prefill positions/s, decode tokens/s, the tokens/s of steps over 1, 2 and "
            + "8 rows and their gains over one row; medians and ratios.",
            "Both decode with the prompt in the cache: llama-bench runs from the peer tool's folder with -d (depth)."})
final class Peer extends CliCommand {
    /** Rows of the step tests: ours, one decode step over that many requests; llama.cpp, a ubatch of that many tokens. */
    static final int[] STEP_ROWS = {1, 2, 8};
    /** Positions already cached in the step tests. */
    static final int BATCH_DEPTH = 32;

    /** One test's medians side by side, with every run behind them. */
    record Comparison(double ours, double llamaCpp, double ratio, List<Double> oursRuns, List<Double> llamaCppRuns) {
    }

    @Option(names = "--peer-bench", defaultValue = "../shared/tools/llamacpp-peer/peer-bench", paramLabel = "FILE",
            description = "llama.cpp's peer-bench script; its converter and bin/llama-bench beside it are used "
                + "(default: ${DEFAULT-VALUE})")
    Path peerBench;

    @Option(names = "--threads", defaultValue = "2", paramLabel = "N", description = "threads for both engines")
    int threads;

    @Option(names = "--prompts", split = ",", defaultValue = "512,2048", paramLabel = "P,...",
            description = "prompt lengths (default: ${DEFAULT-VALUE})")
    List<Integer> prompts;

    @Option(names = "--gen", defaultValue = "32", paramLabel = "N", description = "decode steps timed per run")
    int gen;

    @Option(names = "--reps", defaultValue = "3", paramLabel = "R", description = "alternating runs (median)")
    int reps;

    @Override
    void execute() {
        CliOptions.requireFile("--peer-bench", peerBench);
        peerBench = peerBench.toAbsolutePath();
        if (reps < 1 || gen < 1 || prompts.stream().anyMatch(p -> p < 1)) {
            throw new UsageException("peer: --reps, --gen and every prompt length must be >= 1");
        }
        CliOptions.Device device = new CliOptions.Device();
        device.threads = threads;
        device.applyThreads();
        int maxPrompt = prompts.stream().mapToInt(Integer::intValue).max().orElseThrow();
        Path dir = tempDir("peer");
        try {
            Path model = RandomLlamaCheckpoint.builder().shape(32000, 1024, 2816, 8, 16, 4)
                    .maxPositions(maxPrompt + gen + 1).write(dir.resolve("llama"));
            Path gguf = convert(model, dir);
            Map<String, List<Double>> ours = new LinkedHashMap<>();
            Map<String, List<Double>> peer = new LinkedHashMap<>();
            try (LlamaDecoder decoder = LlamaDecoder.load(model, new ModelOptions(Device.CPU, Precision.FP32))) {
                for (int warmUp = 0; warmUp < 2; warmUp++) { // until the JIT settles: on 2 cores it competes with
                    measureOurs(decoder, new LinkedHashMap<>()); // PyTorch's threads and stalls their steps
                }
                for (int rep = 0; rep < reps; rep++) {
                    err().printf("peer: run %d/%d: ours ...%n", rep + 1, reps);
                    measureOurs(decoder, ours);
                    err().printf("peer: run %d/%d: llama.cpp ...%n", rep + 1, reps);
                    measurePeer(gguf, peer);
                }
            }
            report(ours, peer);
        } finally {
            AtomicFiles.deleteTreeQuietly(dir);
        }
    }

    private void measureOurs(LlamaDecoder decoder, Map<String, List<Double>> out) {
        SplittableRandom r = new SplittableRandom(1);
        for (int p : prompts) {
            int[] prompt = r.ints(p, 3, 32000).toArray();
            try (DecoderSession s = decoder.newSession(p + gen)) {
                long t0 = System.nanoTime();
                s.prefill(DecoderInput.ofTokens(prompt));
                long t1 = System.nanoTime();
                for (int i = 0; i < gen; i++) {
                    s.decode(3 + i);
                }
                long t2 = System.nanoTime();
                out.computeIfAbsent("prefill " + p, k -> new ArrayList<>()).add(p / ((t1 - t0) / 1e9));
                out.computeIfAbsent("decode " + p, k -> new ArrayList<>()).add(gen / ((t2 - t1) / 1e9));
            }
        }
        List<List<DecoderSession>> batches = new ArrayList<>(); // one batch of sessions per row count
        try {
            for (int rowCount : STEP_ROWS) {
                List<DecoderSession> rows = new ArrayList<>();
                batches.add(rows);
                for (int b = 0; b < rowCount; b++) {
                    DecoderSession s = decoder.newSession(BATCH_DEPTH + gen);
                    rows.add(s);
                    s.prefill(DecoderInput.ofTokens(r.ints(BATCH_DEPTH, 3, 32000).toArray()));
                }
            }
            long[] nanos = new long[STEP_ROWS.length];
            for (int i = 0; i < gen; i++) { // the row counts take turns step by step: drift falls on all alike
                for (int c = 0; c < STEP_ROWS.length; c++) {
                    int[] tokens = new int[STEP_ROWS[c]];
                    java.util.Arrays.fill(tokens, 3 + i);
                    long t0 = System.nanoTime();
                    decoder.decodeBatch(batches.get(c), tokens);
                    nanos[c] += System.nanoTime() - t0;
                }
            }
            for (int c = 0; c < STEP_ROWS.length; c++) {
                out.computeIfAbsent(stepTest(STEP_ROWS[c]), k -> new ArrayList<>())
                        .add((double) STEP_ROWS[c] * gen / (nanos[c] / 1e9));
            }
        } finally {
            batches.forEach(rows -> rows.forEach(DecoderSession::close));
        }
    }

    private static String stepTest(int rows) {
        return "step " + rows + (rows == 1 ? " row" : " rows");
    }

    /**
     * Converts the checkpoint with the peer tool's own converter, once.
     *
     * @return the GGUF file
     */
    private Path convert(Path model, Path dir) {
        Path gguf = dir.resolve("llama-f32.gguf");
        run(new ProcessBuilder("python3", peerBench.resolveSibling("hf_to_gguf_f32.py").toString(), model.toString(),
                gguf.toString()), "converting the checkpoint to GGUF");
        return gguf;
    }

    /**
     * One llama-bench run of every test: prompt tests ({@code -p}), then generation tests at the same depths as ours
     * ({@code -n} with {@code -d}: the prompt's positions already in the cache, untimed). This is {@code peer-bench}'s
     * command with {@code -d} added, which the script does not pass.
     */
    private void measurePeer(Path gguf, Map<String, List<Double>> out) {
        String depths = String.join(",", prompts.stream().map(String::valueOf).toList());
        for (String[] test : List.of(new String[] {"-p", depths, "-n", "0"},
                new String[] {"-p", "0", "-n", Integer.toString(gen), "-d", depths},
                new String[] {"-p", String.join(",", java.util.Arrays.stream(STEP_ROWS).mapToObj(String::valueOf)
                        .toList()), "-n", "0", "-d", Integer.toString(BATCH_DEPTH)})) {
            List<String> command = new ArrayList<>(List.of(peerBench.resolveSibling("bin").resolve("llama-bench")
                    .toString(), "-m", gguf.toString(), "-t", Integer.toString(threads), "-r", "1", "-ctk", "f32",
                    "-ctv", "f32", "-o", "json"));
            command.addAll(List.of(test));
            ProcessBuilder pb = new ProcessBuilder(command);
            pb.environment().merge("LD_LIBRARY_PATH", peerBench.resolveSibling("bin").toString(),
                    (old, bin) -> bin + ":" + old);
            for (JsonElement e : JsonParser.parseString(run(pb, "llama-bench")).getAsJsonArray()) {
                var t = e.getAsJsonObject();
                int nPrompt = t.get("n_prompt").getAsInt();
                double rate = t.get("avg_ts").getAsDouble();
                int depth = t.has("n_depth") ? t.get("n_depth").getAsInt() : 0;
                String key = nPrompt > 0 && depth > 0 ? stepTest(nPrompt) : nPrompt > 0 ? "prefill " + nPrompt
                        : "decode " + depth;
                out.computeIfAbsent(key, k -> new ArrayList<>()).add(rate);
            }
        }
    }

    /** @return the process's standard output; its standard error is dropped */
    private String run(ProcessBuilder pb, String what) {
        pb.redirectError(ProcessBuilder.Redirect.DISCARD);
        try {
            Process process = pb.start();
            String stdout = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!process.waitFor(30, TimeUnit.MINUTES) || process.exitValue() != 0) {
                throw new UsageException("peer: " + what + " failed: " + String.join(" ", pb.command()));
            }
            return stdout;
        } catch (IOException e) {
            throw new UsageException("peer: cannot run " + pb.command().get(0) + ": " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new UsageException("peer: interrupted");
        }
    }

    private void report(Map<String, List<Double>> ours, Map<String, List<Double>> peer) {
        Map<String, Object> rows = new LinkedHashMap<>();
        for (String test : ours.keySet()) {
            double a = Statistics.median(values(ours.get(test)));
            double b = Statistics.median(values(peer.getOrDefault(test, List.of(Double.NaN))));
            rows.put(test, new Comparison(a, b, a / b, ours.get(test), peer.getOrDefault(test, List.of())));
        }
        for (int rowCount : STEP_ROWS) { // tokens/s of a step over B rows against one row's, run by run
            if (rowCount > 1) {
                List<Double> a = gains(ours, rowCount);
                List<Double> b = gains(peer, rowCount);
                double ga = Statistics.median(values(a));
                double gb = Statistics.median(values(b));
                rows.put("gain of " + rowCount + " rows", new Comparison(ga, gb, ga / gb, a, b));
            }
        }
        rows.put("THP_MEM_ALLOC_ENABLE", hugePages());
        print(rows, out -> {
            out.printf("%-14s %12s %12s %8s   (%d threads, medians of %d alternating runs; prefill positions/s, "
                    + "decode tokens/s; %s)%n", "test", "ours", "llama.cpp", "ratio", threads, reps,
                    hugePages() ? "THP_MEM_ALLOC_ENABLE=1" : "THP_MEM_ALLOC_ENABLE unset: our weights on 4 KiB pages");
            rows.forEach((test, row) -> {
                if (row instanceof Comparison c) {
                    out.printf(Locale.ROOT, "%-14s %12.1f %12.1f %8.2f%n", test, c.ours(), c.llamaCpp(), c.ratio());
                }
            });
        });
    }

    /** @return whether PyTorch puts large tensors on transparent huge pages (its environment switch, read at start) */
    private static boolean hugePages() {
        return "1".equals(System.getenv("THP_MEM_ALLOC_ENABLE"));
    }

    /** @return per run, the tokens/s of a step over {@code rows} rows divided by one row's */
    private static List<Double> gains(Map<String, List<Double>> rates, int rows) {
        List<Double> many = rates.getOrDefault(stepTest(rows), List.of());
        List<Double> one = rates.getOrDefault(stepTest(1), List.of());
        List<Double> gains = new ArrayList<>();
        for (int i = 0; i < Math.min(many.size(), one.size()); i++) {
            gains.add(many.get(i) / one.get(i));
        }
        return gains.isEmpty() ? List.of(Double.NaN) : gains;
    }

    private static double[] values(List<Double> v) {
        return v.stream().mapToDouble(Double::doubleValue).toArray();
    }
}
