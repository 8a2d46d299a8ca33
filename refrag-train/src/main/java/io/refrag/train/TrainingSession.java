package io.refrag.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.training.GradientCollector;
import io.refrag.core.RefragManifest;
import io.refrag.core.exception.Closeables;
import io.refrag.core.exception.InvalidRequestException;
import io.refrag.core.model.Chunk;
import io.refrag.core.model.ModelOptions;
import io.refrag.core.model.Precision;
import io.refrag.core.plan.PromptPlan;
import io.refrag.core.spi.Providers;
import io.refrag.core.spi.train.Trainable;
import io.refrag.core.spi.train.TrainableDecoder;
import io.refrag.core.spi.train.TrainableEncoder;
import io.refrag.core.spi.train.TrainablePolicy;
import io.refrag.core.spi.train.TrainableProjector;
import io.refrag.core.tensor.Devices;
import io.refrag.core.tensor.Tensors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.EnumSet;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;

/**
 * One training run's parts (decoder, encoder, projector, optionally a policy), the shared pieces of the tasks (chunk
 * vectors, mixed input embeddings, token NLL) and the optimisation loop with checkpointing and resume.
 */
final class TrainingSession implements AutoCloseable {
    /** Seed of the held-out samples, fixed so runs with different training seeds are evaluated alike. */
    static final long EVAL_SEED = 0x5EEDL;
    private static final Logger LOG = LoggerFactory.getLogger(TrainingSession.class);

    /** One step's forward and backward passes; returns the mean training loss. */
    @FunctionalInterface
    interface StepFunction {
        double run(int step, int update, GradientCollector collector);
    }

    /**
     * A context of chunks followed by the tokens to predict.
     *
     * @param context the chunks in document order
     * @param targets the tokens after them
     */
    record Sample(List<Chunk> context, int[] targets) {
    }

    /** Builds the decoder input before the targets of held-out sample {@code i}. */
    @FunctionalInterface
    interface PrefixBuilder {
        NDList prefix(NDManager m, Sample x, int i);
    }

    final String task;
    final TrainingConfig config;
    final Set<Part> trains;
    final double servedFraction;
    final TrainableDecoder decoder;
    final TrainableEncoder encoder;
    final TrainableProjector projector;
    final TrainablePolicy policy;
    private final NDManager manager;
    private final ChunkedCorpus data;
    final Path decoderSource;
    final Path encoderSource;
    final Path decoderAdapterSource; // LoRA adapters of the run this one continues, or null
    final Path encoderAdapterSource;
    private final Map<Chunk, float[]> vectors = new IdentityHashMap<>();
    final TrainingState state;
    private volatile String detail = "";

    private TrainingSession(String task, TrainingConfig config, Set<Part> trains, double servedFraction) {
        this.task = task;
        this.config = config;
        this.trains = EnumSet.copyOf(trains);
        this.servedFraction = servedFraction;
        this.state = new TrainingState(task, config.output(), config.options().steps());
        RefragManifest init = config.initFrom() == null ? null : RefragManifest.read(config.initFrom());
        this.decoderSource = init != null ? init.decoder() : config.decoder();
        this.encoderSource = init != null && init.encoder() != null ? init.encoder() : config.encoder();
        this.decoderAdapterSource = init != null ? init.decoderAdapter() : null;
        this.encoderAdapterSource = init != null ? init.encoderAdapter() : null;
        Path projectorSource = init != null ? init.projector() : null;
        Path policySource = init != null ? init.policyFile() : null;
        List<AutoCloseable> opened = new ArrayList<>();
        try {
            ModelOptions serving = new ModelOptions(config.device(), Precision.FP32);
            ModelOptions training = serving.withTrainable();
            // adapters of the run this one continues: trained on (unmerged) where the part trains, else merged
            this.decoder = opened(Providers.loadTrainableDecoder(decoderSource,
                    (trains.contains(Part.DECODER) ? training : serving).withAdapter(decoderAdapterSource)), opened);
            this.encoder = opened(Providers.loadTrainableEncoder(encoderSource,
                    (trains.contains(Part.ENCODER) ? training : serving).withAdapter(encoderAdapterSource),
                    config.pooling()), opened);
            if (config.decoderLora() != null) {
                requireTrains(trains, Part.DECODER, "decoderLora", "trainDecoder");
                if (!decoder.hasAdapter()) {
                    decoder.addAdapter(config.decoderLora(), config.options().seed());
                }
            }
            if (config.encoderLora() != null) {
                requireTrains(trains, Part.ENCODER, "encoderLora", "trainEncoder");
                if (!encoder.hasAdapter()) {
                    encoder.addAdapter(config.encoderLora(), config.options().seed() + 1);
                }
            }
            this.projector = opened(projectorSource != null
                    ? Providers.projectors().loadTrainable(projectorSource, encoder.hiddenSize(),
                            decoder.info().hiddenSize(), serving)
                    : Providers.projectors().createTrainable(encoder.hiddenSize(), decoder.info().hiddenSize(),
                            config.options().seed(), serving), opened);
            if (projector.inputSize() != encoder.hiddenSize()
                    || projector.outputSize() != decoder.info().hiddenSize()) {
                throw new InvalidRequestException("projector maps " + projector.inputSize() + " -> "
                        + projector.outputSize() + " but the encoder gives " + encoder.hiddenSize()
                        + " and the decoder needs " + decoder.info().hiddenSize());
            }
            this.policy = !trains.contains(Part.POLICY) ? null : opened(policySource != null
                    ? Providers.loadTrainablePolicy(policySource, serving)
                    : Providers.createTrainablePolicy(decoder.info().hiddenSize(), config.options().seed(), serving),
                    opened);
            this.data = new ChunkedCorpus(config.corpus().resolve(decoder), config.heldOutDocuments(),
                    decoder.tokenizer(), config.k());
            this.manager = NDManager.newBaseManager(Devices.resolve(config.device()));
        } catch (RuntimeException e) {
            throw Closeables.closeAfter(e, opened.toArray(AutoCloseable[]::new));
        }
    }

