package io.refrag.core.train;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonObject;
import io.refrag.core.Devices;
import io.refrag.core.InvalidRequestException;
import io.refrag.core.ModelLoadException;
import io.refrag.core.RefragException;
import io.refrag.core.checkpoint.AtomicFiles;
import io.refrag.core.checkpoint.HfConfig;
import io.refrag.core.checkpoint.SafetensorsCheckpoint;
import io.refrag.core.checkpoint.SafetensorsWriter;
import io.refrag.core.chunk.Chunk;
import io.refrag.core.spi.ModelOptions;
import io.refrag.core.spi.Precision;
import io.refrag.core.spi.Projector;
import io.refrag.core.spi.Providers;
import io.refrag.core.spi.Trainable;
import io.refrag.core.spi.TrainableDecoder;
import io.refrag.core.spi.TrainableEncoder;
import io.refrag.core.spi.TrainablePolicy;
import io.refrag.core.spi.TrainableProjector;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * One training run's parts (decoder, encoder, projector, optionally a policy), the shared pieces of the tasks (chunk
 * vectors, mixed input embeddings, token NLL) and the optimisation loop with checkpointing and resume.
 */
final class TrainingSession implements AutoCloseable {
    static final String STATE_FILE = "trainer-state.safetensors";
    private static final Logger LOG = LoggerFactory.getLogger(TrainingSession.class);

    /** One step's forward and backward passes; returns the mean training loss. */
    @FunctionalInterface
    interface StepFunction {
        double run(int step, int update, GradientCollector collector);
    }

    final TrainingConfig config;
    final String task;
    final TrainableDecoder decoder;
    final TrainableEncoder encoder;
    final TrainableProjector projector;
    final TrainablePolicy policy;
    final boolean trainDecoder;
    final boolean trainEncoder;
    final boolean trainProjector;
    final NDManager manager;
    final ChunkedCorpus data;
    private final Path decoderSource;
    private final Path encoderSource;
    private final Map<Chunk, float[]> vectors = new IdentityHashMap<>();
    private String detail = "";

    private TrainingSession(String task, TrainingConfig config, boolean trainDecoder, boolean trainEncoder,
            boolean trainProjector, boolean withPolicy) {
        this.config = config;
        this.task = task;
        this.trainDecoder = trainDecoder;
        this.trainEncoder = trainEncoder;
        this.trainProjector = trainProjector;
        HfConfig init = config.initFrom() == null ? null : readRefragJson(config.initFrom());
        this.decoderSource = source(init, "decoder", config.decoder());
        this.encoderSource = source(init, "encoder", config.encoder());
        Path projectorSource = source(init, "projector", null);
        Path policySource = source(init, "policyFile", null);
        List<AutoCloseable> opened = new ArrayList<>();
        try {
            ModelOptions serving = new ModelOptions(config.device(), Precision.FP32);
            ModelOptions training = serving.withTrainable();
            this.decoder = trainable(Providers.loadDecoder(decoderSource, trainDecoder ? training : serving),
                    TrainableDecoder.class, "decoder", opened);
            this.encoder = trainable(Providers.loadEncoder(encoderSource, trainEncoder ? training : serving,
                    config.pooling()), TrainableEncoder.class, "encoder", opened);
            Projector p = projectorSource != null ? Providers.projectors().load(projectorSource, serving)
                    : Providers.projectors().createUntrained(encoder.hiddenSize(), decoder.info().hiddenSize(),
                            config.options().seed(), serving);
            this.projector = trainable(p, TrainableProjector.class, "projector", opened);
            if (projector.inputSize() != encoder.hiddenSize()
                    || projector.outputSize() != decoder.info().hiddenSize()) {
                throw new InvalidRequestException("projector maps " + projector.inputSize() + " -> "
                        + projector.outputSize() + " but the encoder gives " + encoder.hiddenSize()
                        + " and the decoder needs " + decoder.info().hiddenSize());
            }
            if (withPolicy) {
                this.policy = trainable(policySource != null
                        ? Providers.loadPolicy("learned", policySource, serving)
                        : Providers.createTrainablePolicy(decoder.info().hiddenSize(), config.options().seed(),
                                serving), TrainablePolicy.class, "policy", opened);
            } else {
                this.policy = null;
            }
            this.manager = NDManager.newBaseManager(Devices.resolve(config.device()));
            this.data = new ChunkedCorpus(config.corpus(), config.heldOutDocuments(), decoder.tokenizer(), config.k());
        } catch (RuntimeException e) {
            for (AutoCloseable c : opened) {
                closeQuietly(c);
            }
            throw e;
        }
    }

