package io.refrag.core.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import io.refrag.core.InvalidRequestException;
import io.refrag.core.chunk.Chunk;
import io.refrag.core.spi.PolicyInput;
import io.refrag.core.spi.Tensors;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;

/**
 * REFRAG's three training tasks. Each loads its parts from a {@link TrainingConfig}, evaluates held-out NLL before
 * and after, trains with AdamW and writes a folder that {@code Refrag.load} serves directly.
 *
 * <p>Training uses DJL autograd, of which PyTorch allows one collector per JVM at a time: run one training task at a
 * time (serving in parallel is fine).
 */
public final class Trainers {
    /** Seed of the held-out samples, fixed so runs with different training seeds are evaluated alike. */
    private static final long EVAL_SEED = 0x5EEDL;
    /** Random selections averaged per held-out sample for the random-policy baseline. */
    private static final int RANDOM_BASELINE_DRAWS = 4;

    private Trainers() {
    }

    /** A context of chunks followed by the tokens to predict. */
    private record Sample(List<Chunk> context, int[] targets) {
    }

    // ---- reconstruction ----

    /**
     * Reconstruction: the decoder stays frozen; the projector (and the encoder unless
     * {@link TrainingConfig#trainEncoder()} is false) learn so that from L chunk embeddings the decoder reproduces the
     * L*k tokens (teacher forcing, loss on those tokens only). With a curriculum, samples go from 1 chunk to
     * {@code maxChunks}; held-out NLL is measured on {@code maxChunks}-chunk samples.
     *
     * @param config what to train on
     * @param listener progress
     * @return held-out NLL {@code before} and {@code after}, the decoder's {@code no-context} NLL of the same tokens
     *     (what reconstruction must beat to carry information), and the output folder
     */
    public static TrainingResult reconstruct(TrainingConfig config, TrainingListener listener) {
        long t0 = System.nanoTime();
        TrainingOptions o = config.options();
        try (TrainingSession s = TrainingSession.open("reconstruct", config, false, config.trainEncoder(), true,
                false)) {
            List<List<Chunk>> eval = new ArrayList<>();
            for (int i = 0; i < config.evalSamples(); i++) {
                eval.add(s.data.window(true, config.maxChunks(), ChunkedCorpus.random(EVAL_SEED, 0, i)));
            }
            Map<String, Double> nll = new LinkedHashMap<>();
            nll.put("no-context", meanNll(s, eval.stream().map(c -> new Sample(List.of(), tokens(c))).toList(),
                    (m, x, i) -> s.bos(m)));
            nll.put("before", reconstructionNll(s, eval));
            listener.onEvaluation("before", nll.get("before"));
            int[] plan = new int[o.steps() * o.batchSize()];
            if (config.curriculum() != null) {
                plan = config.curriculum().plan(plan.length, o.seed());
            } else {
                Arrays.fill(plan, config.maxChunks());
            }
            int[] chunkCounts = plan;
            double last = s.run((step, update, gc) -> {
                List<List<Chunk>> batch = new ArrayList<>();
                for (int i = 0; i < o.batchSize(); i++) {
                    int chunks = chunkCounts[step * o.batchSize() + i];
                    batch.add(s.data.window(false, chunks, ChunkedCorpus.random(o.seed(), step, i)));
                }
                s.prefetch(batch);
                s.detail(String.format(Locale.ROOT, "chunks/sample %.1f",
                        batch.stream().mapToInt(List::size).average().orElse(0)));
                double sum = 0;
                for (List<Chunk> sample : batch) {
                    try (NDManager m = s.manager.newSubManager()) {
                        NDArray loss = reconstructionLoss(s, m, sample);
                        gc.backward(Tensors.scale(loss, 1f / o.batchSize()));
                        sum += loss.getFloat();
                    }
                }
                return sum / o.batchSize();
            }, 1, listener);
            nll.put("after", reconstructionNll(s, eval));
            listener.onEvaluation("after", nll.get("after"));
            return new TrainingResult("reconstruct", o.steps(), last, nll, config.output(), millisSince(t0));
        }
    }

    private static NDArray reconstructionLoss(TrainingSession s, NDManager m, List<Chunk> chunks) {
        NDList prefix = s.bos(m);
        prefix.add(s.chunkEmbeddings(m, chunks)); // [L, hidden]
        return s.targetNll(m, prefix, tokens(chunks)); // over the L*k original tokens
    }