    /**
     * Loads a run's parts and data.
     *
     * @param task the task's name (checked on resume)
     * @param config what every task needs
     * @param trains the parts that train; a policy is loaded only when it trains
     * @param servedFraction the expansion fraction the exported {@code refrag.json} serves with
     * @return the session
     */
    static TrainingSession open(String task, TrainingConfig config, Set<Part> trains, double servedFraction) {
        return new TrainingSession(task, config, trains, servedFraction);
    }

    private static void requireTrains(Set<Part> trains, Part part, String key, String flag) {
        if (!trains.contains(part)) {
            throw new InvalidRequestException("training config: " + key + " adapts a part that does not train in this "
                    + "task; set " + flag + " (or drop " + key + ")");
        }
    }

    private static <T extends AutoCloseable> T opened(T part, List<AutoCloseable> opened) {
        opened.add(part);
        return part;
    }

    /** @return the part's parameters' owner, or null when the part does not train in this run */
    Trainable trained(Part part) {
        return switch (part) {
            case POLICY -> policy; // loaded only when it trains
            case PROJECTOR -> trains.contains(part) ? projector : null;
            case ENCODER -> trains.contains(part) ? encoder : null;
            case DECODER -> trains.contains(part) ? decoder : null;
        };
    }

    /** @return the decoder */
    TrainableDecoder decoder() {
        return decoder;
    }

    /** @return the policy being trained, or null when none trains */
    TrainablePolicy policy() {
        return policy;
    }

    /** @return a manager for one sample's arrays, closed by the caller */
    NDManager newScope() {
        return manager.newSubManager();
    }

    /**
     * @param heldOut draw from the held-out documents (else the training ones)
     * @param chunks consecutive full chunks wanted
     * @param r the sample's random source
     * @return a random window of {@code chunks} chunks of one document
     */
    List<Chunk> window(boolean heldOut, int chunks, Random r) {
        return data.window(heldOut, chunks, r);
    }

    /** @return {@code contextTokens / k} context chunks, then the next {@code targetTokens} tokens of the document */
    Sample nextParagraph(NextParagraph shape, boolean heldOut, Random r) {
        int contextChunks = shape.contextChunks(config.k());
        int targetChunks = (shape.targetTokens() + config.k() - 1) / config.k();
        List<Chunk> w = data.window(heldOut, contextChunks + targetChunks, r);
        int[] next = tokens(w.subList(contextChunks, w.size()));
        return new Sample(w.subList(0, contextChunks), Arrays.copyOf(next, shape.targetTokens()));
    }

    /** @return the fixed held-out samples of a next-paragraph task, their chunks already encoded */
    List<Sample> evalSamples(NextParagraph shape) {
        List<Sample> eval = new ArrayList<>();
        for (int i = 0; i < config.evalSamples(); i++) {
            eval.add(nextParagraph(shape, true, ChunkedCorpus.random(EVAL_SEED, 0, i)));
        }
        prefetch(eval.stream().map(Sample::context).toList());
        return eval;
    }

    /** @return mean NLL per target token over the samples, each after the prefix the builder gives */
    double meanNll(List<Sample> eval, PrefixBuilder prefix) {
        double sum = 0;
        long n = 0;
        for (int i = 0; i < eval.size(); i++) {
            Sample x = eval.get(i);
            try (NDManager m = newScope()) {
                sum += targetNll(m, prefix.prefix(m, x, i), x.targets()).getFloat() * x.targets().length;
                n += x.targets().length;
            }
        }
        return sum / n;
    }

    /** @return the chunks' token ids, concatenated */
    static int[] tokens(List<Chunk> chunks) {
        return chunks.stream().flatMapToInt(c -> Arrays.stream(c.tokenIds())).toArray();
    }

    // ---- shared pieces of the tasks ----

