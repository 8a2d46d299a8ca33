package io.refrag.bench.cli;

import io.refrag.core.Refrag;
import io.refrag.core.RefragManifest;
import io.refrag.core.RefragOptions;
import io.refrag.core.RefragRequest;
import io.refrag.core.RefragResult;
import io.refrag.core.corpus.TrainingCorpus;
import io.refrag.core.eval.EvalMode;
import io.refrag.core.exception.ContextTooLongException;
import io.refrag.core.eval.EvalOptions;
import io.refrag.core.eval.EvalReport;
import io.refrag.core.eval.EvalRow;
import io.refrag.core.eval.Evaluator;
import io.refrag.core.eval.Statistics;
import io.refrag.core.generate.GenerationOptions;
import io.refrag.core.model.Compression;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * {@code compare}: the same request in full-context mode and in REFRAG mode for each k, with chunk embeddings computed
 * per request (uncached) and served from a warm cache (cached). Every configuration gets one warm-up run, then the
 * median of {@code --repeats} runs is reported with its ratio to full context, all measured in this one process.
 * With {@code --eval-corpus}, each mode's held-out NLL and the share of the full-context gain it keeps stand beside
 * its speed ({@link Evaluator}: no context, full context and REFRAG at the request's p and policy).
 */
@Command(name = "compare", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Full context against REFRAG (uncached and cached) for each k on one request: TTFT, TTIT, "
            + "throughput; with --eval-corpus, held-out NLL beside them."})
final class Compare extends CliCommand {
    @Mixin
    CliOptions.Models models;

    @Mixin
    CliOptions.Request request;

    @Option(names = "--k", split = ",", defaultValue = "8,16,32", paramLabel = "K,...",
            description = "chunk sizes to compare (default: ${DEFAULT-VALUE})")
    List<Integer> ks;

    @Mixin
    CliOptions.Expansion expansion;

    @Option(names = "--repeats", defaultValue = "3", paramLabel = "R", description = "measured runs per mode")
    int repeats;

    @Option(names = "--chart", paramLabel = "FILE.svg", description = "TTFT against context length, as SVG")
    Path chart;

    @Option(names = "--eval-corpus", paramLabel = "FILE", description = "held-out documents for the quality columns")
    Path evalCorpus;

    @Option(names = "--eval-documents", defaultValue = "40", paramLabel = "N", description = "documents to score")
    int evalDocuments;

    @Mixin
    CliOptions.Sampling sampling;

    @Mixin
    CliOptions.Device device;

    /**
     * One measured configuration, printed and serialised as it is: medians, ratios to full context, and its held-out
     * quality (null without {@code --eval-corpus}).
     */
    record Run(String mode, int k, boolean cached, int decoderInputLength, double ttftMillis, double ttitMillis,
            double throughputTokensPerSecond, double encodeMillis, double prefillMillis, double ttftSpeedup,
            double throughputSpeedup, Double heldOutNll, Double gainKept, String text) {

        /** @return this run's ratios to full context, and its quality row's NLL and gain kept */
        Run against(Run full, EvalRow quality) {
            return new Run(mode, k, cached, decoderInputLength, ttftMillis, ttitMillis, throughputTokensPerSecond,
                    encodeMillis, prefillMillis, full.ttftMillis / ttftMillis,
                    throughputTokensPerSecond / full.throughputTokensPerSecond,
                    quality == null ? null : quality.meanNll(), quality == null ? null : quality.gainKept(), text);
        }

        String label() {
            return k == 0 ? mode : mode + " k=" + k + (cached ? " cached" : " uncached");
        }
    }

    /** What {@code --json} prints: the request, then every run (the question or the prompt, whichever was given). */
    record Report(String question, String prompt, int passages, int fullContextTokens, Integer heldOutDocuments,
            Double noContextNll, List<Run> runs) {
    }