    static TrainingSession open(String task, TrainingConfig config, boolean trainDecoder, boolean trainEncoder,
            boolean trainProjector, boolean withPolicy) {
        return new TrainingSession(task, config, trainDecoder, trainEncoder, trainProjector, withPolicy);
    }

    private static HfConfig readRefragJson(Path folder) {
        Path file = folder.resolve("refrag.json");
        if (!Files.isRegularFile(file)) {
            throw new InvalidRequestException("initFrom " + folder + " holds no refrag.json (is it a training output "
                    + "folder?)");
        }
        return HfConfig.readFile(file);
    }

    private static Path source(HfConfig init, String key, Path fallback) {
        if (init == null || !init.has(key)) {
            return fallback;
        }
        return init.source().toAbsolutePath().getParent().resolve(init.requireString(key));
    }

    private static <T> T trainable(AutoCloseable part, Class<T> type, String role, List<AutoCloseable> opened) {
        opened.add(part);
        if (!type.isInstance(part)) {
            throw new InvalidRequestException("the " + role + " implementation " + part.getClass().getName()
                    + " does not support training (it does not implement " + type.getSimpleName() + ")");
        }
        return type.cast(part);
    }

    // ---- shared pieces of the tasks ----

    /** Encodes, once, every chunk of these samples that the frozen encoder has not seen yet. */
    void prefetch(List<List<Chunk>> samples) {
        if (trainEncoder) {
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
        if (trainEncoder) {
            encoded = encoder.encode(m, chunks.stream().map(Chunk::text).toList());
        } else {
            prefetch(List.of(chunks));
            int h = encoder.hiddenSize();
            float[] flat = new float[chunks.size() * h];
            for (int i = 0; i < chunks.size(); i++) {
                System.arraycopy(vectors.get(chunks.get(i)), 0, flat, i * h, h);
            }
            encoded = m.create(flat, new Shape(chunks.size(), h)); // [chunks, encoderHidden]
        }
        return projector.forward(encoded); // [chunks, decoderHidden]
    }

    /** @return token embeddings {@code [ids.length, hidden]} */
    NDArray tokenEmbeddings(NDManager m, int[] ids) {
        return decoder.inputsEmbeds(m.create(ids));
    }

    /** @return the BOS row {@code [1, hidden]} as a one-element list, or an empty list when the decoder has none */
    NDList bos(NDManager m) {
        int bos = decoder.info().bosTokenId();
        return bos < 0 ? new NDList() : new NDList(tokenEmbeddings(m, new int[] {bos}));
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
        NDArray target = m.create(targets).reshape(targets.length, 1);
        return logits.logSoftmax(-1).gather(target, 1).neg().mean();
    }

    /** Sets the progress detail shown with the next step reports. */
    void detail(String d) {
        detail = d;
    }

    // ---- the loop ----

    /**
     * Trains for the configured steps (resuming from the output folder when asked), checkpoints and exports.
     *
     * @return the last step's loss
     */
    double run(StepFunction fn, int updatesPerStep, TrainingListener listener) {
        TrainingOptions o = config.options();
        Map<String, NDArray> params = new LinkedHashMap<>();
        Map<String, Double> scale = new LinkedHashMap<>();
        if (trainProjector) {
            addPart("projector.", projector, 1.0, params, scale);
        }
        if (trainEncoder) {
            addPart("encoder.", encoder, o.encoderLearningRate() / o.learningRate(), params, scale);
        }
        if (trainDecoder) {
            addPart("decoder.", decoder, o.decoderLearningRate() / o.learningRate(), params, scale);
        }
        if (policy != null) {
            addPart("policy.", policy, 1.0, params, scale);
        }
        LearningRateSchedule schedule = o.schedule();
        long start = System.nanoTime();
        double loss = Double.NaN;
        try (AdamW optimizer = new AdamW(params, scale, o)) {
            int first = config.resume() ? restore(params, optimizer) : 0;
            for (int step = first; step < o.steps(); step++) {
                double lr = schedule.at(step);
                double norm = 0;
                for (int u = 0; u < updatesPerStep; u++) {
                    try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                        loss = fn.run(step, u, gc);
                    }
                    norm = optimizer.step(lr, o.maxGradNorm());
                }
                if (!Double.isFinite(norm)) {
                    LOG.warn("step {}: non-finite gradient norm, update skipped", step + 1);
                }
                listener.onStep(new StepReport(task, step + 1, o.steps(), loss, lr, norm, detail,
                        (System.nanoTime() - start) / 1_000_000));
                if (o.checkpointEvery() > 0 && (step + 1) % o.checkpointEvery() == 0 && step + 1 < o.steps()) {
                    save(step + 1, params, optimizer);
                }
            }
            save(o.steps(), params, optimizer);
        }
        return loss;
    }

