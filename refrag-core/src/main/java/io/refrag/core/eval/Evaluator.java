package io.refrag.core.eval;

import io.refrag.core.Refrag;
import io.refrag.core.RefragOptions;
import io.refrag.core.RefragRequest;
import io.refrag.core.RequestPipeline;
import io.refrag.core.chunk.Chunker;
import io.refrag.core.exception.InvalidRequestException;
import io.refrag.core.generate.GenerationOptions;
import io.refrag.core.generate.GenerationResult;
import io.refrag.core.generate.Generator;
import io.refrag.core.model.CausalDecoder;
import io.refrag.core.model.Compression;
import io.refrag.core.model.PolicyNames;
import io.refrag.core.plan.PromptPlan;
import io.refrag.core.tokenizer.Tokenized;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Measures a pipeline's quality mode by mode: no context, full context, and REFRAG for every (k, p, policy) of the
 * options. Every mode sees the same documents, and its inputs come from the pipeline's own plan, policy, cache and
 * assembly, so what is scored is what is served.
 *
 * <p>TTFT is measured with the chunk embeddings already cached (REFRAG precomputes them), as the median over
 * documents of the time from the request to the first token.
 */
public final class Evaluator {

    /** Receives progress: items done so far of the total. */
    @FunctionalInterface
    public interface Progress {
        /**
         * @param done items done
         * @param total items in all
         */
        void onProgress(int done, int total);
    }

    /** One evaluated configuration. */
    private record Mode(EvalMode mode, int k, double p, String policy) {
        /** @return k, or for the no- and full-context modes a chunk size that is never compressed */
        int chunkSize() {
            return k > 0 ? k : Compression.DEFAULT_K;
        }
    }

    /** What one mode scored on one item. */
    private record Scored(double nllSum, int tokens, int inputLength, double ttftMillis, String text) {
    }

    private final Refrag refrag;
    private final CausalDecoder decoder;
    private final EvalOptions options;
    private final List<Mode> modes = new ArrayList<>();

    /**
     * @param refrag the pipeline evaluated (its encoder is needed for the REFRAG rows)
     * @param options what to measure
     * @throws InvalidRequestException if the decoder has no BOS token (the no-context mode starts from it)
     */
    public Evaluator(Refrag refrag, EvalOptions options) {
        this.refrag = refrag;
        this.decoder = refrag.decoder();
        this.options = options;
        if (decoder.info().bosTokenId() < 0) {
            throw new InvalidRequestException("eval needs a decoder with a BOS token: the no-context mode scores the "
                    + "targets after BOS alone");
        }
        int window = decoder.info().maxPositions();
        if ((long) options.targetTokens() + 1 > window) {
            throw new InvalidRequestException("eval: o = " + options.targetTokens() + " target tokens do not fit the "
                    + "decoder's context of " + window + " positions (BOS + o at least); use a smaller --o");
        }
        modes.add(new Mode(EvalMode.NONE, 0, 0, ""));
        modes.add(new Mode(EvalMode.FULL, 0, 0, ""));
        for (int k : options.ks()) {
            for (double p : options.ps()) {
                if (p == 0) {
                    modes.add(new Mode(EvalMode.REFRAG, k, 0, PolicyNames.NONE));
                    continue;
                }
                for (String policy : options.policies()) {
                    if (!policy.equals(PolicyNames.NONE)) {
                        modes.add(new Mode(EvalMode.REFRAG, k, p, policy));
                    }
                }
            }
        }
    }

    /**
     * The paper's protocol: each document gives s context tokens and the o tokens after them; every mode scores the
     * mean NLL of those o tokens.
     *
     * @param documents texts; documents with fewer than s + o tokens are skipped and counted
     * @param progress receives documents done of {@code options.documents()}
     * @return the rows
     */
    public EvalReport perplexity(List<String> documents, Progress progress) {
        int s = options.contextTokens();
        int o = options.targetTokens();
        if (1L + s + o > decoder.info().maxPositions()) {
            throw new InvalidRequestException("eval: BOS + s + o = " + (1L + s + o) + " positions exceed the decoder's "
                    + "context of " + decoder.info().maxPositions() + "; use smaller --s/--o");
        }
        List<List<Scored>> perMode = perMode();
        int done = 0;
        int skipped = 0;
        for (int i = 0; i < documents.size() && done < options.documents(); i++) {
            String doc = documents.get(i);
            Tokenized t = decoder.tokenizer().encode(doc);
            if (t.length() < s + o) {
                skipped++;
                continue;
            }
            int[] targets = Arrays.copyOfRange(t.ids(), s, s + o);
            for (int m = 0; m < modes.size(); m++) {
                Mode mode = modes.get(m);
                PromptPlan.Builder plan = PromptPlan.builder(decoder.info());
                if (mode.mode() != EvalMode.NONE) {
                    plan.chunks(Chunker.chunk(0, doc, t, s, mode.chunkSize()));
                }
                perMode.get(m).add(score(mode, plan.build(), "", targets, 1, i));
            }
            progress.onProgress(++done, options.documents());
        }
        if (done == 0) {
            throw new InvalidRequestException("eval: no document has s + o = " + (s + o) + " tokens (" + skipped
                    + " skipped); use longer documents or smaller --s/--o");
        }
        return new EvalReport(rows(perMode), done, skipped);
    }

