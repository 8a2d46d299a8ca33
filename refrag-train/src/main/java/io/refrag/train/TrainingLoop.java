package io.refrag.train;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.training.GradientCollector;
import io.refrag.core.RefragManifest;
import io.refrag.core.checkpoint.RefragFolder;
import io.refrag.core.exception.RefragException;
import io.refrag.core.hub.HfModelId;
import io.refrag.core.lora.LoraAdapter;
import io.refrag.core.model.PolicyNames;
import io.refrag.core.spi.train.Trainable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * The loop every task runs over a {@link TrainingSession}: gather the trained parts' parameters (each part with its
 * learning-rate scale), restore the resumable state, then per step seed PyTorch's generator, run the task's forward and
 * backward passes, update with AdamW on the schedule, report, checkpoint; at the end export the trained parts and
 * {@code refrag.json}.
 */
final class TrainingLoop {
    private static final Logger LOG = LoggerFactory.getLogger(TrainingLoop.class);

    private final TrainingSession s;

    TrainingLoop(TrainingSession session) {
        this.s = session;
    }

    /**
     * Trains for the configured steps (resuming from the output folder when asked), checkpoints and exports.
     *
     * @return the last step's loss
     */
    double run(TrainingSession.StepFunction fn, int updatesPerStep, TrainingListener listener) {
        TrainingOptions o = s.config.options();
        Map<String, NDArray> params = new LinkedHashMap<>();
        Map<String, Double> scale = new LinkedHashMap<>();
        for (Part part : Part.OPTIMISER_ORDER) {
            Trainable trained = s.trained(part);
            if (trained != null) {
                addPart(part.prefix(), trained, part.learningRateScale(o), params, scale);
            }
        }
        LearningRateSchedule schedule = o.schedule();
        long start = System.nanoTime();
        double loss = Double.NaN;
        try (AdamW optimizer = new AdamW(params, scale, o)) {
            int first = s.config.resume() ? s.state.restore(params, optimizer) : 0;
            for (int step = first; step < o.steps(); step++) {
                double lr = schedule.at(step);
                double norm = 0;
                for (int u = 0; u < updatesPerStep; u++) {
                    // PyTorch's own generator (LoRA dropout) seeded per update, so a run and its resumption repeat
                    long update = (long) step * updatesPerStep + u;
                    Engine.getInstance().setRandomSeed((int) (o.seed() * 1_000_003L + update));
                    try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                        loss = fn.run(step, u, gc);
                    }
                    if (!Double.isFinite(loss)) {
                        throw new RefragException("training diverged at step " + (step + 1) + ": the loss is " + loss
                                + "; nothing of this step was saved (the last checkpoint in " + s.config.output()
                                + " is intact); lower the learning rate or check the data");
                    }
                    norm = optimizer.step(lr, o.maxGradNorm());
                }
                if (!Double.isFinite(norm)) {
                    LOG.warn("step {}: non-finite gradient norm, update skipped", step + 1);
                }
                listener.onStep(new StepReport(s.task, step + 1, o.steps(), loss, lr, norm, s.detail(),
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

    private void save(int step, Map<String, NDArray> params, AdamW optimizer) {
        Map<String, float[]> values = new LinkedHashMap<>();
        params.forEach((n, t) -> values.put(n, t.toFloatArray()));
        values.forEach((n, v) -> {
            for (float x : v) {
                if (!Float.isFinite(x)) {
                    throw new RefragException("training diverged before step " + step + ": parameter '" + n
                            + "' holds " + x + "; nothing was exported (the last checkpoint in " + s.config.output()
                            + " is intact); lower the learning rate");
                }
            }
        });
        Path out = s.config.output();
        try {
            Files.createDirectories(out);
        } catch (IOException e) {
            throw new RefragException("cannot create output folder " + out + ": " + e.getMessage(), e);
        }
        s.projector.save(out.resolve(RefragFolder.PROJECTOR));
        boolean trainDecoder = s.trains.contains(Part.DECODER) && !s.decoder.hasAdapter();
        boolean trainEncoder = s.trains.contains(Part.ENCODER) && !s.encoder.hasAdapter();
        if (trainDecoder) {
            s.decoder.saveCheckpoint(out.resolve(RefragFolder.DECODER));
        }
        if (trainEncoder) {
            s.encoder.saveCheckpoint(out.resolve(RefragFolder.ENCODER));
        }
        Path decoderAdapter = adapter(s.trains.contains(Part.DECODER) && s.decoder.hasAdapter()
                ? f -> s.decoder.saveAdapter(f, baseModel(s.decoderSource)) : null, s.decoderAdapterSource,
                out.resolve(RefragFolder.DECODER_ADAPTER));
        Path encoderAdapter = adapter(s.trains.contains(Part.ENCODER) && s.encoder.hasAdapter()
                ? f -> s.encoder.saveAdapter(f, baseModel(s.encoderSource)) : null, s.encoderAdapterSource,
                out.resolve(RefragFolder.ENCODER_ADAPTER));
        RefragManifest manifest = RefragManifest.of(trainDecoder ? out.resolve(RefragFolder.DECODER) : s.decoderSource)
                .withEncoder(trainEncoder ? out.resolve(RefragFolder.ENCODER) : s.encoderSource, s.config.pooling())
                .withProjector(out.resolve(RefragFolder.PROJECTOR))
                .withDefaults(s.config.k(), s.servedFraction)
                .withAdapters(encoderAdapter, decoderAdapter);
        if (s.policy != null) {
            s.policy.save(out.resolve(RefragFolder.POLICY));
            manifest = manifest.withPolicy(PolicyNames.LEARNED, out.resolve(RefragFolder.POLICY));
        }
        manifest.write(out);
        s.state.write(step, params, values, optimizer);
    }

    /**
     * Writes a part's adapters into the output: the ones this run trained, else a copy of those of the run it
     * continued, so that every output folder is complete on its own.
     *
     * @return the adapter folder in the output, or null when the part has none
     */
    private static Path adapter(Consumer<Path> trained, Path continued, Path target) {
        if (trained != null) {
            trained.accept(target);
            return target;
        }
        if (continued == null) {
            return null;
        }
        try {
            Files.createDirectories(target);
            for (String f : List.of(LoraAdapter.CONFIG_FILE, LoraAdapter.WEIGHTS_FILE)) {
                Files.copy(continued.resolve(f), target.resolve(f), StandardCopyOption.REPLACE_EXISTING);
            }
        } catch (IOException e) {
            throw new RefragException("cannot copy adapters " + continued + " to " + target + ": " + e.getMessage(), e);
        }
        return target;
    }

    /** @return a base model as PEFT records it: its hub id when it came from the hub cache, else its path */
    private static String baseModel(Path folder) {
        return HfModelId.ofSnapshot(folder).map(HfModelId::repo).orElse(folder.toString());
    }
}