    /** Encodes, once, every chunk of these samples that the frozen encoder has not seen yet. */
    void prefetch(List<List<Chunk>> samples) {
        if (trains.contains(Part.ENCODER)) {
            return;
        }
        Set<Chunk> seen = Collections.newSetFromMap(new IdentityHashMap<>());
        List<Chunk> missing = new ArrayList<>();
        for (List<Chunk> s : samples) {
            for (Chunk c : s) {
                if (!vectors.containsKey(c) && seen.add(c)) {
                    missing.add(c);
                }
            }
        }
        if (!missing.isEmpty()) {
            float[][] v = encoder.encode(missing.stream().map(Chunk::text).toList());
            for (int i = 0; i < v.length; i++) {
                vectors.put(missing.get(i), v[i]);
            }
        }
    }

    /** @return projected chunk embeddings {@code [chunks, decoderHidden]} (differentiable when parts train) */
    NDArray chunkEmbeddings(NDManager m, List<Chunk> chunks) {
        NDArray encoded;
        if (trains.contains(Part.ENCODER)) {
            encoded = encoder.encode(m, chunks.stream().map(Chunk::text).toList());
        } else {
            prefetch(List.of(chunks));
            float[][] rows = chunks.stream().map(vectors::get).toArray(float[][]::new);
            encoded = Tensors.fromRows(m, rows, encoder.hiddenSize(), i -> "encoder returned a vector of "
                    + rows[i].length + " values for chunk " + i); // [chunks, encoderHidden]
        }
        return projector.forward(encoded); // [chunks, decoderHidden]
    }

    /** @return token embeddings {@code [ids.length, hidden]} */
    private NDArray tokenEmbeddings(NDManager m, int[] ids) {
        return decoder.inputsEmbeds(m.create(ids));
    }

    /** @return the plan of a sample's context: BOS, then its chunks in order, none expanded */
    PromptPlan plan(List<Chunk> context) {
        return PromptPlan.builder(decoder.info()).chunks(context).build();
    }

    /**
     * Renders a plan as decoder input rows, as serving does: token runs through the decoder's embeddings, compressed
     * chunks as projected embeddings (differentiable when parts train).
     *
     * @return the rows, one array {@code [run length, hidden]} per run
     */
    NDList embed(NDManager m, PromptPlan plan) {
        int[] compressed = plan.compressedChunks();
        NDArray rows = compressed.length == 0 ? null
                : chunkEmbeddings(m, Arrays.stream(compressed).mapToObj(plan.chunks()::get).toList()); // [n, hidden]
        NDList out = new NDList();
        int row = 0;
        for (PromptPlan.Run run : plan.runs()) {
            if (run instanceof PromptPlan.TokenRun t) {
                out.add(tokenEmbeddings(m, t.ids()));
            } else if (run instanceof PromptPlan.CompressedRun c) {
                out.add(rows.get(new NDIndex("{}:{}", row, row + c.chunks().length)));
                row += c.chunks().length;
            }
        }
        return out;
    }

    /**
     * Mean NLL of {@code targets} after {@code prefix}: the prefix, then all targets but the last, in one forward
     * pass; loss on the targets only.
     *
     * @param prefix input rows before the first target (at least one)
     * @return scalar mean NLL (differentiable)
     */
    NDArray targetNll(NDManager m, NDList prefix, int[] targets) {
        int prefixLength = 0;
        NDList parts = new NDList();
        for (NDArray p : prefix) {
            prefixLength += Math.toIntExact(p.getShape().get(0));
            parts.add(p);
        }
        if (prefixLength == 0) {
            throw new InvalidRequestException("scoring targets needs at least one prefix position (the decoder has no "
                    + "BOS token)");
        }
        if (targets.length > 1) {
            parts.add(tokenEmbeddings(m, Arrays.copyOf(targets, targets.length - 1)));
        }
        NDArray x = parts.size() == 1 ? parts.get(0) : NDArrays.concat(parts, 0); // [prefix + targets - 1, hidden]
        NDArray logits = decoder.logits(x, prefixLength - 1); // [targets, vocab]
        return Tensors.tokenNll(logits, m.create(targets)).mean();
    }

    /** Sets the progress detail shown with the next step reports. */
    void detail(String d) {
        detail = d;
    }

    /** @return the progress detail for the next step report */
    String detail() {
        return detail;
    }

    // ---- the loop ----

    /**
     * Trains for the configured steps (resuming from the output folder when asked), checkpoints and exports
     * ({@link TrainingLoop}).
     *
     * @return the last step's loss
     */
    double run(StepFunction fn, int updatesPerStep, TrainingListener listener) {
        return new TrainingLoop(this).run(fn, updatesPerStep, listener);
    }

    @Override
    public void close() {
        RuntimeException failure = Closeables.closeAll(Arrays.asList(manager, policy, projector, encoder, decoder));
        if (failure != null) {
            LOG.warn("closing the training session: {}", failure.toString());
        }
    }
}