    /** Adds a part's parameters under {@code prefix} with their learning-rate scale. */
    private static void addPart(String prefix, Trainable part, double learningRateScale, Map<String, NDArray> params,
            Map<String, Double> scale) {
        part.parameters().forEach((n, t) -> {
            params.put(prefix + n, t);
            scale.put(prefix + n, learningRateScale);
        });
    }

    private int restore(Map<String, NDArray> params, AdamW optimizer) {
        Path file = config.output().resolve(STATE_FILE);
        if (!Files.isRegularFile(file)) {
            LOG.info("resume: no {} yet, starting at step 0", file);
            return 0;
        }
        try (SafetensorsCheckpoint c = SafetensorsCheckpoint.openFile(file)) {
            String written = c.metadata().get("refrag.task");
            if (!task.equals(written)) {
                throw new ModelLoadException(file + " was written by the '" + written + "' task, not '" + task + "'");
            }
            for (Map.Entry<String, NDArray> e : params.entrySet()) {
                String name = "param." + e.getKey();
                if (c.find(name).isEmpty()
                        || !Arrays.equals(c.info(name).shape(), e.getValue().getShape().getShape())) {
                    throw new ModelLoadException(file + " has no tensor '" + name + "' of shape "
                            + e.getValue().getShape() + " (written for other parts or settings?)");
                }
                e.getValue().set(c.readFloats(name));
            }
            optimizer.readState(c);
            int step = Integer.parseInt(c.metadata().get("refrag.step"));
            LOG.info("resumed {} from {} at step {}", task, file, step);
            return step;
        }
    }

    private void save(int step, Map<String, NDArray> params, AdamW optimizer) {
        Path out = config.output();
        try {
            Files.createDirectories(out);
        } catch (IOException e) {
            throw new RefragException("cannot create output folder " + out + ": " + e.getMessage(), e);
        }
        projector.save(out.resolve("projector.safetensors"));
        JsonObject json = new JsonObject();
        if (trainDecoder) {
            decoder.saveCheckpoint(out.resolve("decoder"));
        }
        if (trainEncoder) {
            encoder.saveCheckpoint(out.resolve("encoder"));
        }
        json.addProperty("decoder", trainDecoder ? "decoder" : decoderSource.toAbsolutePath().normalize().toString());
        json.addProperty("encoder", trainEncoder ? "encoder" : encoderSource.toAbsolutePath().normalize().toString());
        json.addProperty("projector", "projector.safetensors");
        json.addProperty("pooling", config.pooling().name().toLowerCase(java.util.Locale.ROOT));
        json.addProperty("k", config.k());
        if (policy != null) {
            policy.save(out.resolve("policy.safetensors"));
            json.addProperty("policy", "learned");
            json.addProperty("policyFile", "policy.safetensors");
            json.addProperty("p", config.expandFraction());
        }
        AtomicFiles.writeString(out.resolve("refrag.json"), new GsonBuilder().setPrettyPrinting().create().toJson(json));
        SafetensorsWriter w = new SafetensorsWriter()
                .metadata("refrag.task", task)
                .metadata("refrag.step", Integer.toString(step));
        params.forEach((n, t) -> w.add("param." + n, t.toFloatArray(), t.getShape().getShape()));
        optimizer.writeState(w);
        w.write(out.resolve(STATE_FILE));
    }

    private static void closeQuietly(AutoCloseable c) {
        try {
            c.close();
        } catch (Exception e) {
            LOG.debug("ignored close failure", e);
        }
    }

    @Override
    public void close() {
        manager.close();
        for (AutoCloseable c : new AutoCloseable[] {policy, projector, encoder, decoder}) {
            if (c != null) {
                closeQuietly(c);
            }
        }
    }
}
