package io.refrag.bench.cli;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import io.refrag.core.Refrag;
import io.refrag.core.RefragManifest;
import io.refrag.core.RefragOptions;
import io.refrag.core.RefragRequest;
import io.refrag.core.RefragResult;
import io.refrag.core.exception.RefragException;
import io.refrag.core.generate.GenerationOptions;
import io.refrag.core.generate.GenerationResult;
import io.refrag.core.generate.Generator;
import io.refrag.core.model.CausalDecoder;
import io.refrag.core.model.DecoderInput;
import io.refrag.core.model.ModelOptions;
import io.refrag.core.model.Precision;
import io.refrag.core.spi.Providers;
import io.refrag.core.train.CorpusSource;
import io.refrag.core.train.TrainingCorpus;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Entry point of {@code refrag-bench.jar}. Exit codes: 0 success, 2 bad command line or input (one-line message on
 * stderr), 1 unexpected failure (one line; {@code --verbose} adds the stack trace).
 */
public final class Main {
    static final Gson JSON = new GsonBuilder().disableHtmlEscaping().serializeSpecialFloatingPointValues().create();
    static final Set<String> MODEL_OPTIONS = Set.of("device", "precision", "threads");
    static final Set<String> PIPELINE_OPTIONS = Set.of("model", "encoder", "projector", "question", "context-file", "k", "p",
            "policy", "policy-file", "pooling");
    static final Set<String> SAMPLING_OPTIONS = Set.of("max-new-tokens", "temperature", "top-k", "top-p", "seed");

    private final PrintStream out;
    private final PrintStream err;

    Main(PrintStream out, PrintStream err) {
        this.out = out;
        this.err = err;
    }

    /**
     * @param args sub-command and options
     */
    public static void main(String[] args) {
        if (System.getProperty("ai.djl.offline") == null) {
            System.setProperty("ai.djl.offline", "true");
        }
        System.exit(new Main(System.out, System.err).run(args));
    }

    int run(String[] args) {
        if (args.length == 0 || args[0].equals("--help") || args[0].equals("help")) {
            out.println(usage());
            return args.length == 0 ? 2 : 0;
        }
        List<String> rest = new ArrayList<>(Arrays.asList(args).subList(1, args.length));
        boolean verbose = rest.remove("--verbose");
        if (rest.contains("--help")) {
            String help = usage(args[0]);
            out.println(help.isEmpty() ? usage() : help);
            return 0;
        }
        try {
            switch (args[0]) {
                case "generate" -> generate(rest);
                case "perplexity" -> perplexity(rest);
                case "compare" -> new Compare(out, err).run(rest);
                case "train" -> new Train(out, err).run(rest);
                case "eval" -> new Eval(out, err).run(rest);
                case "sample" -> sample(rest);
                default -> throw new UsageException("unknown command '" + args[0]
                        + "'; allowed: generate, perplexity, compare, train, eval, sample");
            }
            return 0;
        } catch (RefragException e) {
            err.println("refrag: " + e.getMessage().replace('\n', ' '));
            return 2;
        } catch (RuntimeException | Error e) {
            return unexpected(e, verbose);
        }
    }

    /**
     * Reports a failure no check foresaw: one line, the stack trace only when asked for.
     *
     * @return exit code 1
     */
    int unexpected(Throwable e, boolean verbose) {
        err.println("refrag: unexpected failure: " + String.valueOf(e).replace('\n', ' ')
                + (verbose ? "" : " (--verbose prints the stack trace)"));
        if (verbose) {
            e.printStackTrace(err);
        }
        return 1;
    }

    /** @return the usage lines of one command, or an empty string for an unknown command */
    static String usage(String command) {
        StringBuilder sb = new StringBuilder();
        boolean in = false;
        for (String line : usage().split("\n")) {
            if (line.startsWith("  ") && !line.startsWith("   ")) {
                in = line.substring(2).startsWith(command + " ");
            }
            if (in) {
                sb.append(sb.isEmpty() ? "usage: java -jar refrag-bench.jar" + System.lineSeparator() : "")
                        .append(line).append(System.lineSeparator());
            }
        }
        return sb.toString().stripTrailing();
    }

