package io.refrag.bench.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.refrag.core.Refrag;
import io.refrag.core.RefragManifest;
import io.refrag.core.RefragOptions;
import io.refrag.core.RefragRequest;
import io.refrag.core.RefragResult;
import io.refrag.core.checkpoint.AtomicFiles;
import io.refrag.core.checkpoint.SafetensorsCheckpoint;
import io.refrag.core.checkpoint.SafetensorsWriter;
import io.refrag.core.generate.GenerationOptions;
import io.refrag.core.lora.LoraAdapter;
import io.refrag.core.lora.LoraConfig;
import io.refrag.core.model.CausalDecoder;
import io.refrag.core.model.ModelOptions;
import io.refrag.core.model.Pooling;
import io.refrag.core.model.Precision;
import io.refrag.core.spi.Providers;
import io.refrag.core.testing.SharedModels;
import io.refrag.train.ContinualPretrainingConfig;
import io.refrag.train.ContinualPretrainingTask;
import io.refrag.train.Curriculum;
import io.refrag.train.NextParagraph;
import io.refrag.train.PolicyTrainingConfig;
import io.refrag.train.PolicyTrainingTask;
import io.refrag.train.ReconstructionConfig;
import io.refrag.train.ReconstructionTask;
import io.refrag.train.TrainingConfig;
import io.refrag.core.corpus.TrainingCorpus;
import io.refrag.train.TrainingListener;
import io.refrag.train.TrainingOptions;
import io.refrag.train.TrainingResult;
import io.refrag.core.tensor.Device;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * The fine-tuning hooks on the shared stories260K decoder and all-MiniLM-L6-v2 encoder: reconstruction with the
 * curriculum on corpus_small, then CPT from the reconstruction checkpoint and GRPO policy training from the CPT
 * checkpoint on a corpus sampled from stories260K itself (in-domain, so the full context is a real upper bound for the
 * compressed one), resume after a crash, and trainable encoder/decoder checkpoints. Prints every measured NLL
 * (baselines included) for the record.
 */
class TrainingIT {
    private static final ModelOptions CPU = new ModelOptions(Device.CPU, Precision.FP32);

    @TempDir
    static Path shared;

    private static TrainingCorpus passages;
    private static TrainingCorpus stories;
    private static TrainingResult withCurriculum;
    private static TrainingResult cpt;
    private static TrainingResult policy;

    static TrainingConfig.Builder base(Path output, TrainingCorpus corpus) {
        return TrainingConfig.builder()
                .setDecoder(SharedModels.stories())
                .setEncoder(SharedModels.miniLm())
                .setOutput(output)
                .setCorpus(corpus)
                .optHeldOutDocuments(20)
                .optEvalSamples(64)
                .optK(8)
                .optPooling(Pooling.CLS)
                .optDevice(Device.CPU);
    }

    /** s = 64 context tokens, o = 32 targets, p = 0.25. */
    private static final NextParagraph PARAGRAPHS = new NextParagraph(64, 32, 0.25);

    @BeforeAll
    static void train() throws Exception {
        passages = TrainingCorpus.read(SharedModels.path("data/corpus_small.txt"));
        try (CausalDecoder decoder = Providers.loadDecoder(SharedModels.stories(), CPU)) {
            stories = TrainingCorpus.sample(decoder, 100, 256, 0);
        }
        TrainingOptions reconstruction = TrainingOptions.builder().optSteps(1000).optBatchSize(8)
                .optLearningRate(1e-2).optWarmupSteps(20).optSeed(1).build();
        withCurriculum = new ReconstructionTask(new ReconstructionConfig(base(shared.resolve("reconstruct"), passages)
                .optOptions(reconstruction).build(), 8, new Curriculum(8, 9, 2.0, 64), false))
                .run(TrainingListener.none());
        System.out.println("reconstruct   " + withCurriculum.summary());
        cpt = new ContinualPretrainingTask(new ContinualPretrainingConfig(base(shared.resolve("cpt"), stories)
                .optInitFrom(shared.resolve("reconstruct"))
                .optOptions(TrainingOptions.builder().optSteps(300).optBatchSize(8).optLearningRate(3e-3)
                        .optSeed(2).build()).build(), PARAGRAPHS, false, false)).run(TrainingListener.none());
        System.out.println("cpt           " + cpt.summary());
        policy = new PolicyTrainingTask(PolicyTrainingConfig.defaults(base(shared.resolve("policy"), stories)
                .optInitFrom(shared.resolve("cpt"))
                .optOptions(TrainingOptions.builder().optSteps(100).optBatchSize(4).optLearningRate(1e-3)
                        .optSeed(3).build()).build(), PARAGRAPHS)).run(TrainingListener.none());
        System.out.println("policy        " + policy.summary());
    }