    private static double reconstructionNll(TrainingSession s, List<List<Chunk>> eval) {
        s.prefetch(eval);
        double sum = 0;
        long n = 0;
        for (List<Chunk> sample : eval) {
            try (NDManager m = s.manager.newSubManager()) {
                int len = tokens(sample).length;
                sum += reconstructionLoss(s, m, sample).getFloat() * len;
                n += len;
            }
        }
        return sum / n;
    }

    // ---- next-paragraph continual pre-training ----

    /**
     * Next-paragraph prediction: {@code contextTokens} tokens of context are compressed into chunk embeddings (a
     * random {@code expandFraction} of the chunks expanded back into tokens) and the model learns to predict the next
     * {@code targetTokens} tokens. The projector trains, the encoder when {@code trainEncoder}, the decoder when
     * {@code trainDecoder}; {@code initFrom} starts from a reconstruction output.
     *
     * @param config what to train on
     * @param listener progress
     * @return held-out NLL {@code before}/{@code after} training with compressed context, and the
     *     {@code no-context} and {@code full-context} baselines of the decoder as it was before training
     */
    public static TrainingResult continualPretrain(TrainingConfig config, TrainingListener listener) {
        long t0 = System.nanoTime();
        TrainingOptions o = config.options();
        try (TrainingSession s = TrainingSession.open("cpt", config, config.trainDecoder(), config.trainEncoder(),
                true, false)) {
            List<Sample> eval = evalSamples(s, config);
            List<boolean[]> evalExpand = new ArrayList<>();
            for (int i = 0; i < eval.size(); i++) {
                evalExpand.add(randomExpansion(eval.get(i).context().size(), config.expandFraction(),
                        ChunkedCorpus.random(EVAL_SEED, 1, i)));
            }
            Map<String, Double> nll = new LinkedHashMap<>();
            nll.put("no-context", meanNll(s, eval, (m, x, i) -> s.bos(m)));
            nll.put("full-context", meanNll(s, eval, (m, x, i) -> {
                NDList p = s.bos(m);
                p.add(s.tokenEmbeddings(m, tokens(x.context())));
                return p;
            }));
            nll.put("before", compressedNll(s, eval, evalExpand));
            listener.onEvaluation("before", nll.get("before"));
            double last = s.run((step, update, gc) -> {
                List<Sample> batch = new ArrayList<>();
                List<boolean[]> expand = new ArrayList<>();
                for (int i = 0; i < o.batchSize(); i++) {
                    Random r = ChunkedCorpus.random(o.seed(), step, i);
                    batch.add(sample(s, config, false, r));
                    expand.add(randomExpansion(batch.get(i).context().size(), config.expandFraction(), r));
                }
                s.prefetch(batch.stream().map(Sample::context).toList());
                double sum = 0;
                for (int i = 0; i < batch.size(); i++) {
                    try (NDManager m = s.manager.newSubManager()) {
                        NDArray loss = s.targetNll(m, mixedPrefix(s, m, batch.get(i).context(), expand.get(i)),
                                batch.get(i).targets());
                        gc.backward(Tensors.scale(loss, 1f / o.batchSize()));
                        sum += loss.getFloat();
                    }
                }
                return sum / o.batchSize();
            }, 1, listener);
            nll.put("after", compressedNll(s, eval, evalExpand));
            listener.onEvaluation("after", nll.get("after"));
            return new TrainingResult("cpt", o.steps(), last, nll, config.output(), millisSince(t0));
        }
    }

    private static double compressedNll(TrainingSession s, List<Sample> eval, List<boolean[]> expand) {
        return meanNll(s, eval, (m, x, i) -> mixedPrefix(s, m, x.context(), expand.get(i)));
    }

    // ---- RL policy training ----