    private static String usage() {
        return String.join("\n",
                "usage: java -jar refrag-bench.jar <command> [options] [--verbose]",
                "  generate   (--decoder DIR | --model DIR) --prompt TEXT [--max-new-tokens N] [--temperature T]",
                "             [--top-k K] [--top-p P] [--seed S] [--device D] [--precision fp32|fp16] [--threads N]",
                "             [--json]",
                "  generate   (--model DIR | --decoder DIR --encoder DIR [--projector FILE]) --question TEXT",
                "             --context-file FILE [--k N] [--p F] [--policy NAME] [--policy-file FILE]",
                "             [--pooling cls|mean|pooler] [--full-context] [sampling and device options] [--json]",
                "  compare    (--model DIR | --decoder DIR --encoder DIR [--projector FILE]) --context-file FILE",
                "             (--question TEXT | --prompt TEXT) [--passages N] [--k 8,16,32] [--p F] [--policy NAME]",
                "             [--repeats R] [--chart FILE.svg] [--eval-corpus FILE [--eval-documents 40]]",
                "             [sampling and device options] [--json]",
                "  perplexity --decoder DIR --text-file FILE [--device D] [--precision fp32|fp16] [--threads N] [--json]",
                "  eval       (--model DIR | --decoder DIR --encoder DIR [--projector FILE]) [--encoder DIR]",
                "             (--corpus FILE | --sample-documents N [--sample-tokens T] [--sample-seed S] | --qa FILE)",
                "             [--s 64] [--o 32] [--k 8,16,32] [--p 0,0.25] [--policy none,random,...] [--documents N]",
                "             [--seed S] [--chart FILE.svg] [device options] [--json]",
                "  sample     --decoder DIR --documents N --output FILE [--tokens 256] [--seed S] [device options]",
                "             (a corpus the decoder writes itself, one document per line, for training and eval)",
                "  train      reconstruct|cpt|policy --config FILE.json [--threads N] [--json]",
                "             (config keys: see TrainingTask.read; progress on stderr; writes OUTPUT/refrag.json)");
    }

    private void generate(List<String> argv) {
        Args a = Args.parse("generate", argv, union(Set.of("decoder", "prompt"), PIPELINE_OPTIONS, MODEL_OPTIONS,
                SAMPLING_OPTIONS), Set.of("json", "full-context"));
        GenerationOptions options = generationOptions(a);
        if (a.has("context-file") || a.has("question")) {
            generateRefrag(a, options);
            return;
        }
        Path decoderDir = Pipelines.manifest(a, false, true).decoder();
        String prompt = a.requireString("prompt");
        try (CausalDecoder decoder = Providers.loadDecoder(decoderDir, modelOptions(a))) {
            long start = System.nanoTime();
            int[] ids = decoder.info().withBos(decoder.tokenizer().encode(prompt).ids());
            GenerationResult r = Generator.generate(decoder, DecoderInput.ofTokens(ids), options, start);
            if (a.flag("json")) {
                out.println(JSON.toJson(resultJson(r)));
            } else {
                out.println(prompt + r.text());
                out.println(metricsLine(r));
            }
        }
    }

    private void generateRefrag(Args a, GenerationOptions generation) {
        String question = a.requireString("question");
        List<String> passages = RefragRequest.readPassages(a.requireFile("context-file"));
        checkFraction(a);
        RefragOptions.builder().optK(a.integer("k", RefragManifest.DEFAULT_K)); // checked before any model loads
        try (Refrag refrag = Pipelines.open(a, !a.flag("full-context"))) {
            RefragOptions options = refragOptions(a, refrag.defaults(), generation,
                    a.integer("k", refrag.defaults().k())).toBuilder().optFullContext(a.flag("full-context")).build();
            RefragResult r = refrag.generate(RefragRequest.of(question, passages), options);
            if (a.flag("json")) {
                out.println(JSON.toJson(refragJson(r)));
            } else {
                out.println(r.text());
                out.println(metricsLine(r.generation()));
                out.printf("decoder input %d positions (full context %d, %.2fx compression), %d/%d chunks expanded; "
                        + "encode %.2f ms, policy %.2f ms, prefill %.2f ms%n", r.decoderInputLength(),
                        r.fullContextTokens(), r.compressionRatio(), r.expandedChunks(), r.totalChunks(),
                        r.encodeMillis(), r.policyMillis(), r.generation().metrics().prefillMillis());
            }
        }
    }

    static String metricsLine(GenerationResult r) {
        return String.format("[%d prompt positions, %d generated, finish %s] TTFT %.2f ms, TTIT %.2f ms, %.1f tokens/s",
                r.promptTokens(), r.generatedTokens(), r.finishReason(), r.metrics().ttftMillis(),
                r.metrics().ttitMillis(), r.metrics().throughputTokensPerSecond());
    }

    static Map<String, Object> refragJson(RefragResult r) {
        Map<String, Object> json = resultJson(r.generation());
        json.put("decoderInputLength", r.decoderInputLength());
        json.put("fullContextTokens", r.fullContextTokens());
        json.put("totalChunks", r.totalChunks());
        json.put("expandedChunks", r.expandedChunks());
        json.put("encodeMillis", r.encodeMillis());
        json.put("policyMillis", r.policyMillis());
        json.put("cacheHits", r.cacheHits());
        return json;
    }

    /** Per-request options; the policy is the pipeline's default, set from --policy by {@link Pipelines}. */
    /**
     * @param a parsed options ({@code --p} overrides the pipeline's default fraction)
     * @param defaults the pipeline's defaults ({@code refrag.json}'s k and p for a REFRAG folder)
     * @param generation sampling options
     * @param k chunk size
     * @return the request options
     */
    static RefragOptions refragOptions(Args a, RefragOptions defaults, GenerationOptions generation, int k) {
        return defaults.toBuilder()
                .optK(k)
                .optExpansionFraction(a.has("p") ? a.number("p", 0f) : defaults.expansionFraction())
                .optGeneration(generation)
                .build();
    }

