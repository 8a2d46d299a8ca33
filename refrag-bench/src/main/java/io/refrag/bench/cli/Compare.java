package io.refrag.bench.cli;

import io.refrag.core.Refrag;
import io.refrag.core.RefragOptions;
import io.refrag.core.RefragRequest;
import io.refrag.core.RefragResult;
import io.refrag.core.generate.GenerationOptions;

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
 * {@code compare}: the same request in full-context mode and in REFRAG mode for each k, with chunk embeddings computed
 * per request (uncached) and served from a warm cache (cached). Every configuration gets one warm-up run, then the
 * median of {@code --repeats} runs is reported with its ratio to full context, all measured in this one process.
 *
 * @param out results
 * @param err progress
 */
record Compare(PrintStream out, PrintStream err) {

    /** One measured configuration. */
    private record Row(String mode, int k, boolean cached, int decoderInput, double ttft, double ttit,
            double throughput, double encode, double prefill, String text) {
    }

    void run(List<String> argv) {
        Args a = Args.parse("compare", argv, Main.union(Set.of("decoder", "passages", "repeats", "chart"),
                Main.PIPELINE_OPTIONS, Main.MODEL_OPTIONS, Main.SAMPLING_OPTIONS), Set.of("json"));
        Path decoderDir = a.requireDir("decoder");
        String question = a.requireString("question");
        List<String> corpus = RefragRequest.readPassages(a.requireFile("context-file"));
        List<Integer> ks = a.integerList("k", List.of(8, 16, 32));
        int repeats = a.integer("repeats", 3);
        if (repeats < 1) {
            throw new UsageException("compare: --repeats must be >= 1, got " + repeats);
        }
        GenerationOptions generation = Main.generationOptions(a);
        for (int k : ks) {
            RefragOptions.builder().optK(k); // validates every k before any model is loaded
        }
        RefragOptions base = Main.refragOptions(a, generation, ks.get(0));
        try (Refrag refrag = Pipelines.open(a, decoderDir, true)) {
            int limit = refrag.decoder().info().maxPositions();
            List<String> passages = a.has("passages")
                    ? corpus.subList(0, Math.min(corpus.size(), a.integer("passages", 1)))
                    : fitting(refrag, question, corpus, limit - generation.maxNewTokens());
            err.printf("compare: %d passages, %d repeats after 1 warm-up, k in %s%n", passages.size(), repeats, ks);
            RefragRequest request = RefragRequest.of(question, passages);
            List<Row> rows = new ArrayList<>();
            rows.add(measure(refrag, request, base.toBuilder().optFullContext(true).build(), "full-context", 0, false,
                    repeats));
            for (int k : ks) {
                RefragOptions o = base.toBuilder().optK(k).build();
                rows.add(measure(refrag, request, o.toBuilder().optUseCache(false).build(), "refrag", k, false, repeats));
                rows.add(measure(refrag, request, o, "refrag", k, true, repeats));
            }
            report(a, question, passages.size(), rows);
            if (a.has("chart")) {
                chart(refrag, question, corpus, base, ks, Path.of(a.requireString("chart")));
            }
        }
    }

    /** Leading passages whose full context fits the decoder (leaving room for the generated tokens). */
    private List<String> fitting(Refrag refrag, String question, List<String> corpus, int budget) {
        int n = 0;
        while (n < corpus.size()) {
            int tokens = refrag.fullContextTokens(RefragRequest.of(question, corpus.subList(0, n + 1)));
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
            boolean cached, int repeats) {
        err.printf("compare: %s%s ...%n", mode, k > 0 ? " k=" + k + (cached ? " cached" : " uncached") : "");
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
        return new Row(mode, k, cached, first.decoderInputLength(), median(ttft), median(ttit), median(tput),
                median(encode), median(prefill), first.text());
    }

    private static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }

    private void report(Args a, String question, int passages, List<Row> rows) {
        Row full = rows.get(0);
        if (a.flag("json")) {
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
                m.put("text", r.text());
                runs.add(m);
            }
            Map<String, Object> json = new LinkedHashMap<>();
            json.put("question", question);
            json.put("passages", passages);
            json.put("fullContextTokens", full.decoderInput());
            json.put("runs", runs);
            out.println(Main.JSON.toJson(json));
            return;
        }
        out.println("Question: " + question + "   (" + passages + " passages, " + full.decoderInput()
                + " full-context tokens)");
        for (Row r : rows) {
            out.printf("  %-26s answer: %s%n", label(r), r.text().replace('\n', ' ').strip());
        }
        out.println();
        out.printf("%-26s %9s %10s %9s %10s %11s %9s %10s%n", "mode", "dec. input", "TTFT ms", "TTIT ms", "tokens/s",
                "encode ms", "TTFT x", "tput x");
        for (Row r : rows) {
            out.printf("%-26s %9d %10.2f %9.2f %10.1f %11.2f %9.2f %10.2f%n", label(r), r.decoderInput(), r.ttft(),
                    r.ttit(), r.throughput(), r.encode(), full.ttft() / r.ttft(), r.throughput() / full.throughput());
        }
    }

    private static String label(Row r) {
        return r.k() == 0 ? r.mode() : r.mode() + " k=" + r.k() + (r.cached() ? " cached" : " uncached");
    }

    /** TTFT against context length: full context while it fits, REFRAG (cached) per k; written as SVG. */
    private void chart(Refrag refrag, String question, List<String> corpus, RefragOptions base, List<Integer> ks,
            Path file) {
        int limit = refrag.decoder().info().maxPositions();
        Map<String, List<double[]>> series = new LinkedHashMap<>();
        series.put("full context", new ArrayList<>());
        for (int k : ks) {
            series.put("REFRAG k=" + k + " (cached)", new ArrayList<>());
        }
        for (int n = 1; n <= corpus.size(); n *= 2) {
            RefragRequest request = RefragRequest.of(question, corpus.subList(0, n));
            int full = refrag.fullContextTokens(request);
            err.printf("compare: chart point %d passages (%d tokens)%n", n, full);
            boolean any = false;
            if (full <= limit - base.generation().maxNewTokens()) {
                series.get("full context").add(new double[] {full, measure(refrag, request,
                        base.toBuilder().optFullContext(true).build(), "full-context", 0, false, 3).ttft()});
                any = true;
            }
            for (int k : ks) {
                RefragOptions o = base.toBuilder().optK(k).build();
                try {
                    series.get("REFRAG k=" + k + " (cached)")
                            .add(new double[] {full, measure(refrag, request, o, "refrag", k, true, 3).ttft()});
                    any = true;
                } catch (io.refrag.core.exception.ContextTooLongException e) {
                    // this k no longer fits; larger contexts will not either
                }
            }
            if (!any) {
                break;
            }
        }
        try {
            Files.writeString(file, Svg.lineChart("TTFT vs context length", "context tokens (full)", "TTFT ms", series),
                    StandardCharsets.UTF_8);
            err.println("compare: chart written to " + file);
        } catch (IOException e) {
            throw new UsageException("compare: cannot write chart " + file + ": " + e.getMessage());
        }
    }
}