    @Test
    void reconstructionCarriesTheChunksIntoTheFrozenDecoder() {
        double before = withCurriculum.heldOutNll().get("before");
        double after = withCurriculum.heldOutNll().get("after");
        assertTrue(after < 0.7 * before, "trained projector NLL " + after + " vs untrained " + before);
        assertTrue(after < withCurriculum.heldOutNll().get("no-context"), "reconstruction must beat the LM prior");
    }

    @Test
    void cptLowersHeldOutNllToBetweenNoContextAndFullContext() {
        double after = cpt.heldOutNll().get("after");
        assertTrue(after < cpt.heldOutNll().get("before"), cpt.summary());
        assertTrue(after < cpt.heldOutNll().get("no-context"), cpt.summary());
        assertTrue(after > cpt.heldOutNll().get("full-context"), cpt.summary());
    }

    @Test
    void trainedPolicyBeatsRandomExpansion() {
        double after = policy.heldOutNll().get("after");
        assertTrue(after < policy.heldOutNll().get("random"), policy.summary());
        assertTrue(after < policy.heldOutNll().get("before"), policy.summary());
    }

    @Test
    void trainedFoldersServeThroughThePipeline() {
        for (String folder : List.of("reconstruct", "cpt", "policy")) {
            try (Refrag refrag = Refrag.load(shared.resolve(folder), CPU)) {
                RefragResult r = refrag.generate(RefragRequest.of("Which river does City_0 lie on?",
                        passages.documents().subList(0, 2)), RefragOptions.builder().optK(8).optExpansionFraction(0.25)
                        .optGeneration(GenerationOptions.builder().optMaxNewTokens(4).build()).build());
                assertEquals(4, r.generation().generatedTokens(), folder);
            }
        }
    }

    @Test
    void resumeAfterACrashEqualsAnUninterruptedRun(@TempDir Path tmp) throws Exception {
        TrainingOptions six = TrainingOptions.builder().optSteps(6).optBatchSize(2).optCheckpointEvery(3)
                .optSeed(5).build();
        new ReconstructionTask(new ReconstructionConfig(base(tmp.resolve("straight"), passages).optEvalSamples(2)
                .optOptions(six).build(), 2, Curriculum.standard(2), false)).run(TrainingListener.none());
        ReconstructionTask crashing = new ReconstructionTask(new ReconstructionConfig(base(tmp.resolve("resumed"),
                passages).optEvalSamples(2).optOptions(six).optResume(true).build(), 2, Curriculum.standard(2), false));
        assertThrows(IllegalStateException.class, () -> crashing.run(r -> {
            if (r.step() == 4) {
                throw new IllegalStateException("simulated crash after the step-3 checkpoint");
            }
        }));
        Path leftover = tmp.resolve("resumed/" + AtomicFiles.TEMP_PREFIX + "projector.safetensors42.tmp");
        Files.writeString(leftover, "half a file");
        crashing.run(TrainingListener.none());
        assertFalse(Files.exists(leftover), "resume removes the temporary files a crash left");
        for (String name : List.of("fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias")) {
            assertArrayEquals(read(tmp.resolve("straight/projector.safetensors"), name),
                    read(tmp.resolve("resumed/projector.safetensors"), name), name);
        }
        // a state file whose step is beyond the run, or not a number, is refused instead of resumed silently
        Path state = tmp.resolve("resumed/trainer-state.safetensors");
        for (String step : List.of("999", "abc")) {
            SafetensorsWriter w = new SafetensorsWriter().metadata("refrag.task", "reconstruct")
                    .metadata("refrag.step", step);
            try (SafetensorsCheckpoint c = SafetensorsCheckpoint.openFile(state)) {
                for (String name : c.names()) {
                    w.add(name, c.readFloats(name), c.info(name).shape());
                }
            }
            w.write(state);
            var e = assertThrows(io.refrag.core.exception.ModelLoadException.class,
                    () -> crashing.run(TrainingListener.none()));
            assertTrue(e.getMessage().contains("refrag.step must be a whole number in [0, 6]"), e.getMessage());
        }
        // a saved tensor with flipped bytes fails its checksum instead of resuming silently
        String damaged;
        Path straightState = tmp.resolve("straight/trainer-state.safetensors");
        try (SafetensorsCheckpoint c = SafetensorsCheckpoint.openFile(straightState)) {
            damaged = c.names().stream().filter(n -> n.startsWith("param.")).sorted().findFirst().orElseThrow();
            SafetensorsWriter w = new SafetensorsWriter();
            c.metadata().forEach(w::metadata);
            w.metadata("refrag.step", "3");
            for (String name : c.names()) {
                float[] v = c.readFloats(name);
                if (name.equals(damaged)) {
                    v[7] = Float.intBitsToFloat(Float.floatToRawIntBits(v[7]) ^ 0x10);
                }
                w.add(name, v, c.info(name).shape());
            }
            w.write(state);
        }
        var flipped = assertThrows(io.refrag.core.exception.ModelLoadException.class,
                () -> crashing.run(TrainingListener.none()));
        assertTrue(flipped.getMessage().contains("'" + damaged + "'") && flipped.getMessage()
                .contains("does not match its checksum"), flipped.getMessage());
    }