    /**
     * GRPO-style training of the expansion policy: for each input the policy samples {@code groupSize} selections
     * of {@code round(expandFraction * chunks)} chunks (without replacement, from the softmax of its logits), each is
     * rewarded with the negative log-perplexity of the target given the mixed input, advantages are normalised within
     * the group and the PPO clipped objective is maximised for {@code ppoEpochs} updates. Decoder, encoder and
     * projector stay frozen ({@code initFrom} should point at a reconstruction or CPT output).
     *
     * @param config what to train on
     * @param listener progress
     * @return held-out NLL of the policy's greedy choice {@code before} and {@code after} training, and of
     *     {@code random} choices, all at the same fraction
     */
    public static TrainingResult trainPolicy(TrainingConfig config, TrainingListener listener) {
        long t0 = System.nanoTime();
        TrainingOptions o = config.options();
        try (TrainingSession s = TrainingSession.open("policy", config, false, false, false, true)) {
            List<Sample> eval = evalSamples(s, config);
            int budget = (int) Math.round(config.expandFraction() * eval.get(0).context().size());
            if (budget < 1 || budget >= eval.get(0).context().size()) {
                throw new InvalidRequestException("policy training needs 0 < round(p * chunks) < chunks; p = "
                        + config.expandFraction() + " of " + eval.get(0).context().size() + " context chunks gives "
                        + budget);
            }
            Map<String, Double> nll = new LinkedHashMap<>();
            nll.put("random", randomPolicyNll(s, eval, budget));
            nll.put("before", policyNll(s, eval, budget));
            listener.onEvaluation("before", nll.get("before"));
            List<Rollout> rollouts = new ArrayList<>();
            double last = s.run((step, update, gc) -> {
                if (update == 0) {
                    rollouts.clear();
                    for (int i = 0; i < o.batchSize(); i++) {
                        Random r = ChunkedCorpus.random(o.seed(), step, i);
                        rollouts.add(rollout(s, sample(s, config, false, r), budget, config.groupSize(), r));
                    }
                    s.detail(String.format(Locale.ROOT, "reward %.4f",
                            rollouts.stream().mapToDouble(Rollout::meanReward).average().orElse(0)));
                }
                double sum = 0;
                for (Rollout ro : rollouts) {
                    try (NDManager m = s.manager.newSubManager()) {
                        NDArray loss = ppoLoss(s, m, ro, config.clipEpsilon());
                        gc.backward(Tensors.scale(loss, 1f / o.batchSize()));
                        sum += loss.getFloat();
                    }
                }
                return sum / o.batchSize();
            }, config.ppoEpochs(), listener);
            nll.put("after", policyNll(s, eval, budget));
            listener.onEvaluation("after", nll.get("after"));
            return new TrainingResult("policy", o.steps(), last, nll, config.output(), millisSince(t0));
        }
    }

    /** G sampled selections of one input with their old log-probabilities and group-normalised advantages. */
    private record Rollout(Sample sample, int[][] picks, double[] oldLogProb, double[] advantage, double meanReward) {
    }

    private static Rollout rollout(TrainingSession s, Sample x, int budget, int groups, Random r) {
        s.prefetch(List.of(x.context()));
        int n = x.context().size();
        float[] logits;
        try (NDManager m = s.manager.newSubManager()) {
            logits = s.policy.logits(s.chunkEmbeddings(m, x.context())).toFloatArray();
        }
        int[][] picks = new int[groups][];
        double[] oldLogProb = new double[groups];
        double[] reward = new double[groups];
        for (int g = 0; g < groups; g++) {
            picks[g] = samplePlackettLuce(logits, budget, r);
            oldLogProb[g] = logProb(logits, picks[g]);
            try (NDManager m = s.manager.newSubManager()) {
                reward[g] = -s.targetNll(m, mixedPrefix(s, m, x.context(), expansion(n, picks[g])), x.targets())
                        .getFloat();
            }
        }
        double mean = Arrays.stream(reward).average().orElse(0);
        double var = Arrays.stream(reward).map(v -> (v - mean) * (v - mean)).average().orElse(0);
        double std = Math.sqrt(var);
        double[] advantage = new double[groups];
        for (int g = 0; g < groups; g++) {
            advantage[g] = (reward[g] - mean) / (std + 1e-6);
        }
        return new Rollout(x, picks, oldLogProb, advantage, mean);
    }

