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
import io.refrag.core.train.CorpusSource;
import io.refrag.core.train.TrainingCorpus;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * {@code eval}: held-out NLL (or QA exact match and F1) of no context, full context and REFRAG modes side by side,
 * with each mode's decoder input length and TTFT; a table, {@code --json}, and {@code --chart} (NLL against TTFT).
 *
 * @param out results
 * @param err progress
 */
record Eval(PrintStream out, PrintStream err) {
    /** Default seed of a sampled evaluation corpus: far from the training recipes' seeds, so never trained on. */
    static final long SAMPLE_SEED = 1_000_000;

    void run(List<String> argv) {
        Args a = Args.parse("eval", argv, Main.union(Set.of("model", "decoder", "encoder", "projector", "pooling",
                "policy-file", "corpus", "qa", "sample-documents", "sample-tokens", "sample-seed", "s", "o", "k", "p",
                "policy", "documents", "seed", "chart"), Main.MODEL_OPTIONS), Set.of("json"));
        RefragManifest manifest = Pipelines.manifest(a, true, false);
        List<String> policies = a.stringList("policy", defaultPolicies(manifest));
        Set<String> known = Providers.policyNames();
        for (String p : policies) {
            if (!known.contains(p)) {
                throw new UsageException("eval: unknown policy '" + p + "'; allowed: " + known);
            }
        }
        EvalOptions options = new EvalOptions(a.integer("s", EvalOptions.DEFAULT_CONTEXT_TOKENS),
                a.integer("o", EvalOptions.DEFAULT_TARGET_TOKENS), a.integerList("k", EvalOptions.DEFAULT_KS),
                a.numberList("p", EvalOptions.DEFAULT_PS), policies,
                a.integer("documents", EvalOptions.DEFAULT_DOCUMENTS), a.longValue("seed", 0));
        Path chart = a.optOutputFile("chart");
        int sources = (a.has("corpus") ? 1 : 0) + (a.has("qa") ? 1 : 0) + (a.has("sample-documents") ? 1 : 0);
        if (sources != 1) {
            throw new UsageException("eval: give exactly one of --corpus FILE (text or .jsonl), --qa FILE.jsonl or "
                    + "--sample-documents N");
        }
        List<String> corpus = a.has("corpus") ? TrainingCorpus.read(a.requireFile("corpus")).documents() : null;
        List<QaExample> qa = a.has("qa") ? QaExample.readJsonl(a.requireFile("qa")) : null;
        CorpusSource.Sampled sampled = !a.has("sample-documents") ? null : new CorpusSource.Sampled(
                a.integer("sample-documents", 0), a.integer("sample-tokens", 256), a.longValue("sample-seed",
                SAMPLE_SEED)); // checks the counts before any model loads
        try (Refrag refrag = Refrag.open(manifest, Main.modelOptions(a))) {
            if (sampled != null) {
                err.printf("eval: sampling %d documents from the decoder ...%n", sampled.documents());
                corpus = sampled.resolve(refrag.decoder()).documents();
            }
            Evaluator evaluator = new Evaluator(refrag, options);
            long start = System.nanoTime();
            Evaluator.Progress progress = (done, total) -> {
                if (done == total || done % Math.max(1, total / 10) == 0) {
                    double elapsed = (System.nanoTime() - start) / 1e9;
                    err.printf(Locale.ROOT, "eval: %d/%d, %.1f s, ETA %.1f s%n", done, total, elapsed,
                            elapsed / done * (total - done));
                }
            };
            EvalReport report = qa != null ? evaluator.qa(qa, progress) : evaluator.perplexity(corpus, progress);
            if (a.flag("json")) {
                out.println(Main.JSON.toJson(json(report, qa != null)));
            } else {
                out.print(table(report, options, qa != null));
            }
            if (chart != null) {
                write(chart, chart(report));
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

    static Map<String, Object> json(EvalReport report, boolean qa) {
        List<Map<String, Object>> rows = new ArrayList<>();
        for (EvalRow r : report.rows()) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("mode", r.mode());
            m.put("k", r.k());
            m.put("p", r.p());
            m.put("policy", r.policy());
            m.put("meanNll", r.meanNll());
            m.put("perplexity", r.perplexity());
            m.put("gainKept", r.gainKept());
            m.put("decoderInputLength", r.decoderInputLength());
            m.put("ttftMillis", r.ttftMillis());
            if (qa) {
                m.put("exactMatch", r.exactMatch());
                m.put("f1", r.f1());
            }
            rows.add(m);
        }
        Map<String, Object> json = new LinkedHashMap<>();
        json.put("documents", report.documents());
        json.put("skipped", report.skipped());
        json.put("rows", rows);
        return json;
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