    @Test
    void divergenceStopsTrainingWithoutExportingNonFiniteWeights(@TempDir Path tmp) {
        TrainingOptions wild = TrainingOptions.builder().optSteps(30).optBatchSize(2).optLearningRate(1e12)
                .optWarmupSteps(0).optMaxGradNorm(1e30).optSeed(9).build();
        ReconstructionTask task = new ReconstructionTask(new ReconstructionConfig(base(tmp.resolve("out"), passages)
                .optEvalSamples(2).optOptions(wild).build(), 2, null, false));
        var e = assertThrows(io.refrag.core.exception.RefragException.class, () -> task.run(TrainingListener.none()));
        assertTrue(e.getMessage().contains("training diverged"), e.getMessage());
        assertFalse(Files.exists(tmp.resolve("out/projector.safetensors")), "nothing non-finite was exported");
    }

    @Test
    void cptTrainsThroughSamplesWhoseEveryChunkIsExpanded(@TempDir Path tmp) {
        TrainingOptions three = TrainingOptions.builder().optSteps(3).optBatchSize(2).optSeed(15).build();
        TrainingResult r = new ContinualPretrainingTask(new ContinualPretrainingConfig(base(tmp.resolve("out"),
                stories).optEvalSamples(2).optOptions(three).build(), new NextParagraph(16, 8, 1.0), false, true))
                .run(TrainingListener.none());
        assertEquals(3, r.steps());
        assertTrue(Double.isFinite(r.finalLoss()), "loss " + r.finalLoss());
        assertFalse(java.util.Arrays.equals(
                read(SharedModels.stories().resolve("model.safetensors"), "model.norm.weight"),
                read(tmp.resolve("out/decoder/model.safetensors"), "model.norm.weight")),
                "the decoder trains on fully expanded samples");
    }

    @Test
    void trainableEncoderAndDecoderAreSavedAsLoadableCheckpoints(@TempDir Path tmp) {
        TrainingOptions two = TrainingOptions.builder().optSteps(2).optBatchSize(1).optSeed(7).build();
        new ContinualPretrainingTask(new ContinualPretrainingConfig(base(tmp.resolve("out"), stories).optEvalSamples(1)
                .optOptions(two).build(), new NextParagraph(16, 8, 0.25), true, true)).run(TrainingListener.none());
        Path out = tmp.resolve("out");
        assertTrue(Files.isRegularFile(out.resolve("decoder/config.json")));
        assertTrue(Files.isRegularFile(out.resolve("encoder/tokenizer.json")));
        float[] original = read(SharedModels.stories().resolve("model.safetensors"), "model.layers.0.self_attn.q_proj.weight");
        float[] trained = read(out.resolve("decoder/model.safetensors"), "model.layers.0.self_attn.q_proj.weight");
        assertEquals(original.length, trained.length);
        assertFalse(java.util.Arrays.equals(original, trained), "decoder weights must have trained");
        try (Refrag refrag = Refrag.load(out, CPU)) {
            RefragResult r = refrag.generate(RefragRequest.of("Who?", stories.documents().subList(0, 1)),
                    RefragOptions.builder().optK(8).optGeneration(GenerationOptions.builder().optMaxNewTokens(2)
                            .build()).build());
            assertEquals(2, r.generation().generatedTokens());
        }
    }

