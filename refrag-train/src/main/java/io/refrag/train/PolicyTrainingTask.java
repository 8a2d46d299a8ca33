package io.refrag.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.refrag.core.model.PolicyInput;
import io.refrag.core.tensor.Tensors;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.function.DoubleSupplier;

/**
 * GRPO-style training of the expansion policy: for each input the policy samples {@code groupSize} selections of
 * {@code round(expandFraction * chunks)} chunks (without replacement, from the softmax of its logits), each is
 * rewarded with the negative log-perplexity of the target given the mixed input, advantages are normalised within the
 * group and the PPO clipped objective is maximised for {@code ppoEpochs} updates. Decoder, encoder and projector stay
 * frozen ({@code initFrom} should point at a reconstruction or CPT output).
 *
 * <p>Its result's held-out NLLs are those of the policy's greedy choice {@code before} and {@code after} training,
 * and of {@code random} choices, all at the same fraction.
 */
public final class PolicyTrainingTask extends SessionTask {
    /** The task's name. */
    public static final String NAME = TaskType.POLICY.label();
    /** Random selections averaged per held-out sample for the random-policy baseline. */
    private static final int RANDOM_BASELINE_DRAWS = 4;
    private final PolicyTrainingConfig config;
    private final int budget;

    /** @param config what to train on */
    public PolicyTrainingTask(PolicyTrainingConfig config) {
        super(NAME, config.base(), EnumSet.of(Part.POLICY), config.samples().expandFraction());
        this.config = config;
        this.budget = config.samples().budget(config.base().k());
    }

    /** @return the settings */
    public PolicyTrainingConfig config() {
        return config;
    }

    @Override
    DoubleSupplier evaluation(TrainingSession s, Map<String, Double> baselines) {
        List<TrainingSession.Sample> eval = s.evalSamples(config.samples());
        baselines.put("random", randomPolicyNll(s, eval, budget));
        return () -> policyNll(s, eval, budget);
    }

    @Override
    double train(TrainingSession s, TrainingListener listener) {
        TrainingOptions o = config.base().options();
        List<Rollout> rollouts = new ArrayList<>();
        return s.run((step, update, gc) -> {
            if (update == 0) {
                rollouts.clear();
                for (int i = 0; i < o.batchSize(); i++) {
                    Random r = ChunkedCorpus.random(o.seed(), step, i);
                    rollouts.add(rollout(s, s.nextParagraph(config.samples(), false, r), budget, config.groupSize(),
                            r));
                }
                s.detail(String.format(Locale.ROOT, "reward %.4f",
                        rollouts.stream().mapToDouble(Rollout::meanReward).average().orElse(0)));
            }
            double sum = 0;
            for (Rollout ro : rollouts) {
                try (NDManager m = s.newScope()) {
                    NDArray loss = ppoLoss(s, m, ro, config.clipEpsilon());
                    gc.backward(Tensors.scale(loss, 1f / o.batchSize()));
                    sum += loss.getFloat();
                }
            }
            return sum / o.batchSize();
        }, config.ppoEpochs(), listener);
    }

    /** G sampled selections of one input with their old log-probabilities and group-normalised advantages. */
    private record Rollout(TrainingSession.Sample sample, int[][] picks, double[] oldLogProb, double[] advantage,
            double meanReward) {
    }

    private static Rollout rollout(TrainingSession s, TrainingSession.Sample x, int budget, int groups, Random r) {
        s.prefetch(List.of(x.context()));
        float[] logits;
        try (NDManager m = s.newScope()) {
            logits = s.policy().logits(s.chunkEmbeddings(m, x.context())).toFloatArray();
        }
        int[][] picks = new int[groups][];
        double[] oldLogProb = new double[groups];
        double[] reward = new double[groups];
        for (int g = 0; g < groups; g++) {
            picks[g] = samplePlackettLuce(logits, budget, r);
            oldLogProb[g] = logProb(logits, picks[g]);
            try (NDManager m = s.newScope()) {
                reward[g] = -s.targetNll(m, s.embed(m, s.plan(x.context()).withExpanded(picks[g])), x.targets())
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
        NDArray logits = s.policy().logits(s.chunkEmbeddings(m, ro.sample().context())); // [n]
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

    private static double policyNll(TrainingSession s, List<TrainingSession.Sample> eval, int budget) {
        s.prefetch(eval.stream().map(TrainingSession.Sample::context).toList());
        return s.meanNll(eval, (m, x, i) -> {
            float[][] rows = Tensors.toRows(s.chunkEmbeddings(m, x.context()));
            int[] picked = s.policy().select(new PolicyInput(x.context(), rows, "", null, s.decoder(), 0), budget);
            return s.embed(m, s.plan(x.context()).withExpanded(picked));
        });
    }

    private static double randomPolicyNll(TrainingSession s, List<TrainingSession.Sample> eval, int budget) {
        double sum = 0;
        for (int d = 0; d < RANDOM_BASELINE_DRAWS; d++) {
            int draw = d;
            sum += s.meanNll(eval, (m, x, i) -> {
                int n = x.context().size();
                int[] picks = ContinualPretrainingTask.randomPicks(n, budget,
                        ChunkedCorpus.random(TrainingSession.EVAL_SEED, 2 + draw, i));
                return s.embed(m, s.plan(x.context()).withExpanded(picks));
            });
        }
        return sum / RANDOM_BASELINE_DRAWS;
    }
}