    @Override
    void execute() {
        String text = request.text("compare");
        List<String> corpus = request.allPassages("compare");
        List<String> heldOut = evalCorpus == null ? null
                : TrainingCorpus.read(CliOptions.requireFile("--eval-corpus", evalCorpus)).documents();
        checkCounts();
        GenerationOptions generation = sampling.generation();
        Path chartFile = CliOptions.outputFile("--chart", chart);
        RefragManifest manifest = models.manifest(true, expansion.policy, err());
        try (Refrag refrag = Refrag.open(manifest, device.modelOptions())) {
            RefragOptions base = refrag.defaults().toBuilder().optK(ks.get(0))
                    .optExpansionFraction(expansion.p != null ? expansion.p : refrag.defaults().expansionFraction())
                    .optGeneration(generation).build();
            List<String> used = request.passages != null ? request.first(corpus)
                    : refrag.fittingPassages(request::request, corpus, generation.maxNewTokens());
            err().printf("compare: %d passages, %d repeats after 1 warm-up, k in %s%n", used.size(), repeats, ks);
            EvalReport quality = heldOut == null ? null : quality(refrag, heldOut, base);
            report(text, used.size(), measureAll(refrag, request.request(used), base, quality), quality);
            if (chartFile != null) {
                chart(refrag, corpus, base, chartFile);
            }
        }
    }

    /** Checks the counts, k and p before any model is loaded. */
    private void checkCounts() {
        if (repeats < 1) {
            throw new UsageException("compare: --repeats must be >= 1, got " + repeats);
        }
        if (evalDocuments < 1) {
            throw new UsageException("compare: --eval-documents must be >= 1, got " + evalDocuments);
        }
        for (int k : ks) {
            RefragOptions.builder().optK(k);
        }
        if (expansion.p != null) {
            RefragOptions.builder().optExpansionFraction(expansion.p);
        }
    }

    /** Full context, then REFRAG at each k uncached and cached, each with its quality row. */
    private List<Run> measureAll(Refrag refrag, RefragRequest request, RefragOptions base, EvalReport quality) {
        Progress progress = new Progress("compare", err(), json);
        int configurations = 1 + 2 * ks.size();
        Run full = measure(refrag, request, base.toBuilder().optFullContext(true).build(), "full-context", 0, false,
                repeats);
        List<Run> runs = new ArrayList<>(List.of(full.against(full, quality == null ? null
                : quality.row(EvalMode.FULL))));
        for (int k : ks) {
            RefragOptions o = base.toBuilder().optK(k).build();
            EvalRow q = quality == null ? null : quality.refragRow(k);
            for (boolean cached : new boolean[] {false, true}) {
                progress.update(runs.size(), configurations);
                runs.add(measure(refrag, request, o.toBuilder().optUseCache(cached).build(), "refrag", k, cached,
                        repeats).against(full, q));
            }
        }
        progress.update(runs.size(), configurations);
        return runs;
    }

    /** Held-out NLL of no context, full context and REFRAG at each k with the request's p and policy. */
    private EvalReport quality(Refrag refrag, List<String> heldOut, RefragOptions base) {
        String name = base.policy() != null ? base.policy() : refrag.defaultPolicy();
        // the "none" policy expands nothing whatever p says: its rows are the p = 0 rows
        double fraction = Compression.servedFraction(name, base.expansionFraction());
        EvalOptions o = new EvalOptions(EvalOptions.DEFAULT_CONTEXT_TOKENS, EvalOptions.DEFAULT_TARGET_TOKENS, ks,
                List.of(fraction), List.of(name), evalDocuments, 0);
        err().printf("compare: held-out NLL on %d documents of %s ...%n", o.documents(), evalCorpus);
        return new Evaluator(refrag, o).perplexity(heldOut, new Progress("compare quality", err(), json)::update);
    }

    private Run measure(Refrag refrag, RefragRequest request, RefragOptions options, String mode, int k,
            boolean cached, int repeats) {
        err().printf("compare: %s%s ...%n", mode, k > 0 ? " k=" + k + (cached ? " cached" : " uncached") : "");
        RefragResult first = refrag.generate(request, options); // warm-up (and cache fill)
        double[] ttft = new double[repeats];
        double[] ttit = new double[repeats];
        double[] tput = new double[repeats];
        double[] encode = new double[repeats];
        double[] prefill = new double[repeats];
        for (int i = 0; i < repeats; i++) {
            RefragResult r = refrag.generate(request, options);
            ttft[i] = r.generation().metrics().ttftMillis();
            ttit[i] = r.generation().metrics().ttitMillis();
            tput[i] = r.generation().metrics().throughputTokensPerSecond();
            encode[i] = r.encodeMillis();
            prefill[i] = r.generation().metrics().prefillMillis();
        }
        return new Run(mode, k, cached, first.decoderInputLength(), Statistics.median(ttft), Statistics.median(ttit),
                Statistics.median(tput), Statistics.median(encode), Statistics.median(prefill), Double.NaN, Double.NaN,
                null, null, first.text());
    }

