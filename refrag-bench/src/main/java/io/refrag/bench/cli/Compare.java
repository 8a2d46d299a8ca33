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
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * {@code compare}: the same request in full-context mode and in REFRAG mode for each k, with chunk embeddings computed
 * per request (uncached) and served from a warm cache (cached). Every configuration gets one warm-up run, then the
 * median of {@code --repeats} runs is reported with its ratio to full context, all measured in this one process.
 * With {@code --context-tokens}, one such comparison per context length; a context longer than the decoder's window
 * shows full context refused (as its row's result) and REFRAG serving it, at the largest p that fits. With
 * {@code --eval-corpus}, each mode's held-out NLL and the share of the full-context gain it keeps stand beside its
 * speed ({@link Evaluator}: no context, full context and REFRAG at the request's p and policy).
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

    @Option(names = "--context-tokens", split = ",", paramLabel = "N,...", description = "compare on contexts of up "
            + "to N full-context tokens each (the context file's leading passages); longer than the decoder's window, "
            + "full context is refused and REFRAG serves it")
    List<Integer> contextTokens;

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
     * One measured configuration, printed and serialised as it is: medians, ratios to full context (null when full
     * context could not run), its held-out quality (null without {@code --eval-corpus}), the p it ran at, and why it
     * could not run (null when it ran).
     */
    record Run(String mode, int k, boolean cached, Double p, int decoderInputLength, double ttftMillis,
            double ttitMillis, double throughputTokensPerSecond, double encodeMillis, double prefillMillis,
            Double ttftSpeedup, Double throughputSpeedup, Double heldOutNll, Double gainKept, String text,
            String refused) {

        /** @return a mode that could not run, and why */
        static Run refused(String mode, int k, boolean cached, String why) {
            return new Run(mode, k, cached, null, 0, Double.NaN, Double.NaN, Double.NaN, Double.NaN, Double.NaN,
                    null, null, null, null, "", why);
        }

        /** @return this run's ratios to full context (when it ran), and its quality row's NLL and gain kept */
        Run against(Run full, EvalRow quality) {
            boolean both = refused == null && full.refused() == null;
            return new Run(mode, k, cached, p, decoderInputLength, ttftMillis, ttitMillis, throughputTokensPerSecond,
                    encodeMillis, prefillMillis, both ? full.ttftMillis / ttftMillis : null,
                    both ? throughputTokensPerSecond / full.throughputTokensPerSecond : null,
                    quality == null ? null : quality.meanNll(), quality == null ? null : quality.gainKept(), text,
                    refused);
        }

        String label() {
            return k == 0 ? mode : mode + " k=" + k + (cached ? " cached" : " uncached");
        }
    }

    /**
     * One context's comparison.
     *
     * @param passages passages in the context
     * @param fullContextTokens positions full context needs for them (prompt included)
     * @param runs full context, then REFRAG per k, uncached and cached
     */
    record Context(int passages, int fullContextTokens, List<Run> runs) {
    }

    /** What {@code --json} prints: the request, the quality reference, then every context's runs. */
    record Report(String question, String prompt, int windowPositions, Integer heldOutDocuments, Double noContextNll,
            List<Context> contexts) {
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
            List<List<String>> contexts = new ArrayList<>();
            if (contextTokens != null) {
                for (int n : contextTokens) {
                    contexts.add(leading(refrag, corpus, n));
                }
            } else {
                contexts.add(request.passages != null ? request.first(corpus)
                        : refrag.fittingPassages(request::request, corpus, generation.maxNewTokens()));
            }
            err().printf("compare: %d context(s) of %s passages, %d repeats after 1 warm-up, k in %s%n",
                    contexts.size(), contexts.stream().map(c -> Integer.toString(c.size())).toList(), repeats, ks);
            EvalReport quality = heldOut == null ? null : quality(refrag, heldOut, base);
            Progress progress = new Progress("compare", err(), json);
            int total = contexts.size() * (1 + 2 * ks.size());
            List<Context> measured = new ArrayList<>();
            for (List<String> context : contexts) {
                RefragRequest each = request.request(context);
                measured.add(new Context(context.size(), refrag.fullContextTokens(each),
                        measureAll(refrag, each, base, quality, progress, measured.size() * (1 + 2 * ks.size()),
                                total)));
            }
            progress.update(total, total);
            report(text, refrag.decoder().info().maxPositions(), measured, quality);
            if (chartFile != null) {
                chart(refrag, corpus, base, chartFile);
            }
        }
    }

    /**
     * @return the leading passages whose full context stays within {@code tokens} positions, the last one cut at a
     *     word boundary to come as close as it can (at least one word)
     */
    private List<String> leading(Refrag refrag, List<String> corpus, int tokens) {
        int n = 1;
        while (n < corpus.size() && refrag.fullContextTokens(request.request(corpus.subList(0, n + 1))) <= tokens) {
            n++;
        }
        List<String> context = new ArrayList<>(corpus.subList(0, n));
        String next = n < corpus.size() ? corpus.get(n) : context.remove(n - 1);
        String[] words = next.split(" ");
        int lo = context.isEmpty() ? 1 : 0; // words of the cut passage that fit; one at least for an empty context
        int hi = words.length;
        while (lo < hi) {
            int mid = (lo + hi + 1) >>> 1;
            List<String> tried = new ArrayList<>(context);
            tried.add(String.join(" ", Arrays.copyOf(words, mid)));
            if (refrag.fullContextTokens(request.request(tried)) <= tokens) {
                lo = mid;
            } else {
                hi = mid - 1;
            }
        }
        if (lo > 0) {
            context.add(String.join(" ", Arrays.copyOf(words, lo)));
        }
        return context;
    }

    /** Checks the counts, k and p before any model is loaded. */
    private void checkCounts() {
        if (repeats < 1) {
            throw new UsageException("compare: --repeats must be >= 1, got " + repeats);
        }
        if (evalDocuments < 1) {
            throw new UsageException("compare: --eval-documents must be >= 1, got " + evalDocuments);
        }
        if (contextTokens != null) {
            if (request.passages != null) {
                throw new UsageException("compare: give --context-tokens or --passages, not both");
            }
            for (int n : contextTokens) {
                if (n < 1 || n > 1_000_000) {
                    throw new UsageException("compare: --context-tokens must be 1 to 1000000 each, got " + n);
                }
            }
        }
        for (int k : ks) {
            RefragOptions.builder().optK(k);
        }
        if (expansion.p != null) {
            RefragOptions.builder().optExpansionFraction(expansion.p);
        }
    }

    /**
     * Full context, then REFRAG at each k uncached and cached, each with its quality row. A mode that cannot take the
     * context is a refused row; REFRAG drops to the largest p (in steps of 0.05) that fits before it refuses.
     */
    private List<Run> measureAll(Refrag refrag, RefragRequest request, RefragOptions base, EvalReport quality,
            Progress progress, int done, int total) {
        int window = refrag.decoder().info().maxPositions();
        int needs = refrag.fullContextTokens(request) + base.generation().maxNewTokens();
        Run full = needs > window
                ? Run.refused("full-context", 0, false, String.format(Locale.ROOT, "refused: needs %,d positions, "
                        + "the decoder's window is %,d", needs, window))
                : measure(refrag, request, base.toBuilder().optFullContext(true).build(), "full-context", 0, false,
                        repeats);
        List<Run> runs = new ArrayList<>(List.of(full.against(full, quality == null ? null
                : quality.row(EvalMode.FULL))));
        for (int k : ks) {
            EvalRow q = quality == null ? null : quality.refragRow(k);
            double p = base.expansionFraction();
            for (boolean cached : new boolean[] {false, true}) {
                progress.update(done + runs.size(), total);
                Run run = fitting(refrag, request, base.toBuilder().optK(k).optExpansionFraction(p)
                        .optUseCache(cached).build(), k, cached);
                p = run.p() != null ? run.p() : p; // the cached run starts where the uncached one fitted
                // the quality row was scored at the request's p: a run at a lower p shows none
                runs.add(run.against(full, run.p() != null && run.p() == base.expansionFraction() ? q : null));
            }
        }
        return runs;
    }

    /**
     * @return the REFRAG run at the options' p, or at the largest lower p whose prompt leaves room for the answer, or
     *     a refused row
     */
    private Run fitting(Refrag refrag, RefragRequest request, RefragOptions o, int k, boolean cached) {
        for (double p = o.expansionFraction(); ; p = Math.max(0, Math.floor(p * 20 - 1e-9) / 20)) {
            try {
                return measure(refrag, request, o.toBuilder().optExpansionFraction(p).build(), "refrag", k, cached,
                        repeats);
            } catch (ContextTooLongException e) {
                if (p == 0) {
                    return Run.refused("refrag", k, cached, String.format(Locale.ROOT, "refused: needs %,d "
                            + "positions at p = 0, the decoder's window is %,d", e.requested(), e.limit()));
                }
            }
        }
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
        int window = refrag.decoder().info().maxPositions();
        int needs = first.decoderInputLength() + options.generation().maxNewTokens();
        if (needs > window) { // the prompt fits, the answer would be cut short: a REFRAG run tries a lower p
            throw new ContextTooLongException("no room for the answer", needs, window);
        }
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
        return new Run(mode, k, cached, options.fullContext() ? null : options.expansionFraction(),
                first.decoderInputLength(), Statistics.median(ttft), Statistics.median(ttit), Statistics.median(tput),
                Statistics.median(encode), Statistics.median(prefill), null, null, null, null, first.text(), null);
    }

    private void report(String text, int window, List<Context> contexts, EvalReport quality) {
        Report report = new Report(request.question, request.prompt, window,
                quality == null ? null : quality.documents(),
                quality == null ? null : quality.row(EvalMode.NONE).meanNll(), contexts);
        print(report, out -> table(out, text, report, quality));
    }

    private void table(PrintWriter out, String text, Report report, EvalReport quality) {
        out.println((request.question != null ? "Question: " : "Prompt: ") + text.strip() + "   (decoder window "
                + report.windowPositions() + " positions)");
        for (Context c : report.contexts()) {
            out.printf(Locale.ROOT, "%nContext: %d passages, %,d full-context tokens%n", c.passages(),
                    c.fullContextTokens());
            for (Run r : c.runs()) {
                out.printf("  %-26s %s: %s%n", r.label(), request.question != null ? "answer" : "continues",
                        r.refused() != null ? "(" + r.refused() + ")" : r.text().replace('\n', ' ').strip());
            }
            out.printf("%-26s %5s %9s %10s %9s %10s %11s %9s %10s%s%n", "mode", "p", "dec. input", "TTFT ms",
                    "TTIT ms", "tokens/s", "encode ms", "TTFT x", "tput x",
                    quality == null ? "" : String.format("%9s %10s", "NLL", "gain kept"));
            for (Run r : c.runs()) {
                String q = r.heldOutNll() == null ? ""
                        : String.format(Locale.ROOT, "%9.4f %9.1f%%", r.heldOutNll(), 100 * r.gainKept());
                if (r.refused() != null) {
                    out.printf(Locale.ROOT, "%-26s %s%n", r.label(), r.refused());
                    continue;
                }
                out.printf(Locale.ROOT, "%-26s %5s %9d %10.2f %9.2f %10.1f %11.2f %9s %10s%s%n", r.label(),
                        r.p() == null ? "-" : String.format(Locale.ROOT, "%.2f", r.p()),
                        r.decoderInputLength(), r.ttftMillis(), r.ttitMillis(), r.throughputTokensPerSecond(),
                        r.encodeMillis(), ratio(r.ttftSpeedup()), ratio(r.throughputSpeedup()), q);
            }
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

    private static String ratio(Double r) {
        return r == null ? "-" : String.format(Locale.ROOT, "%.2f", r);
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