    /** Sequential sampling without replacement from softmax(logits) (Gumbel top-k gives the same distribution). */
    private static int[] samplePlackettLuce(float[] logits, int budget, Random r) {
        Integer[] order = new Integer[logits.length];
        double[] keys = new double[logits.length];
        for (int i = 0; i < logits.length; i++) {
            order[i] = i;
            keys[i] = logits[i] - Math.log(-Math.log(Math.max(r.nextDouble(), 1e-300)));
        }
        Arrays.sort(order, (a, b) -> Double.compare(keys[b], keys[a]));
        int[] picks = new int[budget];
        for (int j = 0; j < budget; j++) {
            picks[j] = order[j];
        }
        return picks;
    }

    /** log P(picks in this order) under sequential softmax sampling without replacement. */
    private static double logProb(float[] logits, int[] picks) {
        boolean[] taken = new boolean[logits.length];
        double lp = 0;
        for (int p : picks) {
            double max = Double.NEGATIVE_INFINITY;
            for (int i = 0; i < logits.length; i++) {
                if (!taken[i]) {
                    max = Math.max(max, logits[i]);
                }
            }
            double z = 0;
            for (int i = 0; i < logits.length; i++) {
                if (!taken[i]) {
                    z += Math.exp(logits[i] - max);
                }
            }
            lp += logits[p] - max - Math.log(z);
            taken[p] = true;
        }
        return lp;
    }

    /** -mean over the group of min(ratio * A, clip(ratio) * A), with the policy's current log-probabilities. */
    private static NDArray ppoLoss(TrainingSession s, NDManager m, Rollout ro, double epsilon) {
        int groups = ro.picks().length;
        int budget = ro.picks()[0].length;
        int n = ro.sample().context().size();
        float[] mask = new float[groups * budget * n]; // additive: -1e30 on chunks taken before this pick
        float[] onehot = new float[groups * budget * n];
        for (int g = 0; g < groups; g++) {
            boolean[] taken = new boolean[n];
            for (int j = 0; j < budget; j++) {
                int row = (g * budget + j) * n;
                for (int i = 0; i < n; i++) {
                    mask[row + i] = taken[i] ? -1e30f : 0f;
                }
                onehot[row + ro.picks()[g][j]] = 1f;
                taken[ro.picks()[g][j]] = true;
            }
        }
        NDArray logits = s.policy.logits(s.chunkEmbeddings(m, ro.sample().context())); // [n]
        NDArray stepLogProb = logits.reshape(1, n)
                .add(m.create(mask, new Shape((long) groups * budget, n))) // [G * budget, n]
                .logSoftmax(1)
                .mul(m.create(onehot, new Shape((long) groups * budget, n)))
                .sum(new int[] {1}); // [G * budget]
        NDArray logProb = stepLogProb.reshape(groups, budget).sum(new int[] {1}); // [G]
        NDArray ratio = logProb.sub(m.create(toFloats(ro.oldLogProb()))).exp(); // [G]
        NDArray advantage = m.create(toFloats(ro.advantage())); // [G]
        NDArray unclipped = ratio.mul(advantage);
        NDArray clipped = ratio.clip(1 - epsilon, 1 + epsilon).mul(advantage);
        return unclipped.minimum(clipped).mean().neg();
    }

    private static float[] toFloats(double[] v) {
        float[] f = new float[v.length];
        for (int i = 0; i < v.length; i++) {
            f[i] = (float) v[i];
        }
        return f;
    }

    private static double policyNll(TrainingSession s, List<Sample> eval, int budget) {
        s.prefetch(eval.stream().map(Sample::context).toList());
        return meanNll(s, eval, (m, x, i) -> {
            float[][] rows = toRows(s.chunkEmbeddings(m, x.context()));
            int[] picked = s.policy.select(new PolicyInput(x.context(), rows, "", null, s.decoder, 0), budget);
            return mixedPrefix(s, m, x.context(), expansion(x.context().size(), picked));
        });
    }

    private static double randomPolicyNll(TrainingSession s, List<Sample> eval, int budget) {
        double sum = 0;
        for (int d = 0; d < RANDOM_BASELINE_DRAWS; d++) {
            int draw = d;
            sum += meanNll(s, eval, (m, x, i) -> {
                Random r = ChunkedCorpus.random(EVAL_SEED, 2 + draw, i);
                boolean[] expand = new boolean[x.context().size()];
                List<Integer> idx = new ArrayList<>();
                for (int c = 0; c < expand.length; c++) {
                    idx.add(c);
                }
                java.util.Collections.shuffle(idx, r);
                for (int j = 0; j < budget; j++) {
                    expand[idx.get(j)] = true;
                }
                return mixedPrefix(s, m, x.context(), expand);
            });
        }
        return sum / RANDOM_BASELINE_DRAWS;
    }