    /** Checks {@code --p} before any model loads. */
    static void checkFraction(Args a) {
        RefragOptions.builder().optExpansionFraction(a.number("p", 0f));
    }

    private void perplexity(List<String> argv) {
        Args a = Args.parse("perplexity", argv, union(Set.of("decoder", "text-file"), MODEL_OPTIONS, Set.of()),
                Set.of("json"));
        Path decoderDir = a.requireDir("decoder");
        Path file = a.requireFile("text-file");
        String text = read(file);
        try (CausalDecoder decoder = Providers.loadDecoder(decoderDir, modelOptions(a))) {
            int[] tokens = decoder.info().withBos(decoder.tokenizer().encode(text).ids());
            if (tokens.length < 2) {
                throw new UsageException("perplexity: " + file + " holds no text to score");
            }
            float[] nll = decoder.windowedNll(tokens);
            double sum = 0;
            for (float v : nll) {
                sum += v;
            }
            int predicted = nll.length;
            double mean = sum / predicted;
            Map<String, Object> json = new LinkedHashMap<>();
            json.put("tokens", tokens.length);
            json.put("predictedTokens", predicted);
            json.put("meanNll", mean);
            json.put("perplexity", Math.exp(mean));
            if (a.flag("json")) {
                out.println(JSON.toJson(json));
            } else {
                out.printf("%d tokens, mean NLL %.4f nats/token, perplexity %.3f%n", tokens.length, mean, Math.exp(mean));
            }
        }
    }

    /** {@code sample}: documents the decoder writes from BOS at temperature 1, one per line (document i: seed + i). */
    private void sample(List<String> argv) {
        Args a = Args.parse("sample", argv, union(Set.of("decoder", "documents", "tokens", "seed", "output"),
                MODEL_OPTIONS), Set.of());
        if (!a.has("output")) {
            throw new UsageException("sample: --output FILE is required");
        }
        Path output = a.optOutputFile("output");
        CorpusSource.Sampled spec = new CorpusSource.Sampled(a.integer("documents", 0), a.integer("tokens", 256),
                a.longValue("seed", 0)); // checks the counts before any model loads
        try (CausalDecoder decoder = Providers.loadDecoder(a.requireDir("decoder"), modelOptions(a))) {
            TrainingCorpus corpus = spec.resolve(decoder);
            Eval.write(output, String.join("\n", corpus.documents()) + "\n");
            err.printf("sample: %d documents written to %s%n", corpus.documents().size(), output);
        }
    }

    static Map<String, Object> resultJson(GenerationResult r) {
        Map<String, Object> json = new LinkedHashMap<>();
        json.put("text", r.text());
        json.put("tokenIds", r.tokenIds());
        json.put("finishReason", r.finishReason().name());
        json.put("promptTokens", r.promptTokens());
        json.put("generatedTokens", r.generatedTokens());
        json.put("ttftMillis", r.metrics().ttftMillis());
        json.put("ttitMillis", r.metrics().ttitMillis());
        json.put("throughputTokensPerSecond", r.metrics().throughputTokensPerSecond());
        json.put("prefillMillis", r.metrics().prefillMillis());
        json.put("decodeMillis", r.metrics().decodeMillis());
        json.put("prefillPositions", r.metrics().prefillPositions());
        json.put("kvCacheBytes", r.metrics().kvCacheBytes());
        return json;
    }


    static GenerationOptions generationOptions(Args a) {
        GenerationOptions.Builder b = GenerationOptions.builder()
                .optMaxNewTokens(a.integer("max-new-tokens", 64))
                .optTemperature(a.number("temperature", 0f))
                .optTopK(a.integer("top-k", 0))
                .optTopP(a.number("top-p", 1f))
                .optSeed(a.longValue("seed", 0L));
        return b.build();
    }

    static ModelOptions modelOptions(Args a) {
        applyThreads(a);
        return new ModelOptions(a.string("device", "auto"), Precision.parse(a.string("precision", "fp32")));
    }

    /** Applies {@code --threads N}: read by DJL when the PyTorch engine starts, on the first model load. */
    static void applyThreads(Args a) {
        if (a.has("threads")) {
            int threads = a.integer("threads", 0);
            int cores = Runtime.getRuntime().availableProcessors();
            if (threads < 1 || threads > cores) {
                throw new UsageException("--threads must be in [1, " + cores + "] (the cores available), got "
                        + threads);
            }
            System.setProperty("ai.djl.pytorch.num_threads", Integer.toString(threads));
        }
    }

    static String read(Path file) {
        try {
            return Files.readString(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UsageException("cannot read " + file + ": " + e.getMessage());
        }
    }

    @SafeVarargs
    static Set<String> union(Set<String>... sets) {
        java.util.HashSet<String> all = new java.util.HashSet<>();
        for (Set<String> s : sets) {
            all.addAll(s);
        }
        return all;
    }
}
