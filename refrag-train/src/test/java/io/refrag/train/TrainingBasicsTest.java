package io.refrag.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.training.GradientCollector;
import io.refrag.core.checkpoint.SafetensorsCheckpoint;
import io.refrag.core.checkpoint.SafetensorsWriter;
import io.refrag.core.corpus.CorpusSource;
import io.refrag.core.corpus.TrainingCorpus;
import io.refrag.core.exception.InvalidRequestException;
import io.refrag.core.tensor.Tensors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;

/** Curriculum, schedule, AdamW, config and corpus checks without any model. */
class TrainingBasicsTest {
    @TempDir
    Path tmp;

    @Test
    void curriculumMovesFromEasyToHardWithGeometricCounts() {
        Curriculum c = new Curriculum(4, 5, 2.0, 64);
        int[][] m = c.mixes();
        System.out.print(c.describe());
        assertArrayEquals(new int[] {64, 32, 16, 8}, m[0], "first stage: easy-heavy");
        assertArrayEquals(new int[] {8, 16, 32, 64}, m[4], "last stage: hard-heavy, mirroring the first");
        assertArrayEquals(new int[] {23, 23, 23, 23}, m[2], "middle stage: uniform");
        for (int t = 1; t <= 4; t++) {
            double ratio = Math.pow(2.0, (2.0 * t - 1 - 4) / 4); // per-stage growth of type t
            for (int s = 0; s < 4; s++) {
                double got = (double) m[s + 1][t - 1] / m[s][t - 1];
                assertEquals(ratio, got, 0.1 * ratio, "type " + t + " grows geometrically (up to rounding)");
            }
        }
        java.util.function.LongToIntFunction thousand = c.plan(1000, 7);
        int[] plan = java.util.stream.IntStream.range(0, 1000).map(thousand::applyAsInt).toArray();
        double early = Arrays.stream(plan, 0, 200).average().orElseThrow();
        double late = Arrays.stream(plan, 800, 1000).average().orElseThrow();
        assertTrue(early < 2 && late > 3, "mean chunks early " + early + ", late " + late);
        assertArrayEquals(plan, java.util.stream.IntStream.range(0, 1000).map(c.plan(1000, 7)::applyAsInt).toArray(),
                "seeded order");
        java.util.function.LongToIntFunction huge = c.plan(8_000_000_000L, 7); // 10^9 steps of 8: nothing is stored
        assertEquals(plan[0], huge.applyAsInt(0));
        assertEquals(plan[999], huge.applyAsInt(7_999_999_999L), "the last sample is the last of the order");
        assertThrows(InvalidRequestException.class, () -> new Curriculum(4, 3, 1.0, 8));
    }

    @Test
    void configSizesThatWouldExhaustMemoryAreRefusedBeforeAnyWork() {
        var order = assertThrows(InvalidRequestException.class, () -> new Curriculum(8, 9, 2.0, 2_000_000_000));
        assertTrue(order.getMessage().contains("orders more than 10000000 samples"), order.getMessage());
        var stages = assertThrows(InvalidRequestException.class, () -> new Curriculum(8, 1_000_000, 2.0, 1));
        assertTrue(stages.getMessage().contains("stages <= 1000"), stages.getMessage());
        var chunks = assertThrows(InvalidRequestException.class, () -> new Curriculum(2_000_000_000, 2, 2.0, 1));
        assertTrue(chunks.getMessage().contains("maxChunks <= 4096"), chunks.getMessage());
        var batch = assertThrows(InvalidRequestException.class, () -> TrainingOptions.builder()
                .optBatchSize(1_000_000_000).build());
        assertTrue(batch.getMessage().contains("batchSize must be in [1, 65536]"), batch.getMessage());
        assertEquals(1_000_000_000, TrainingOptions.builder().optSteps(1_000_000_000).build().steps(),
                "steps are work, not memory: the plan is computed per sample");
    }