    @Test
    void loraAdaptersTrainForEncoderAndDecoderAndTheFolderServesThem(@TempDir Path tmp) throws Exception {
        TrainingOptions three = TrainingOptions.builder().optSteps(3).optBatchSize(2).optLearningRate(1e-2).optSeed(7)
                .build();
        Path out = tmp.resolve("out");
        new ContinualPretrainingTask(new ContinualPretrainingConfig(base(out, stories).optEvalSamples(1)
                .optOptions(three)
                .optEncoderLora(LoraConfig.of(4, 8, 0, List.of("query", "value")))
                .optDecoderLora(LoraConfig.of(4, 8, 0, List.of("q_proj", "v_proj", "down_proj")))
                .build(), new NextParagraph(16, 8, 0.25), true, true)).run(TrainingListener.none());
        assertFalse(Files.exists(out.resolve("encoder")), "adapters train, not the encoder's weights");
        assertFalse(Files.exists(out.resolve("decoder")));
        RefragManifest m = RefragManifest.read(out);
        assertEquals(out.resolve("encoder-adapter"), m.encoderAdapter());
        assertEquals(out.resolve("decoder-adapter"), m.decoderAdapter());
        assertEquals(SharedModels.miniLm().toAbsolutePath().normalize(), m.encoder().toAbsolutePath().normalize());
        try (SafetensorsCheckpoint c = SafetensorsCheckpoint.openFile(out.resolve("encoder-adapter")
                .resolve(LoraAdapter.WEIGHTS_FILE))) {
            float[] b = c.readFloats("base_model.model.encoder.layer.0.attention.self.query.lora_B.weight");
            boolean moved = false;
            for (float v : b) {
                moved |= v != 0;
            }
            assertTrue(moved, "B moved from zero");
            assertEquals(6 * 2 * 2, c.names().size(), "6 layers x (query, value) x (A, B)");
        }
        assertTrue(Files.readString(out.resolve("decoder-adapter").resolve(LoraAdapter.CONFIG_FILE))
                .contains("\"peft_type\":\"LORA\""));
        RefragRequest request = RefragRequest.of("Who?", stories.documents().subList(0, 1));
        RefragOptions options = RefragOptions.builder().optK(8).optUseCache(false).optGeneration(
                GenerationOptions.builder().optMaxNewTokens(8).build()).build();
        try (Refrag merged = Refrag.load(out, CPU);
                Refrag unmerged = Refrag.open(m, CPU.withUnmergedAdapter(true));
                Refrag without = Refrag.open(m.withAdapters(null, null), CPU)) {
            RefragResult a = merged.generate(request, options);
            assertEquals(a.text(), unmerged.generate(request, options).text(), "merged = unmerged");
            assertEquals(8, a.generation().generatedTokens());
            float[][] adapted = merged.embed(List.of("Once upon a time"));
            float[][] base = without.embed(List.of("Once upon a time"));
            assertFalse(java.util.Arrays.equals(adapted[0], base[0]), "the encoder adapters load and change it");
        }
    }

    @Test
    void loraTrainingWithDropoutRepeatsBitForBit(@TempDir Path tmp) throws Exception {
        TrainingOptions three = TrainingOptions.builder().optSteps(3).optBatchSize(2).optLearningRate(1e-2).optSeed(8)
                .build();
        for (String run : List.of("first", "second")) {
            new ContinualPretrainingTask(new ContinualPretrainingConfig(base(tmp.resolve(run), stories)
                    .optEvalSamples(1).optOptions(three)
                    .optEncoderLora(LoraConfig.of(4, 8, 0.3, List.of("query", "value")))
                    .build(), new NextParagraph(16, 8, 0), true, false)).run(TrainingListener.none());
        }
        for (String file : List.of("projector.safetensors", "encoder-adapter/" + LoraAdapter.WEIGHTS_FILE)) {
            assertArrayEquals(Files.readAllBytes(tmp.resolve("first").resolve(file)),
                    Files.readAllBytes(tmp.resolve("second").resolve(file)), file + ": the same seed, the same bytes");
        }
    }

    private static float[] read(Path file, String tensor) {
        try (SafetensorsCheckpoint c = SafetensorsCheckpoint.openFile(file)) {
            return c.readFloats(tensor);
        }
    }
}
