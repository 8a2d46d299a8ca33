package io.refrag.bench.cli;

import io.refrag.core.Refrag;
import io.refrag.core.RefragManifest;
import io.refrag.core.RefragOptions;
import io.refrag.core.RefragRequest;
import io.refrag.core.RefragResult;
import io.refrag.core.corpus.TrainingCorpus;
import io.refrag.core.eval.EvalMode;
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

    @Option(names = "--context-file", required = true, paramLabel = "FILE", description = "passages, one per line")
    Path contextFile;

    @Option(names = "--question", paramLabel = "TEXT", description = "answered after the passages")
    String question;

    @Option(names = "--prompt", paramLabel = "TEXT", description = "continued after the passages")
    String prompt;

    @Option(names = "--passages", paramLabel = "N",
            description = "use the first N passages (default: as many as fit the decoder in full context)")
    Integer passages;

    @Option(names = "--k", split = ",", defaultValue = "8,16,32", paramLabel = "K,...",
            description = "chunk sizes to compare (default: ${DEFAULT-VALUE})")
    List<Integer> ks;

    @Option(names = "--p", paramLabel = "F", description = "fraction of chunks to expand (default: the pipeline's)")
    Double p;

    @Option(names = "--policy", paramLabel = "NAME", description = "expansion policy (default: the pipeline's)")
    String policy;

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

    @Option(names = "--json", description = "print the result as JSON")
    boolean json;

    /** One measured configuration; {@code quality} is its eval row, or null without {@code --eval-corpus}. */
    private record Row(String mode, int k, boolean cached, int decoderInput, double ttft, double ttit,
            double throughput, double encode, double prefill, String text, EvalRow quality) {
    }

    @Override
    void execute() {
        if ((question == null) == (prompt == null)) {
            throw new UsageException("compare: give --question TEXT (answered after the passages) or --prompt TEXT "
                    + "(continued after the passages), not both");
        }
        String text = question != null ? question : prompt;
        List<String> corpus = RefragRequest.readPassages(CliOptions.requireFile("--context-file", contextFile));
        List<String> heldOut = evalCorpus == null ? null
                : TrainingCorpus.read(CliOptions.requireFile("--eval-corpus", evalCorpus)).documents();
        checkCounts();
        GenerationOptions generation = sampling.generation();
        Path chartFile = CliOptions.outputFile("--chart", chart);
        RefragManifest manifest = models.manifest(true, policy, err());
        try (Refrag refrag = Refrag.open(manifest, device.modelOptions(manifest.decoder()))) {
            RefragOptions base = refrag.defaults().toBuilder().optK(ks.get(0))
                    .optExpansionFraction(p != null ? p : refrag.defaults().expansionFraction())
                    .optGeneration(generation).build();
            int limit = refrag.decoder().info().maxPositions();
            List<String> used = passages != null ? corpus.subList(0, Math.min(corpus.size(), passages))
                    : fitting(refrag, text, corpus, limit - generation.maxNewTokens());
            err().printf("compare: %d passages, %d repeats after 1 warm-up, k in %s%n", used.size(), repeats, ks);
            EvalReport quality = heldOut == null ? null : quality(refrag, heldOut, base);
            report(text, used.size(), measureAll(refrag, request(text, used), base, quality), quality);
            if (chartFile != null) {
                chart(refrag, text, corpus, base, chartFile);
            }
        }
    }

    /** Checks the counts, k and p before any model is loaded. */
    private void checkCounts() {
        if (passages != null && passages < 1) {
            throw new UsageException("compare: --passages must be >= 1, got " + passages);
        }
        if (repeats < 1) {
            throw new UsageException("compare: --repeats must be >= 1, got " + repeats);
        }
        if (evalDocuments < 1) {
            throw new UsageException("compare: --eval-documents must be >= 1, got " + evalDocuments);
        }
        for (int k : ks) {
            RefragOptions.builder().optK(k);
        }
        if (p != null) {
            RefragOptions.builder().optExpansionFraction(p);
        }
    }

    /** Full context, then REFRAG at each k uncached and cached, each with its quality row. */
    private List<Row> measureAll(Refrag refrag, RefragRequest request, RefragOptions base, EvalReport quality) {
        Progress progress = new Progress("compare", err(), json);
        int configurations = 1 + 2 * ks.size();
        List<Row> rows = new ArrayList<>();
        rows.add(measure(refrag, request, base.toBuilder().optFullContext(true).build(), "full-context", 0, false,
                repeats, quality == null ? null : quality.row(EvalMode.FULL)));
        for (int k : ks) {
            RefragOptions o = base.toBuilder().optK(k).build();
            EvalRow q = quality == null ? null : quality.refragRow(k);
            progress.update(rows.size(), configurations);
            rows.add(measure(refrag, request, o.toBuilder().optUseCache(false).build(), "refrag", k, false, repeats,
                    q));
            progress.update(rows.size(), configurations);
            rows.add(measure(refrag, request, o, "refrag", k, true, repeats, q));
        }
        progress.update(rows.size(), configurations);
        return rows;
    }

    /** Passages, then the question in the QA template, or the prompt as written (a continuation). */
    private RefragRequest request(String text, List<String> passages) {
        return question != null ? RefragRequest.of(text, passages)
                : RefragRequest.builder().context(passages).text(text).build();
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

    /** Leading passages whose full context fits the decoder (leaving room for the generated tokens). */
    private List<String> fitting(Refrag refrag, String text, List<String> corpus, int budget) {
        int n = 0;
        while (n < corpus.size()) {
            int tokens = refrag.fullContextTokens(request(text, corpus.subList(0, n + 1)));
            if (tokens > budget) {
                break;
            }
            n++;
        }
        if (n == 0) {
            throw new UsageException("compare: not even one passage fits the decoder's context in full-context mode; "
                    + "pass --passages N to compare REFRAG alone");
        }
        return corpus.subList(0, n);
    }

    private Row measure(Refrag refrag, RefragRequest request, RefragOptions options, String mode, int k,
            boolean cached, int repeats, EvalRow quality) {
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
        return new Row(mode, k, cached, first.decoderInputLength(), Statistics.median(ttft), Statistics.median(ttit),
                Statistics.median(tput), Statistics.median(encode), Statistics.median(prefill), first.text(), quality);
    }

    private void report(String text, int passageCount, List<Row> rows, EvalReport quality) {
        Row full = rows.get(0);
        String kind = question != null ? "question" : "prompt";
        if (json) {
            out().println(Main.JSON.toJson(jsonReport(kind, text, passageCount, rows, quality)));
            return;
        }
        PrintWriter out = out();
        out.println(Character.toUpperCase(kind.charAt(0)) + kind.substring(1) + ": " + text.strip() + "   ("
                + passageCount + " passages, " + full.decoderInput() + " full-context tokens)");
        for (Row r : rows) {
            out.printf("  %-26s %s: %s%n", label(r), question != null ? "answer" : "continues",
                    r.text().replace('\n', ' ').strip());
        }
        out.println();
        out.printf("%-26s %9s %10s %9s %10s %11s %9s %10s%s%n", "mode", "dec. input", "TTFT ms", "TTIT ms", "tokens/s",
                "encode ms", "TTFT x", "tput x", quality == null ? "" : String.format("%9s %10s", "NLL", "gain kept"));
        for (Row r : rows) {
            out.printf(Locale.ROOT, "%-26s %9d %10.2f %9.2f %10.1f %11.2f %9.2f %10.2f%s%n", label(r), r.decoderInput(),
                    r.ttft(), r.ttit(), r.throughput(), r.encode(), full.ttft() / r.ttft(),
                    r.throughput() / full.throughput(), r.quality() == null ? "" : String.format(Locale.ROOT,
                            "%9.4f %9.1f%%", r.quality().meanNll(), 100 * r.quality().gainKept()));
        }
        if (quality != null) {
            EvalRow none = quality.row(EvalMode.NONE);
            EvalRow first = quality.refragRow(ks.get(0));
            out.printf(Locale.ROOT, "%nQuality: held-out NLL (nats/token) of o=%d tokens after s=%d context tokens, mean "
                    + "over %d documents the model never trained on; no context %.4f. REFRAG rows: p=%s, policy %s. "
                    + "Gain kept = (NLL_none - NLL) / (NLL_none - NLL_full).%n", EvalOptions.DEFAULT_TARGET_TOKENS,
                    EvalOptions.DEFAULT_CONTEXT_TOKENS, quality.documents(), none.meanNll(),
                    first.p(), first.policy());
        }
    }

    private static Map<String, Object> jsonReport(String kind, String text, int passageCount, List<Row> rows,
            EvalReport quality) {
        Row full = rows.get(0);
        List<Map<String, Object>> runs = new ArrayList<>();
        for (Row r : rows) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("mode", r.mode());
            m.put("k", r.k());
            m.put("cached", r.cached());
            m.put("decoderInputLength", r.decoderInput());
            m.put("ttftMillis", r.ttft());
            m.put("ttitMillis", r.ttit());
            m.put("throughputTokensPerSecond", r.throughput());
            m.put("encodeMillis", r.encode());
            m.put("prefillMillis", r.prefill());
            m.put("ttftSpeedup", full.ttft() / r.ttft());
            m.put("throughputSpeedup", r.throughput() / full.throughput());
            if (r.quality() != null) {
                m.put("heldOutNll", r.quality().meanNll());
                m.put("gainKept", r.quality().gainKept());
            }
            m.put("text", r.text());
            runs.add(m);
        }
        Map<String, Object> result = new LinkedHashMap<>();
        result.put(kind, text);
        result.put("passages", passageCount);
        result.put("fullContextTokens", full.decoderInput());
        if (quality != null) {
            result.put("heldOutDocuments", quality.documents());
            result.put("noContextNll", quality.row(EvalMode.NONE).meanNll());
        }
        result.put("runs", runs);
        return result;
    }

    private static String label(Row r) {
        return r.k() == 0 ? r.mode() : r.mode() + " k=" + r.k() + (r.cached() ? " cached" : " uncached");
    }

    /** TTFT against context length: full context while it fits, REFRAG (cached) per k; written as SVG. */
    private void chart(Refrag refrag, String text, List<String> corpus, RefragOptions base, Path file) {
        int limit = refrag.decoder().info().maxPositions();
        Map<String, List<double[]>> series = new LinkedHashMap<>();
        series.put("full context", new ArrayList<>());
        for (int k : ks) {
            series.put("REFRAG k=" + k + " (cached)", new ArrayList<>());
        }
        for (int n = 1; n <= corpus.size(); n *= 2) {
            RefragRequest request = request(text, corpus.subList(0, n));
            int full = refrag.fullContextTokens(request);
            err().printf("compare: chart point %d passages (%d tokens)%n", n, full);
            boolean any = false;
            if (full <= limit - base.generation().maxNewTokens()) {
                series.get("full context").add(new double[] {full, measure(refrag, request,
                        base.toBuilder().optFullContext(true).build(), "full-context", 0, false, 3, null).ttft()});
                any = true;
            }
            for (int k : ks) {
                RefragOptions o = base.toBuilder().optK(k).build();
                try {
                    series.get("REFRAG k=" + k + " (cached)")
                            .add(new double[] {full, measure(refrag, request, o, "refrag", k, true, 3, null).ttft()});
                    any = true;
                } catch (io.refrag.core.exception.ContextTooLongException e) {
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