    @Test
    void scheduleWarmsUpLinearlyThenDecaysByCosine() {
        LearningRateSchedule s = new LearningRateSchedule(1e-3, 4, 14, 0.1);
        assertEquals(0.25e-3, s.at(0), 1e-12);
        assertEquals(1e-3, s.at(3), 1e-12);
        assertEquals(1e-3, s.at(4), 1e-12);
        assertEquals(1e-3 * (0.1 + 0.9 * 0.5 * (1 + Math.cos(Math.PI * 5 / 9))), s.at(9), 1e-12, "cosine");
        assertEquals(1e-4, s.at(13), 1e-12, "last step at the floor");
        for (int i = 5; i < 14; i++) {
            assertTrue(s.at(i) < s.at(i - 1));
        }
    }

    @Test
    void adamWMatchesTheReferenceUpdateAndResumesFromItsState() {
        TrainingOptions o = TrainingOptions.builder().optLearningRate(0.1).optWeightDecay(0.5).optMaxGradNorm(0)
                .build();
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray w = m.create(new float[] {1f, -2f, 3f, 0.5f}, new ai.djl.ndarray.types.Shape(2, 2));
            NDArray b = m.create(new float[] {0.5f, -0.5f});
            double[] wRef = {1, -2, 3, 0.5};
            double[] bRef = {0.5, -0.5};
            double[][] mom = new double[4][6];
            try (AdamW adam = new AdamW(Map.of("w", w, "b", b), o)) {
                for (int step = 1; step <= 3; step++) {
                    try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                        // loss = sum(w^2) + sum(b^3): grad w = 2w, grad b = 3b^2
                        gc.backward(w.square().sum().add(b.pow(3).sum()));
                    }
                    adam.step(0.1, 0);
                    for (int i = 0; i < 6; i++) {
                        boolean matrix = i < 4;
                        double p = matrix ? wRef[i] : bRef[i - 4];
                        double g = matrix ? 2 * p : 3 * p * p;
                        mom[0][i] = 0.9 * mom[0][i] + 0.1 * g;
                        mom[1][i] = 0.999 * mom[1][i] + 0.001 * g * g;
                        double update = mom[0][i] / (1 - Math.pow(0.9, step))
                                / (Math.sqrt(mom[1][i] / (1 - Math.pow(0.999, step))) + 1e-8);
                        p = (matrix ? p * (1 - 0.1 * 0.5) : p) - 0.1 * update;
                        if (matrix) {
                            wRef[i] = p;
                        } else {
                            bRef[i - 4] = p;
                        }
                    }
                }
                float[] wGot = w.toFloatArray();
                float[] bGot = b.toFloatArray();
                for (int i = 0; i < 4; i++) {
                    assertEquals(wRef[i], wGot[i], 1e-5, "w[" + i + "] (decayed)");
                }
                assertEquals(bRef[0], bGot[0], 1e-5, "bias (not decayed)");
                assertEquals(bRef[1], bGot[1], 1e-5);
                assertEquals(0f, w.getGradient().abs().sum().getFloat(), "gradients are zeroed after a step");
                SafetensorsWriter sw = new SafetensorsWriter();
                adam.writeState(sw);
                sw.write(tmp.resolve("state.safetensors"));
            }
            try (AdamW restored = new AdamW(Map.of("w", w, "b", b), o);
                    SafetensorsCheckpoint c = SafetensorsCheckpoint.openFile(tmp.resolve("state.safetensors"))) {
                restored.readState(c);
                assertEquals(3, restored.steps());
            }
        }
    }

    @Test
    void aNonFiniteGradientSkipsOneStepNotEveryLaterOne() {
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray w = m.create(new float[] {1f, -2f});
            try (AdamW adam = new AdamW(Map.of("w", w), TrainingOptions.builder().build())) {
                try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                    gc.backward(w.div(0f).sum()); // infinite gradients
                }
                assertFalse(Double.isFinite(adam.step(0.1, 1)), "the non-finite step is reported");
                assertArrayEquals(new float[] {1f, -2f}, w.toFloatArray(), "and skipped");
                try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                    gc.backward(w.square().sum());
                }
                double norm = adam.step(0.1, 1);
                assertTrue(Double.isFinite(norm), "the next step's gradients start from zero: " + norm);
                assertTrue(w.toFloatArray()[0] < 1f, "and it updates");
            }
        }
    }

    @Test
    void adamWUpdatesOnAThreadOtherThanTheEnginesWhereAutogradIsOn() throws Exception {
        Engine.getInstance(); // started on this thread: DJL switches autograd off here, and only here
        AtomicReference<Throwable> failure = new AtomicReference<>();
        AtomicReference<float[]> after = new AtomicReference<>();
        Thread trainer = new Thread(() -> {
            try (NDManager m = NDManager.newBaseManager()) {
                NDArray w = m.create(new float[] {1f, -2f, 3f, 0.5f});
                try (AdamW adam = new AdamW(Map.of("w", w), TrainingOptions.builder().build())) {
                    try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                        gc.backward(w.square().sum());
                    }
                    adam.step(0.1, 0);
                    after.set(w.toFloatArray());
                }
            } catch (Throwable e) {
                failure.set(e);
            }
        });
        trainer.start();
        trainer.join();
        assertNull(failure.get(), () -> "step failed: " + failure.get());
        assertTrue(after.get()[0] < 1f && after.get()[1] > -2f, "the step moved the weights: "
                + Arrays.toString(after.get()));
    }

    @Test
    void perParameterLearningRatesScaleTheUpdate() {
        TrainingOptions o = TrainingOptions.builder().optLearningRate(0.1).optEncoderLearningRate(0.01).build();
        assertEquals(0.01, o.encoderLearningRate());
        assertEquals(0.1, o.decoderLearningRate(), "unset part learning rates follow learningRate");
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray fast = m.create(new float[] {1f, -1f});
            NDArray slow = m.create(new float[] {1f, -1f});
            try (AdamW adam = new AdamW(Map.of("fast", fast, "slow", slow), Map.of("slow", 0.1), o)) {
                try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                    gc.backward(fast.sum().add(slow.sum())); // gradient 1 everywhere: Adam's first step moves lr
                }
                adam.step(0.1, 0);
            }
            assertArrayEquals(new float[] {0.9f, -1.1f}, fast.toFloatArray(), 1e-6f);
            assertArrayEquals(new float[] {0.99f, -1.01f}, slow.toFloatArray(), 1e-6f);
        }
    }

    @Test
    void clippingBoundsTheUpdateAndScalingIsDifferentiable() {
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray w = m.create(new float[] {3f, 4f});
            try (AdamW adam = new AdamW(Map.of("w", w), TrainingOptions.builder().build())) {
                try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                    gc.backward(Tensors.scale(w.mul(w).sum(), 0.5f)); // grad = w = (3, 4), norm 5
                }
                assertEquals(5.0, adam.step(1e-3, 1.0), 1e-5, "pre-clip norm");
            }
        }
    }

    @Test
    void optionsAndConfigRejectBadValuesWithTheirRange() {
        InvalidRequestException e = assertThrows(InvalidRequestException.class,
                () -> TrainingOptions.builder().optLearningRate(0).build());
        assertTrue(e.getMessage().contains("learningRate must be > 0"), e.getMessage());
        TrainingCorpus two = new TrainingCorpus(List.of("a", "b"));
        TrainingConfig.Builder b = TrainingConfig.builder().setDecoder(tmp).setEncoder(tmp).setOutput(tmp)
                .setCorpus(two);
        e = assertThrows(InvalidRequestException.class, () -> new NextParagraph(128, 32, 1.5));
        assertTrue(e.getMessage().contains("[0, 1]"), e.getMessage());
        e = assertThrows(InvalidRequestException.class, () -> b.optK(0).build());
        assertTrue(e.getMessage().contains("k (decoder tokens per chunk) must be >= 1"), e.getMessage());
        TrainingConfig base = b.optK(8).build();
        e = assertThrows(InvalidRequestException.class,
                () -> new PolicyTrainingConfig(base, NextParagraph.defaults(), 1, 0.2, 2));
        assertTrue(e.getMessage().contains("groupSize"), e.getMessage());
        e = assertThrows(InvalidRequestException.class,
                () -> PolicyTrainingConfig.defaults(base, new NextParagraph(16, 8, 0.1)));
        assertTrue(e.getMessage().contains("0 < round(p * chunks) < chunks"), e.getMessage());
        e = assertThrows(InvalidRequestException.class,
                () -> new ContinualPretrainingConfig(base, new NextParagraph(4, 8, 0.25), false, false));
        assertTrue(e.getMessage().contains("contextTokens must be >= k = 8"), e.getMessage());
        e = assertThrows(InvalidRequestException.class,
                () -> TrainingConfig.builder().setDecoder(tmp).setEncoder(tmp).setOutput(tmp).build());
        assertTrue(e.getMessage().contains("needs decoder, encoder, output and corpus"), e.getMessage());
        assertThrows(InvalidRequestException.class, () -> new TrainingCorpus(List.of()));
    }

    @Test
    void trainingExpandsExactlyAsManyChunksAsInference() {
        for (int n = 1; n <= 16; n++) {
            int chunks = n;
            for (double p : new double[] {0, 0.1, 0.25, 0.5, 0.9, 1}) {
                int budget = new NextParagraph(8 * chunks, 8, p).budget(8);
                assertEquals(io.refrag.core.RefragOptions.builder().optExpansionFraction(p).build().budget(chunks),
                        budget, "p=" + p + ", chunks=" + chunks);
                for (int seed = 0; seed < 20; seed++) {
                    int[] picks = ContinualPretrainingTask.randomPicks(chunks, budget,
                            ChunkedCorpus.random(seed, chunks, 0));
                    assertEquals(budget, picks.length);
                    assertEquals(budget, Arrays.stream(picks).distinct().filter(i -> i >= 0 && i < chunks).count());
                }
            }
        }
    }

    @Test
    void cptRefusesAFractionThatExpandsEveryChunkWhileTheDecoderIsFrozen() {
        TrainingConfig base = TrainingConfig.builder().setDecoder(tmp.resolve("no-decoder"))
                .setEncoder(tmp.resolve("no-encoder")).setOutput(tmp.resolve("out"))
                .setCorpus(new TrainingCorpus(List.of("a", "b"))).optK(8).build();
        NextParagraph allExpanded = new NextParagraph(64, 32, 0.95);
        InvalidRequestException e = assertThrows(InvalidRequestException.class,
                () -> new ContinualPretrainingConfig(base, allExpanded, true, false));
        assertTrue(e.getMessage().contains("expands all 8 context chunks") && e.getMessage().contains("p < 0.9375"),
                e.getMessage());
        new ContinualPretrainingConfig(base, allExpanded, false, true); // the decoder trains: a loss path exists
        new ContinualPretrainingConfig(base, new NextParagraph(64, 32, 0.9), false, false); // 7 of 8 expanded
    }

    @Test
    void configReadsJsonWithPathsRelativeToItsFolder() throws Exception {
        Files.write(tmp.resolve("docs.txt"), List.of("first document", "", "second document", "third one"));
        Path file = tmp.resolve("train.json");
        Files.writeString(file, "{\"decoder\": \"dec\", \"encoder\": \"enc\", \"output\": \"out\", "
                + "\"corpus\": \"docs.txt\", \"k\": 16, \"pooling\": \"mean\", \"maxChunks\": 4, "
                + "\"curriculum\": {\"stages\": 3, \"ratio\": 3.0, \"base\": 9}, \"heldOutDocuments\": 1, "
                + "\"training\": {\"steps\": 12, \"batchSize\": 2, \"learningRate\": 0.01, \"seed\": 4, "
                + "\"encoderLearningRate\": 0.0001, \"decoderLearningRate\": 0.001}}");
        ReconstructionConfig r = ((ReconstructionTask) TrainingTask.read("reconstruct", file)).config();
        TrainingConfig c = r.base();
        assertEquals(tmp.resolve("dec"), c.decoder());
        assertEquals(tmp.resolve("out"), c.output());
        assertEquals(List.of("first document", "second document", "third one"),
                ((TrainingCorpus) c.corpus()).documents());
        assertEquals(16, c.k());
        assertEquals(new Curriculum(4, 3, 3.0, 9), r.curriculum());
        assertEquals(12, c.options().steps());
        assertEquals(4, c.options().seed());
        assertEquals(1e-4, c.options().encoderLearningRate());
        assertEquals(1e-3, c.options().decoderLearningRate());
        Files.writeString(file, "{\"decoder\": \"dec\", \"encoder\": \"enc\", \"output\": \"out\", "
                + "\"corpus\": \"docs.txt\", \"curriculum\": false}");
        assertNull(((ReconstructionTask) TrainingTask.read("reconstruct", file)).config().curriculum(),
                "\"curriculum\": false trains without one");
        Files.writeString(file, "{\"decoder\": \"dec\", \"encoder\": \"enc\", \"output\": \"out\", "
                + "\"corpus\": \"docs.txt\"}");
        ReconstructionConfig plain = ((ReconstructionTask) TrainingTask.read("reconstruct", file)).config();
        assertEquals(ReconstructionConfig.defaults(plain.base()), plain, "absent keys take the documented defaults");
        assertEquals(TrainingOptions.builder().build(), plain.base().options());
        Files.writeString(file, "{\"decoder\": \"dec\", \"encoder\": \"enc\", \"output\": \"out\", "
                + "\"sampleCorpus\": {\"documents\": 30, \"tokens\": 64}, \"contextTokens\": 64, "
                + "\"expandFraction\": 0.5, \"groupSize\": 3}");
        PolicyTrainingConfig p = ((PolicyTrainingTask) TrainingTask.read("policy", file)).config();
        assertEquals(new CorpusSource.Sampled(30, 64, 0), p.base().corpus(), "sampled when training starts, not read");
        assertEquals(new NextParagraph(64, NextParagraph.DEFAULT_TARGET_TOKENS, 0.5), p.samples());
        assertEquals(3, p.groupSize());
        Files.writeString(file, "{\"decoder\": \"dec\", \"encoder\": \"enc\", \"output\": \"out\"}");
        InvalidRequestException e = assertThrows(InvalidRequestException.class,
                () -> TrainingTask.read("cpt", file));
        assertTrue(e.getMessage().contains("give \"corpus\""), e.getMessage());
        Files.writeString(file, "{\"decoder\": \"dec\", \"encoder\": \"enc\", \"output\": \"out\", "
                + "\"corpus\": \"docs.txt\", \"trainig\": {\"steps\": 5}}");
        var typo = assertThrows(io.refrag.core.exception.RefragException.class,
                () -> TrainingTask.read("reconstruct", file));
        assertTrue(typo.getMessage().contains("unknown key 'trainig'; did you mean 'training'?"), typo.getMessage());
        Files.writeString(file, "{\"decoder\": \"dec\", \"encoder\": \"enc\", \"output\": \"out\", "
                + "\"corpus\": \"docs.txt\", \"groupSize\": 4}");
        typo = assertThrows(io.refrag.core.exception.RefragException.class, () -> TrainingTask.read("cpt", file));
        assertTrue(typo.getMessage().contains("unknown key 'groupSize'"), "a policy key in a CPT config: "
                + typo.getMessage());
        Files.writeString(file, "{\"decoder\": \"dec\", \"encoder\": \"enc\", \"output\": \"out\", "
                + "\"corpus\": \"docs.txt\", \"training\": {\"steps\": 4294967496}}");
        typo = assertThrows(io.refrag.core.exception.RefragException.class,
                () -> TrainingTask.read("reconstruct", file));
        assertTrue(typo.getMessage().contains("'steps' must be an integer in"), typo.getMessage());
        e = assertThrows(InvalidRequestException.class, () -> TrainingTask.read("bogus", file));
        assertTrue(e.getMessage().contains("allowed: reconstruct, cpt, policy"), e.getMessage());
    }

    @Test
    void jsonlCorpusNamesTheBadLine() throws Exception {
        Path f = tmp.resolve("c.jsonl");
        Files.write(f, List.of("{\"text\": \"one\"}", "{\"text\": \"two\"}"));
        assertEquals(List.of("one", "two"), TrainingCorpus.read(f).documents());
        Files.write(f, List.of("{\"text\": \"one\"}", "{\"body\": 3}"));
        InvalidRequestException e = assertThrows(InvalidRequestException.class, () -> TrainingCorpus.read(f));
        assertTrue(e.getMessage().contains("line 2"), e.getMessage());
        e = assertThrows(InvalidRequestException.class, () -> TrainingCorpus.read(tmp.resolve("missing.txt")));
        assertTrue(e.getMessage().contains("does not exist"), e.getMessage());
    }
}
