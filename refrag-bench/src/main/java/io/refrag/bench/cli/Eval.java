package io.refrag.bench.cli;

import io.refrag.core.Refrag;
import io.refrag.core.RefragManifest;
import io.refrag.core.eval.EvalOptions;
import io.refrag.core.eval.EvalReport;
import io.refrag.core.eval.EvalRow;
import io.refrag.core.eval.Evaluator;
import io.refrag.core.eval.QaExample;
import io.refrag.core.model.PolicyNames;
import io.refrag.core.spi.Providers;
import io.refrag.core.corpus.CorpusSource;
import io.refrag.core.corpus.TrainingCorpus;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * {@code eval}: held-out NLL (or QA exact match and F1) of no context, full context and REFRAG modes side by side,
 * with each mode's decoder input length and TTFT; a table, {@code --json}, and {@code --chart} (NLL against TTFT).
 */
@Command(name = "eval", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Quality of no context, full context and REFRAG (per k, p and policy) side by side with TTFT: "
            + "held-out NLL on --corpus or --sample-documents, or exact match and F1 on --qa."})
final class Eval extends CliCommand {
    /** Default seed of a sampled evaluation corpus: far from the training recipes' seeds, so never trained on. */
    static final long SAMPLE_SEED = 1_000_000;

    @Mixin
    CliOptions.Models models;

    @Option(names = "--corpus", paramLabel = "FILE", description = "held-out documents (text: one per line; .jsonl)")
    Path corpusFile;

    @Option(names = "--qa", paramLabel = "FILE.jsonl", description = "questions with passages and answers")
    Path qaFile;

    @Option(names = "--sample-documents", paramLabel = "N", description = "documents the decoder samples itself")
    Integer sampleDocuments;

    @Option(names = "--sample-tokens", defaultValue = "256", paramLabel = "T", description = "tokens per sample")
    int sampleTokens;

    @Option(names = "--sample-seed", defaultValue = "" + SAMPLE_SEED, paramLabel = "S", description = "sample seed")
    long sampleSeed;

    @Option(names = "--s", defaultValue = "" + EvalOptions.DEFAULT_CONTEXT_TOKENS, paramLabel = "N",
            description = "context tokens per document (default: ${DEFAULT-VALUE})")
    int contextTokens;

    @Option(names = "--o", defaultValue = "" + EvalOptions.DEFAULT_TARGET_TOKENS, paramLabel = "N",
            description = "scored tokens per document (default: ${DEFAULT-VALUE})")
    int targetTokens;

    @Option(names = "--k", split = ",", defaultValue = "8,16,32", paramLabel = "K,...", description = "chunk sizes")
    List<Integer> ks;

    @Option(names = "--p", split = ",", defaultValue = "0,0.25", paramLabel = "P,...", description = "fractions")
    List<Double> ps;

    @Option(names = "--policy", split = ",", paramLabel = "NAME,...",
            description = "policies (default: none and random, plus learned when the folder has a policy file)")
    List<String> policies;

    @Option(names = "--documents", defaultValue = "" + EvalOptions.DEFAULT_DOCUMENTS, paramLabel = "N",
            description = "documents (or questions) to use")
    int documents;

    @Option(names = "--seed", defaultValue = "0", paramLabel = "S", description = "document sampling seed")
    long seed;

    @Option(names = "--chart", paramLabel = "FILE.svg", description = "NLL against TTFT, as SVG")
    Path chart;

    @Mixin
    CliOptions.Device device;

    @Override
    void execute() {
        RefragManifest manifest = models.manifest(true, null, err());
        List<String> names = policies != null ? policies : defaultPolicies(manifest);
        Set<String> known = Providers.policyNames();
        for (String name : names) {
            if (!known.contains(name)) {
                throw new UsageException("eval: unknown policy '" + name + "'; allowed: " + known);
            }
        }
        EvalOptions options = new EvalOptions(contextTokens, targetTokens, ks, ps, names, documents, seed);
        Path chartFile = CliOptions.outputFile("--chart", chart);
        int sources = (corpusFile != null ? 1 : 0) + (qaFile != null ? 1 : 0) + (sampleDocuments != null ? 1 : 0);
        if (sources != 1) {
            throw new UsageException("eval: give exactly one of --corpus FILE (text or .jsonl), --qa FILE.jsonl or "
                    + "--sample-documents N");
        }
        List<String> corpus = corpusFile != null
                ? TrainingCorpus.read(CliOptions.requireFile("--corpus", corpusFile)).documents() : null;
        List<QaExample> qa = qaFile != null ? QaExample.readJsonl(CliOptions.requireFile("--qa", qaFile)) : null;
        CorpusSource.Sampled sampled = sampleDocuments == null ? null
                : new CorpusSource.Sampled(sampleDocuments, sampleTokens, sampleSeed); // checked before models load
        try (Refrag refrag = Refrag.open(manifest, device.modelOptions())) {
            if (sampled != null) {
                err().printf("eval: sampling %d documents from the decoder ...%n", sampled.documents());
                corpus = sampled.resolve(refrag.decoder()).documents();
            }
            Evaluator evaluator = new Evaluator(refrag, options);
            Progress progress = new Progress("eval", err(), json);
            EvalReport report = qa != null ? evaluator.qa(qa, progress::update)
                    : evaluator.perplexity(corpus, progress::update);
            print(report, out -> out.print(table(report, options, qa != null)));
            if (chartFile != null) {
                write(chartFile, chart(report));
            }
        }
    }

    private static List<String> defaultPolicies(RefragManifest manifest) {
        List<String> p = new ArrayList<>(EvalOptions.DEFAULT_POLICIES);
        if (manifest.policyFile() != null) {
            p.add(PolicyNames.LEARNED);
        }
        return p;
    }

    static String table(EvalReport report, EvalOptions o, boolean qa) {
        StringBuilder sb = new StringBuilder();
        sb.append(String.format(Locale.ROOT, "%s: %d %s (%d skipped), s=%d, o=%d%n", qa ? "QA" : "held-out NLL",
                report.documents(), qa ? "questions" : "documents", report.skipped(), o.contextTokens(),
                o.targetTokens()));
        sb.append(String.format(Locale.ROOT, "%-34s %10s %9s %8s %8s %10s%s%n", "mode", "dec. input", "TTFT ms", "NLL",
                "PPL", "gain kept", qa ? String.format("%7s %7s", "EM", "F1") : ""));
        for (EvalRow r : report.rows()) {
            sb.append(String.format(Locale.ROOT, "%-34s %10.1f %9.2f %8.4f %8.3f %9.1f%%%s%n", r.label(),
                    r.decoderInputLength(), r.ttftMillis(), r.meanNll(), r.perplexity(), 100 * r.gainKept(),
                    qa ? String.format(Locale.ROOT, "%7.3f %7.3f", r.exactMatch(), r.f1()) : ""));
        }
        return sb.toString();
    }

    private static String chart(EvalReport report) {
        List<Svg.Point> points = report.rows().stream()
                .map(r -> new Svg.Point(r.label(), r.ttftMillis(), r.meanNll())).toList();
        return Svg.scatter("Quality against TTFT (lower is better on both)", "TTFT ms (median, cached chunks)",
                "held-out NLL (nats/token)", points);
    }

    static void write(Path file, String text) {
        try {
            Files.writeString(file, text);
        } catch (IOException e) {
            throw new UsageException("cannot write " + file + ": " + e.getMessage());
        }
    }
}