    private void report(String text, int passageCount, List<Run> runs, EvalReport quality) {
        Run full = runs.get(0);
        Report report = new Report(request.question, request.prompt, passageCount, full.decoderInputLength(),
                quality == null ? null : quality.documents(),
                quality == null ? null : quality.row(EvalMode.NONE).meanNll(), runs);
        print(report, out -> table(out, text, report, quality));
    }

    private void table(PrintWriter out, String text, Report report, EvalReport quality) {
        out.println((request.question != null ? "Question: " : "Prompt: ") + text.strip() + "   (" + report.passages()
                + " passages, " + report.fullContextTokens() + " full-context tokens)");
        for (Run r : report.runs()) {
            out.printf("  %-26s %s: %s%n", r.label(), request.question != null ? "answer" : "continues",
                    r.text().replace('\n', ' ').strip());
        }
        out.println();
        out.printf("%-26s %9s %10s %9s %10s %11s %9s %10s%s%n", "mode", "dec. input", "TTFT ms", "TTIT ms", "tokens/s",
                "encode ms", "TTFT x", "tput x", quality == null ? "" : String.format("%9s %10s", "NLL", "gain kept"));
        for (Run r : report.runs()) {
            out.printf(Locale.ROOT, "%-26s %9d %10.2f %9.2f %10.1f %11.2f %9.2f %10.2f%s%n", r.label(),
                    r.decoderInputLength(), r.ttftMillis(), r.ttitMillis(), r.throughputTokensPerSecond(),
                    r.encodeMillis(), r.ttftSpeedup(), r.throughputSpeedup(), r.heldOutNll() == null ? ""
                            : String.format(Locale.ROOT, "%9.4f %9.1f%%", r.heldOutNll(), 100 * r.gainKept()));
        }
        if (quality != null) {
            EvalRow first = quality.refragRow(ks.get(0));
            out.printf(Locale.ROOT, "%nQuality: held-out NLL (nats/token) of o=%d tokens after s=%d context tokens, mean "
                    + "over %d documents the model never trained on; no context %.4f. REFRAG rows: p=%s, policy %s. "
                    + "Gain kept = (NLL_none - NLL) / (NLL_none - NLL_full).%n", EvalOptions.DEFAULT_TARGET_TOKENS,
                    EvalOptions.DEFAULT_CONTEXT_TOKENS, report.heldOutDocuments(), report.noContextNll(),
                    first.p(), first.policy());
        }
    }

    /** TTFT against context length: full context while it fits, REFRAG (cached) per k; written as SVG. */
    private void chart(Refrag refrag, List<String> corpus, RefragOptions base, Path file) {
        int limit = refrag.decoder().info().maxPositions();
        Map<String, List<double[]>> series = new LinkedHashMap<>();
        series.put("full context", new ArrayList<>());
        for (int k : ks) {
            series.put("REFRAG k=" + k + " (cached)", new ArrayList<>());
        }
        for (int n = 1; n <= corpus.size(); n *= 2) {
            RefragRequest each = request.request(corpus.subList(0, n));
            int full = refrag.fullContextTokens(each);
            err().printf("compare: chart point %d passages (%d tokens)%n", n, full);
            boolean any = false;
            if (full <= limit - base.generation().maxNewTokens()) {
                series.get("full context").add(new double[] {full, measure(refrag, each,
                        base.toBuilder().optFullContext(true).build(), "full-context", 0, false, 3).ttftMillis()});
                any = true;
            }
            for (int k : ks) {
                RefragOptions o = base.toBuilder().optK(k).build();
                try {
                    series.get("REFRAG k=" + k + " (cached)")
                            .add(new double[] {full, measure(refrag, each, o, "refrag", k, true, 3).ttftMillis()});
                    any = true;
                } catch (ContextTooLongException e) {
                    // this k no longer fits; larger contexts will not either
                }
            }
            if (!any) {
                break;
            }
        }
        Eval.write(file, Svg.lineChart("TTFT vs context length", "context tokens (full)", "TTFT ms", series));
        err().println("compare: chart written to " + file);
    }
}