    /**
     * RAG question answering: every mode answers greedily (at most o tokens, up to the first line break) and is
     * scored by exact match and token F1 against the references, and by the NLL of the first reference.
     *
     * @param examples questions with passages and answers
     * @param progress receives examples done of the total
     * @return the rows, with {@code exactMatch} and {@code f1}
     */
    public EvalReport qa(List<QaExample> examples, Progress progress) {
        List<List<Scored>> perMode = perMode();
        int total = Math.min(examples.size(), options.documents());
        for (int i = 0; i < total; i++) {
            QaExample x = examples.get(i);
            int[] answer = decoder.tokenizer().encode(" " + x.answers().get(0)).ids();
            for (int m = 0; m < modes.size(); m++) {
                Mode mode = modes.get(m);
                RefragRequest request = RefragRequest.of(x.question(), mode.mode() == EvalMode.NONE ? List.of()
                        : x.passages());
                PromptPlan plan = refrag.pipeline().plan(request, mode.chunkSize());
                perMode.get(m).add(score(mode, plan, x.question(), answer, options.targetTokens(), i));
            }
            progress.onProgress(i + 1, total);
        }
        List<EvalRow> rows = rows(perMode);
        for (int m = 0; m < rows.size(); m++) {
            double em = 0;
            double f1 = 0;
            for (int j = 0; j < total; j++) {
                String prediction = perMode.get(m).get(j).text().split("\n", -1)[0];
                em += QaMetrics.exactMatch(prediction, examples.get(j).answers());
                f1 += QaMetrics.f1(prediction, examples.get(j).answers());
            }
            EvalRow r = rows.get(m);
            rows.set(m, new EvalRow(r.mode(), r.k(), r.p(), r.policy(), r.meanNll(), r.perplexity(), r.gainKept(),
                    r.decoderInputLength(), r.ttftMillis(), em / total, f1 / total));
        }
        return new EvalReport(rows, total, 0);
    }

    private List<List<Scored>> perMode() {
        List<List<Scored>> perMode = new ArrayList<>();
        modes.forEach(m -> perMode.add(new ArrayList<>()));
        return perMode;
    }

    /**
     * Prepares the mode's input once to score the targets (filling the cache), then again, timed, through the first
     * {@code newTokens} generated tokens.
     */
    private Scored score(Mode mode, PromptPlan plan, String query, int[] targets, int newTokens, int item) {
        RefragOptions o = RefragOptions.builder()
                .optK(mode.chunkSize())
                .optExpansionFraction(mode.p())
                .optPolicy(mode.policy().isEmpty() ? PolicyNames.NONE : mode.policy())
                .optFullContext(mode.mode() != EvalMode.REFRAG)
                .optGeneration(GenerationOptions.builder().optMaxNewTokens(newTokens).optSeed(options.seed() + item)
                        .build())
                .build();
        RequestPipeline.Prepared scored = refrag.pipeline().prepare(plan, query, o);
        double nll = 0;
        for (float v : decoder.tokenNll(scored.input(), targets)) {
            nll += v;
        }
        long start = System.nanoTime();
        RequestPipeline.Prepared timed = refrag.pipeline().prepare(plan, query, o);
        GenerationResult g = Generator.generate(decoder, timed.input(), o.generation(), start);
        return new Scored(nll, targets.length, scored.input().length(), g.metrics().ttftMillis(), g.text());
    }

    private List<EvalRow> rows(List<List<Scored>> perMode) {
        double[] mean = new double[modes.size()];
        for (int m = 0; m < modes.size(); m++) {
            mean[m] = perMode.get(m).stream().mapToDouble(Scored::nllSum).sum()
                    / perMode.get(m).stream().mapToInt(Scored::tokens).sum();
        }
        double none = mean[0];
        double full = mean[1];
        List<EvalRow> rows = new ArrayList<>();
        for (int m = 0; m < modes.size(); m++) {
            Mode mode = modes.get(m);
            List<Scored> s = perMode.get(m);
            rows.add(new EvalRow(mode.mode(), mode.k(), mode.p(), mode.mode() == EvalMode.REFRAG ? mode.policy() : "",
                    mean[m], Math.exp(mean[m]), (none - mean[m]) / (none - full),
                    s.stream().mapToInt(Scored::inputLength).average().orElse(0),
                    Statistics.median(s.stream().mapToDouble(Scored::ttftMillis).toArray()), Double.NaN, Double.NaN));
        }
        return rows;
    }

}
