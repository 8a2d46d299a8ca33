package io.refrag.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.refrag.core.plan.PromptPlan;
import io.refrag.core.tensor.Tensors;

import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.function.DoubleSupplier;

/**
 * Next-paragraph prediction (CPT): {@code contextTokens} tokens of context are compressed into chunk embeddings, of
 * which exactly {@code round(expandFraction * chunks)}, picked at random, are expanded back into tokens (as many as
 * inference expands), and the model learns to predict the next {@code targetTokens} tokens. The projector trains, the
 * encoder and decoder when asked; {@code initFrom} starts from a reconstruction output.
 *
 * <p>Its result's held-out NLLs are {@code before}/{@code after} training with compressed context, and the
 * {@code no-context} and {@code full-context} baselines of the decoder as it was before training.
 */
public final class ContinualPretrainingTask extends SessionTask {
    /** The task's name. */
    public static final String NAME = TaskType.CPT.label();
    private final ContinualPretrainingConfig config;
    private final int chunks;
    private final int budget;

    /** @param config what to train on */
    public ContinualPretrainingTask(ContinualPretrainingConfig config) {
        super(NAME, config.base(), parts(config), 0);
        this.config = config;
        this.chunks = config.samples().contextChunks(config.base().k());
        this.budget = config.samples().budget(config.base().k());
    }

    private static Set<Part> parts(ContinualPretrainingConfig config) {
        Set<Part> trains = EnumSet.of(Part.PROJECTOR);
        if (config.trainEncoder()) {
            trains.add(Part.ENCODER);
        }
        if (config.trainDecoder()) {
            trains.add(Part.DECODER);
        }
        return trains;
    }

    /** @return the settings */
    public ContinualPretrainingConfig config() {
        return config;
    }

    @Override
    DoubleSupplier evaluation(TrainingSession s, Map<String, Double> baselines) {
        List<TrainingSession.Sample> eval = s.evalSamples(config.samples());
        List<int[]> picks = new ArrayList<>();
        for (int i = 0; i < eval.size(); i++) {
            picks.add(randomPicks(chunks, budget, ChunkedCorpus.random(TrainingSession.EVAL_SEED, 1, i)));
        }
        baselines.put("no-context", s.meanNll(eval, (m, x, i) -> s.embed(m, s.plan(List.of()))));
        baselines.put("full-context", s.meanNll(eval,
                (m, x, i) -> s.embed(m, s.plan(x.context()).withAllExpanded())));
        return () -> compressedNll(s, eval, picks);
    }

    @Override
    double train(TrainingSession s, TrainingListener listener) {
        TrainingOptions o = config.base().options();
        return s.run((step, update, gc) -> {
            List<TrainingSession.Sample> batch = new ArrayList<>();
            List<int[]> picks = new ArrayList<>();
            for (int i = 0; i < o.batchSize(); i++) {
                Random r = ChunkedCorpus.random(o.seed(), step, i);
                batch.add(s.nextParagraph(config.samples(), false, r));
                picks.add(randomPicks(chunks, budget, r));
            }
            s.prefetch(batch.stream().map(TrainingSession.Sample::context).toList());
            double sum = 0;
            for (int i = 0; i < batch.size(); i++) {
                try (NDManager m = s.newScope()) {
                    PromptPlan plan = s.plan(batch.get(i).context()).withExpanded(picks.get(i));
                    NDArray loss = s.targetNll(m, s.embed(m, plan), batch.get(i).targets());
                    gc.backward(Tensors.scale(loss, 1f / o.batchSize()));
                    sum += loss.getFloat();
                }
            }
            return sum / o.batchSize();
        }, 1, listener);
    }

    private static double compressedNll(TrainingSession s, List<TrainingSession.Sample> eval, List<int[]> picks) {
        return s.meanNll(eval, (m, x, i) -> s.embed(m, s.plan(x.context()).withExpanded(picks.get(i))));
    }

    /** @return {@code budget} distinct chunk indices out of {@code chunks}, uniformly at random */
    static int[] randomPicks(int chunks, int budget, Random r) {
        List<Integer> order = new ArrayList<>();
        for (int i = 0; i < chunks; i++) {
            order.add(i);
        }
        Collections.shuffle(order, r);
        return order.subList(0, budget).stream().mapToInt(Integer::intValue).toArray();
    }
}