    private static float[][] toRows(NDArray a) {
        int n = Math.toIntExact(a.getShape().get(0));
        int w = Math.toIntExact(a.getShape().get(1));
        float[] flat = a.toFloatArray();
        float[][] rows = new float[n][];
        for (int i = 0; i < n; i++) {
            rows[i] = Arrays.copyOfRange(flat, i * w, (i + 1) * w);
        }
        return rows;
    }

    // ---- shared ----

    /** Builds the decoder input before the targets of held-out sample {@code i}. */
    @FunctionalInterface
    private interface PrefixBuilder {
        NDList prefix(NDManager m, Sample x, int i);
    }

    private static double meanNll(TrainingSession s, List<Sample> eval, PrefixBuilder prefix) {
        double sum = 0;
        long n = 0;
        for (int i = 0; i < eval.size(); i++) {
            Sample x = eval.get(i);
            try (NDManager m = s.manager.newSubManager()) {
                sum += s.targetNll(m, prefix.prefix(m, x, i), x.targets()).getFloat() * x.targets().length;
                n += x.targets().length;
            }
        }
        return sum / n;
    }

    private static List<Sample> evalSamples(TrainingSession s, TrainingConfig config) {
        List<Sample> eval = new ArrayList<>();
        for (int i = 0; i < config.evalSamples(); i++) {
            eval.add(sample(s, config, true, ChunkedCorpus.random(EVAL_SEED, 0, i)));
        }
        s.prefetch(eval.stream().map(Sample::context).toList());
        return eval;
    }

    /** {@code contextTokens / k} context chunks, then the next {@code targetTokens} tokens of the same document. */
    private static Sample sample(TrainingSession s, TrainingConfig config, boolean heldOut, Random r) {
        int contextChunks = config.contextTokens() / config.k();
        int targetChunks = (config.targetTokens() + config.k() - 1) / config.k();
        List<Chunk> w = s.data.window(heldOut, contextChunks + targetChunks, r);
        int[] next = tokens(w.subList(contextChunks, w.size()));
        return new Sample(w.subList(0, contextChunks), Arrays.copyOf(next, config.targetTokens()));
    }

    /** @return a mask over {@code chunks} chunks, true at the picked indices */
    private static boolean[] expansion(int chunks, int[] picks) {
        boolean[] expand = new boolean[chunks];
        for (int i : picks) {
            expand[i] = true;
        }
        return expand;
    }

    private static boolean[] randomExpansion(int chunks, double fraction, Random r) {
        boolean[] expand = new boolean[chunks];
        for (int i = 0; i < chunks; i++) {
            expand[i] = r.nextDouble() < fraction;
        }
        return expand;
    }

    /** BOS, then each context chunk as its tokens (expanded) or its projected embedding, in document order. */
    private static NDList mixedPrefix(TrainingSession s, NDManager m, List<Chunk> context, boolean[] expand) {
        List<Chunk> compressed = new ArrayList<>();
        for (int i = 0; i < context.size(); i++) {
            if (!expand[i]) {
                compressed.add(context.get(i));
            }
        }
        NDArray embeddings = compressed.isEmpty() ? null : s.chunkEmbeddings(m, compressed); // [compressed, hidden]
        NDList prefix = s.bos(m);
        int row = 0;
        for (int i = 0; i < context.size(); i++) {
            if (expand[i]) {
                prefix.add(s.tokenEmbeddings(m, context.get(i).tokenIds()));
            } else {
                prefix.add(embeddings.get(new NDIndex("{}:{}", row, row + 1))); // [1, hidden]
                row++;
            }
        }
        return prefix;
    }

    private static int[] tokens(List<Chunk> chunks) {
        return chunks.stream().flatMapToInt(c -> Arrays.stream(c.tokenIds())).toArray();
    }

    private static long millisSince(long t0) {
        return (System.nanoTime() - t0) / 1_000_000;
    }
}
