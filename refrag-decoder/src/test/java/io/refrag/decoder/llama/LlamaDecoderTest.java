package io.refrag.decoder.llama;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import io.refrag.core.checkpoint.SafetensorsCheckpoint;
import io.refrag.core.checkpoint.SafetensorsWriter;
import io.refrag.core.checkpoint.TensorDType;
import io.refrag.core.exception.ContextTooLongException;
import io.refrag.core.exception.InvalidRequestException;
import io.refrag.core.exception.ModelLoadException;
import io.refrag.core.generate.GenerationOptions;
import io.refrag.core.generate.GenerationResult;
import io.refrag.core.generate.Generator;
import io.refrag.core.model.DecoderInput;
import io.refrag.core.model.DecoderSession;
import io.refrag.core.model.ModelOptions;
import io.refrag.core.model.Precision;
import io.refrag.core.spi.Providers;
import io.refrag.core.tensor.Device;
import io.refrag.core.tensor.Devices;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Stream;

/** Tiny random LLaMA checkpoints checked against the float64 {@link NaiveLlama} reference. */
class LlamaDecoderTest {
    private static final ModelOptions CPU = new ModelOptions(Device.CPU, Precision.FP32);

    @TempDir
    Path tmp;

    static Stream<Arguments> variants() {
        return Stream.of(
                Arguments.of("mha-untied-f32", 4, false, false, false, TensorDType.F32),
                Arguments.of("gqa2-tied-f32", 2, true, false, false, TensorDType.F32),
                Arguments.of("mqa-bias-f16", 1, false, true, false, TensorDType.F16),
                Arguments.of("gqa2-llama3rope-bf16", 2, true, false, true, TensorDType.BF16));
    }

    private Path tiny(int kvHeads, boolean tied, boolean bias, boolean llama3, TensorDType dtype) {
        RandomLlamaCheckpoint b = RandomLlamaCheckpoint.builder()
                .shape(64, 32, 48, 2, 4, kvHeads).tied(tied).attentionBias(bias).dtype(dtype).maxPositions(4096)
                .seed(kvHeads * 31L + (tied ? 7 : 0));
        if (llama3) {
            b.llama3RopeScaling(8.0, 64);
        }
        return b.write(tmp.resolve("m"));
    }

    private static int[] randomIds(int n, int vocab, long seed) {
        Random r = new Random(seed);
        int[] ids = new int[n];
        for (int i = 0; i < n; i++) {
            ids[i] = r.nextInt(vocab);
        }
        return ids;
    }

    private static void assertClose(double[] expected, float[] actual, double tol, String what) {
        assertEquals(expected.length, actual.length, what + " length");
        double max = 0;
        for (int i = 0; i < expected.length; i++) {
            max = Math.max(max, Math.abs(expected[i] - actual[i]));
        }
        assertTrue(max < tol, what + ": max |diff| " + max + " >= " + tol);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("variants")
    void prefillAndCachedDecodeMatchTheFloat64Reference(
            String name, int kvHeads, boolean tied, boolean bias, boolean llama3, TensorDType dtype) {
        Path dir = tiny(kvHeads, tied, bias, llama3, dtype);
        int[] ids = randomIds(12, 64, 5);
        NaiveLlama naive = new NaiveLlama(dir);
        double[][] expected = naive.logits(naive.embed(ids));
        try (LlamaDecoder d = LlamaDecoder.load(dir, CPU); DecoderSession s = d.newSession(ids.length)) {
            // prefill the first 7 tokens, then feed the rest one by one through the KV cache
            float[] logits = s.prefill(DecoderInput.ofTokens(java.util.Arrays.copyOf(ids, 7)));
            assertClose(expected[6], logits, 1e-4, name + " prefill");
            for (int t = 7; t < ids.length; t++) {
                logits = s.decode(ids[t]);
                assertClose(expected[t], logits, 1e-4, name + " decode at " + t);
            }
            assertEquals(ids.length, s.position());
        }
    }

    @Test
    void thePackedAndFusedCpuPathGivesThePlainPathsLogitsForPrefillDecodeAndBatchedSteps() {
        Path dir = tiny(2, false, true, false, TensorDType.F32);
        int[] ids = randomIds(20, 64, 13);
        float[][] plain = stepLogits(dir, ids, "false");
        float[][] packed = stepLogits(dir, ids, "true");
        for (int t = 0; t < plain.length; t++) {
            assertArrayEquals(plain[t], packed[t], 1e-4f, "step " + t);
        }
    }

    /** Prefill of 8, 4 single decode steps, then 8 batched steps of three sessions; every logits row in order. */
    private static float[][] stepLogits(Path dir, int[] ids, String prepack) {
        String before = System.getProperty(Devices.PREPACK);
        System.setProperty(Devices.PREPACK, prepack);
        List<float[]> rows = new ArrayList<>();
        try (LlamaDecoder d = LlamaDecoder.load(dir, CPU)) {
            assertEquals(prepack.equals("true"), d.model().fusesDecodeSteps());
            List<DecoderSession> sessions = new ArrayList<>();
            for (int s = 0; s < 3; s++) {
                DecoderSession session = d.newSession(ids.length);
                rows.add(session.prefill(DecoderInput.ofTokens(java.util.Arrays.copyOf(ids, 4 + 2 * s))));
                sessions.add(session);
            }
            for (int t = 8; t < 12; t++) {
                rows.add(sessions.get(2).decode(ids[t]));
            }
            for (int t = 0; t < 8; t++) {
                rows.addAll(java.util.Arrays.asList(d.decodeBatch(sessions, new int[] {ids[t], ids[t + 1], ids[t + 2]})));
            }
            sessions.forEach(DecoderSession::close);
        } finally {
            if (before == null) {
                System.clearProperty(Devices.PREPACK);
            } else {
                System.setProperty(Devices.PREPACK, before);
            }
        }
        return rows.toArray(float[][]::new);
    }

    @Test
    void incrementalDecodingEqualsFullRecompute() {
        Path dir = tiny(2, false, false, false, TensorDType.F32);
        int[] ids = randomIds(40, 64, 9);
        try (LlamaDecoder d = LlamaDecoder.load(dir, CPU)) {
            float[][] incremental = new float[ids.length][];
            try (DecoderSession s = d.newSession(ids.length)) {
                incremental[0] = s.prefill(DecoderInput.ofTokens(ids[0]));
                for (int t = 1; t < ids.length; t++) {
                    incremental[t] = s.decode(ids[t]);
                }
            }
            for (int t = 0; t < ids.length; t++) {
                try (DecoderSession full = d.newSession(t + 1)) {
                    float[] recomputed = full.prefill(DecoderInput.ofTokens(java.util.Arrays.copyOf(ids, t + 1)));
                    assertArrayEquals(recomputed, incremental[t], 1e-5f, "position " + t);
                }
            }
        }
    }

    @Test
    void idsPathAndEmbeddingsPathGiveIdenticalLogits() {
        Path dir = tiny(2, true, false, false, TensorDType.F32);
        int[] ids = randomIds(10, 64, 3);
        try (LlamaDecoder d = LlamaDecoder.load(dir, CPU)) {
            float[][] rows = d.embedTokens(ids);
            float[] viaIds;
            float[] viaEmbeds;
            float[] mixed;
            try (DecoderSession s = d.newSession(ids.length)) {
                viaIds = s.prefill(DecoderInput.ofTokens(ids));
            }
            try (DecoderSession s = d.newSession(ids.length)) {
                viaEmbeds = s.prefill(DecoderInput.builder().embeddings(rows).build());
            }
            try (DecoderSession s = d.newSession(ids.length)) {
                mixed = s.prefill(DecoderInput.builder()
                        .tokens(java.util.Arrays.copyOf(ids, 3))
                        .embeddings(java.util.Arrays.copyOfRange(rows, 3, 7))
                        .tokens(java.util.Arrays.copyOfRange(ids, 7, 10)).build());
            }
            assertArrayEquals(viaIds, viaEmbeds, 0f);
            assertArrayEquals(viaIds, mixed, 0f);
        }
    }

    @Test
    void queryBlocksKeepTheScoreBoundAndEnoughRows() {
        for (int heads : new int[] {4, 16, 64}) {
            for (long total : new long[] {1, 100, 2048, 16_384, 131_072, 1 << 20}) {
                int seq = (int) total;
                int rows = LlamaAttention.blockRows(heads, seq, total);
                String what = heads + " heads, " + total + " positions: " + rows + " rows";
                assertTrue(rows >= 1 && rows <= seq, what);
                assertTrue(rows == 1 || rows * heads * total <= LlamaAttention.SCORE_BUDGET, what);
                if (seq >= LlamaAttention.MIN_BLOCK
                        && LlamaAttention.SCORE_BUDGET / (heads * total) >= LlamaAttention.MIN_BLOCK) {
                    assertTrue(rows >= LlamaAttention.MIN_BLOCK, what);
                }
            }
        }
    }

    @Test
    void blockwisePrefillOfALongPromptMatchesTheReference() {
        // 4 heads * 2100 positions: the prefill runs in several query blocks.
        Path dir = tiny(2, false, false, true, TensorDType.F32);
        int[] ids = randomIds(2100, 64, 11);
        assertTrue(LlamaAttention.blockRows(4, ids.length, ids.length) < 1000);
        NaiveLlama naive = new NaiveLlama(dir);
        try (LlamaDecoder d = LlamaDecoder.load(dir, CPU)) {
            float[] nll = d.tokenNll(DecoderInput.ofTokens(ids[0]), java.util.Arrays.copyOfRange(ids, 1, ids.length));
            try (DecoderSession s = d.newSession(ids.length)) {
                float[] last = s.prefill(DecoderInput.ofTokens(ids));
                double[][] expected = naive.logits(naive.embed(java.util.Arrays.copyOfRange(ids, 0, ids.length)));
                assertClose(expected[ids.length - 1], last, 2e-4, "last logits");
                // spot-check NLLs (log-softmax of the reference) at positions inside different blocks
                for (int t : new int[] {0, 1000, 2050, ids.length - 2}) {
                    double[] row = expected[t];
                    double max = java.util.Arrays.stream(row).max().orElseThrow();
                    double lse = max + Math.log(java.util.Arrays.stream(row).map(x -> Math.exp(x - max)).sum());
                    assertEquals(lse - row[ids[t + 1]], nll[t], 2e-4, "nll at " + t);
                }
            }
        }
    }

    @Test
    void aSharedPrefillGivesEachSessionTheLogitsAndCacheOfItsOwnPrefill() {
        Path dir = tiny(2, false, true, false, TensorDType.F32);
        int[] ids = randomIds(40, 64, 23);
        int[][] prompts = {java.util.Arrays.copyOf(ids, 9), java.util.Arrays.copyOfRange(ids, 9, 10),
            java.util.Arrays.copyOfRange(ids, 10, 31)};
        try (LlamaDecoder d = LlamaDecoder.load(dir, CPU)) {
            List<DecoderSession> alone = new ArrayList<>();
            List<DecoderSession> shared = new ArrayList<>();
            for (int s = 0; s < 3; s++) {
                alone.add(d.newSession(40));
                shared.add(d.newSession(40));
            }
            // the third session already holds 5 positions: its prompt continues its cache
            alone.get(2).prefill(DecoderInput.ofTokens(java.util.Arrays.copyOfRange(ids, 31, 36)));
            shared.get(2).prefill(DecoderInput.ofTokens(java.util.Arrays.copyOfRange(ids, 31, 36)));
            List<DecoderInput> inputs = new ArrayList<>();
            for (int s = 0; s < 3; s++) {
                inputs.add(DecoderInput.ofTokens(prompts[s]));
            }
            float[][] together = d.prefillBatch(shared, inputs);
            for (int s = 0; s < 3; s++) {
                assertArrayEquals(alone.get(s).prefill(inputs.get(s)), together[s], 1e-4f, "prefill of session " + s);
                assertEquals(alone.get(s).position(), shared.get(s).position());
            }
            for (int t = 0; t < 3; t++) { // the caches hold the same keys and values: decoding goes on alike
                int[] next = {ids[36 + t], ids[37], ids[t]};
                float[][] batched = d.decodeBatch(shared, next);
                for (int s = 0; s < 3; s++) {
                    assertArrayEquals(alone.get(s).decode(next[s]), batched[s], 1e-4f, "step " + t + " session " + s);
                }
            }
            InvalidRequestException e = assertThrows(InvalidRequestException.class,
                    () -> d.prefillBatch(shared, inputs.subList(0, 2)));
            assertTrue(e.getMessage().contains("one input per session, got 2 inputs for 3 sessions"), e.getMessage());
            alone.forEach(DecoderSession::close);
            shared.forEach(DecoderSession::close);
        }
    }

    @Test
    void aPrefillThatContinuesACacheAttendsThroughMaskedBlocksAsTheReferenceDoes() {
        // 300 positions, then 300 more (past = 300: two masked blocks of query rows), then 3 more; GQA with groups of 2
        Path dir = tiny(2, false, false, false, TensorDType.F32);
        int[] ids = randomIds(603, 64, 17);
        assertTrue(300 > SdpaAttention.MASKED_BLOCK);
        NaiveLlama naive = new NaiveLlama(dir);
        double[][] expected = naive.logits(naive.embed(ids));
        try (LlamaDecoder d = LlamaDecoder.load(dir, CPU); DecoderSession s = d.newSession(ids.length)) {
            assertClose(expected[299], s.prefill(DecoderInput.ofTokens(java.util.Arrays.copyOf(ids, 300))), 2e-4,
                    "first prefill");
            assertClose(expected[599], s.prefill(DecoderInput.ofTokens(java.util.Arrays.copyOfRange(ids, 300, 600))),
                    2e-4, "continuing prefill");
            assertClose(expected[602], s.prefill(DecoderInput.ofTokens(java.util.Arrays.copyOfRange(ids, 600, 603))),
                    2e-4, "a short continuation");
        }
    }

    @Test
    void forwardFreesEachLayersAndBlocksIntermediates() {
        Path dir = RandomLlamaCheckpoint.builder().shape(64, 32, 48, 6, 4, 2).maxPositions(4096).write(tmp.resolve("deep"));
        try (LlamaDecoder d = LlamaDecoder.load(dir, CPU); NDManager m = NDManager.newBaseManager()) {
            int[] ids = randomIds(2100, 64, 2); // several query blocks per layer
            NDArray embeds = d.model().embedTokens(m.create(ids));
            d.model().forward(embeds, null, 0);
            // ids, embeddings, cos/sin, final norm's few temporaries: nothing per layer or per block survives
            int live = m.getManagedArrays().size();
            assertTrue(live < 16, live + " arrays still live after a 6-layer blockwise forward");
        }
    }

    @Test
    void fp16ComputeStaysCloseToFp32() {
        Path dir = tiny(2, false, false, false, TensorDType.F16);
        int[] ids = randomIds(16, 64, 4);
        try (LlamaDecoder f32 = LlamaDecoder.load(dir, CPU);
                LlamaDecoder f16 = LlamaDecoder.load(dir, new ModelOptions(Device.CPU, Precision.FP16));
                DecoderSession a = f32.newSession(16);
                DecoderSession b = f16.newSession(16)) {
            assertArrayEquals(a.prefill(DecoderInput.ofTokens(ids)), b.prefill(DecoderInput.ofTokens(ids)), 3e-2f);
        }
    }

    @Test
    void gradientReachesInputEmbeddingsThroughFrozenWeights() {
        Path dir = tiny(2, false, false, false, TensorDType.F32);
        try (LlamaDecoder d = LlamaDecoder.load(dir, CPU); NDManager m = NDManager.newBaseManager()) {
            LlamaForCausalLM model = d.model();
            NDArray embeds = m.create(new RandomWeightsRows(6, 32, 2).values, new Shape(6, 32));
            embeds.setRequiresGradient(true);
            NDArray target = m.create(new int[] {3, 5, 7, 11, 13, 17});
            float loss0;
            try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                NDArray loss = crossEntropy(model, embeds, target);
                loss0 = loss.getFloat();
                gc.backward(loss);
            }
            float[] grad = embeds.getGradient().toFloatArray();
            double norm = 0;
            for (float g : grad) {
                assertTrue(Float.isFinite(g));
                norm += g * g;
            }
            assertTrue(norm > 1e-12, "gradient is zero");
            // central finite difference on the coordinate with the largest gradient
            int i = 0;
            for (int j = 1; j < grad.length; j++) {
                i = Math.abs(grad[j]) > Math.abs(grad[i]) ? j : i;
            }
            float eps = 1e-2f;
            float[] base = embeds.toFloatArray();
            float[] plus = base.clone();
            plus[i] += eps;
            float[] minus = base.clone();
            minus[i] -= eps;
            float lp = crossEntropy(model, m.create(plus, new Shape(6, 32)), target).getFloat();
            float lm = crossEntropy(model, m.create(minus, new Shape(6, 32)), target).getFloat();
            double fd = (lp - lm) / (2 * eps);
            assertEquals(fd, grad[i], Math.abs(fd) * 0.05 + 1e-5, "analytic vs finite-difference gradient");
            assertTrue(Float.isFinite(loss0));
        }
    }

    private static NDArray crossEntropy(LlamaForCausalLM model, NDArray embeds, NDArray target) {
        NDArray logp = model.logits(model.forward(embeds, null, 0)).logSoftmax(-1); // [6, vocab]
        return logp.gather(target.reshape(6, 1), 1).neg().mean();
    }

    /** Deterministic embedding rows on the 1/256 grid. */
    private static final class RandomWeightsRows {
        final float[] values;

        RandomWeightsRows(int rows, int width, long seed) {
            values = new io.refrag.core.testing.RandomWeights(seed).uniform(rows * width, 0.5);
        }
    }

    @Test
    void concurrentRequestsGiveTheSameResultsAsSequentialOnes() throws Exception {
        Path dir = tiny(2, false, false, false, TensorDType.F32);
        try (LlamaDecoder d = LlamaDecoder.load(dir, CPU)) {
            List<int[]> prompts = new ArrayList<>();
            for (int i = 0; i < 8; i++) {
                prompts.add(randomIds(5 + i, 64, 100 + i));
            }
            GenerationOptions opts = GenerationOptions.builder().optMaxNewTokens(20).optTemperature(0.8f).optSeed(42)
                    .optStopTokenIds().build();
            List<int[]> sequential = new ArrayList<>();
            for (int[] p : prompts) {
                sequential.add(Generator.generate(d, DecoderInput.ofTokens(p), opts, System.nanoTime()).tokenIds());
            }
            ExecutorService pool = Executors.newFixedThreadPool(4);
            try {
                List<Future<GenerationResult>> futures = new ArrayList<>();
                for (int[] p : prompts) {
                    futures.add(pool.submit(() -> Generator.generate(d, DecoderInput.ofTokens(p), opts, System.nanoTime())));
                }
                for (int i = 0; i < prompts.size(); i++) {
                    assertArrayEquals(sequential.get(i), futures.get(i).get().tokenIds(), "prompt " + i);
                }
            } finally {
                pool.shutdown();
            }
            assertEquals(0, d.openSessionCount());
        }
    }

    @Test
    void requestsAndDecodeStepsLeaveNoArraysBehind() {
        Path dir = tiny(2, false, false, false, TensorDType.F32);
        try (LlamaDecoder d = LlamaDecoder.load(dir, CPU)) {
            int weights = d.liveArrayCount();
            try (DecoderSession s = d.newSession(64)) {
                s.prefill(DecoderInput.ofTokens(1, 2, 3));
                s.decode(4);
                int afterFirstStep = d.liveArrayCount();
                for (int i = 0; i < 50; i++) {
                    s.decode(5 + i % 50);
                }
                assertEquals(afterFirstStep, d.liveArrayCount(), "decode steps must not accumulate arrays");
            }
            for (int i = 0; i < 20; i++) {
                Generator.generate(d, DecoderInput.ofTokens(1, 5, 9), GenerationOptions.builder().optMaxNewTokens(8)
                        .build(), System.nanoTime());
                d.tokenNll(DecoderInput.ofTokens(1), new int[] {4, 5, 6});
                d.embedTokens(new int[] {1, 2});
            }
            assertEquals(weights, d.liveArrayCount(), "arrays left after requests");
            assertEquals(0, d.openSessionCount());
        }
    }

    @Test
    void generationRespectsMaxNewTokensStopTokensAndContextLimit() {
        Path dir = RandomLlamaCheckpoint.builder().maxPositions(16).write(tmp.resolve("short"));
        try (LlamaDecoder d = LlamaDecoder.load(dir, CPU)) {
            GenerationResult r = Generator.generate(d, DecoderInput.ofTokens(1, 2, 3),
                    GenerationOptions.builder().optMaxNewTokens(5).optStopTokenIds().build(), System.nanoTime());
            assertEquals(5, r.generatedTokens());
            assertEquals(io.refrag.core.generate.FinishReason.LENGTH, r.finishReason());
            assertTrue(r.metrics().ttftMillis() > 0 && r.metrics().ttitMillis() > 0);

            List<Integer> streamed = new ArrayList<>();
            StringBuilder text = new StringBuilder();
            GenerationResult s = Generator.generate(d, DecoderInput.ofTokens(1, 2, 3), GenerationOptions.builder()
                    .optMaxNewTokens(5).optStopTokenIds().optListener((id, delta) -> {
                        streamed.add(id);
                        text.append(delta);
                    }).build(), System.nanoTime());
            assertArrayEquals(s.tokenIds(), streamed.stream().mapToInt(Integer::intValue).toArray());
            assertEquals(s.text(), text.toString());

            int first = r.tokenIds()[0];
            GenerationResult stopped = Generator.generate(d, DecoderInput.ofTokens(1, 2, 3),
                    GenerationOptions.builder().optMaxNewTokens(5).optStopTokenIds(first).build(), System.nanoTime());
            assertEquals(io.refrag.core.generate.FinishReason.STOP, stopped.finishReason());
            assertArrayEquals(new int[] {first}, stopped.tokenIds());

            GenerationResult limited = Generator.generate(d, DecoderInput.ofTokens(1, 2, 3),
                    GenerationOptions.builder().optMaxNewTokens(100).optStopTokenIds().build(), System.nanoTime());
            assertEquals(io.refrag.core.generate.FinishReason.CONTEXT_LIMIT, limited.finishReason());
            assertEquals(16 - 3 + 1, limited.generatedTokens());

            assertThrows(ContextTooLongException.class, () -> Generator.generate(d, DecoderInput.ofTokens(new int[17]),
                    GenerationOptions.defaults(), System.nanoTime()));
        }
    }

    @Test
    void generationConfigOverridesTheEosTokens() throws Exception {
        Path dir = tiny(2, false, false, false, TensorDType.F32);
        try (LlamaDecoder d = LlamaDecoder.load(dir, CPU)) {
            assertArrayEquals(new int[] {2}, d.info().eosTokenIds());
        }
        Files.writeString(dir.resolve("generation_config.json"), "{\"bos_token_id\": 1, \"eos_token_id\": [7, 9]}");
        try (LlamaDecoder d = LlamaDecoder.load(dir, CPU)) {
            assertArrayEquals(new int[] {7, 9}, d.info().eosTokenIds());
        }
    }

    @Test
    void badInputsAreRejectedWithSpecificMessages() {
        Path dir = tiny(2, false, false, false, TensorDType.F32);
        try (LlamaDecoder d = LlamaDecoder.load(dir, CPU)) {
            var e1 = assertThrows(InvalidRequestException.class, () -> d.embedTokens(new int[] {64}));
            assertTrue(e1.getMessage().contains("outside the vocabulary [0, 64)"), e1.getMessage());
            try (DecoderSession s = d.newSession(4)) {
                var e2 = assertThrows(InvalidRequestException.class,
                        () -> s.prefill(DecoderInput.builder().embeddings(new float[][] {new float[31]}).build()));
                assertTrue(e2.getMessage().contains("hidden size is 32"), e2.getMessage());
                var e3 = assertThrows(ContextTooLongException.class, () -> s.prefill(DecoderInput.ofTokens(1, 2, 3, 4, 5)));
                assertEquals(5, e3.requested());
            }
            assertThrows(InvalidRequestException.class, () -> d.newSession(5000));
            assertThrows(InvalidRequestException.class, () -> DecoderInput.builder().build());
        }
    }

    @Test
    void checkpointProblemsNameTheTensorOrFile() throws Exception {
        var missingDir = assertThrows(ModelLoadException.class,
                () -> LlamaDecoder.load(tmp.resolve("nope"), CPU));
        assertTrue(missingDir.getMessage().contains("nope"), missingDir.getMessage());

        Path dir = tiny(2, false, false, false, TensorDType.F32);
        Path weights = dir.resolve("model.safetensors");
        SafetensorsWriter w = new SafetensorsWriter();
        try (SafetensorsCheckpoint c = SafetensorsCheckpoint.openFile(weights)) {
            for (String n : c.names()) {
                if (!n.equals("model.norm.weight")) {
                    w.add(n, c.readFloats(n), c.info(n).shape());
                }
            }
            w.add("model.norm.weight", new float[31], 31);
        }
        Path bad = Files.createDirectories(tmp.resolve("bad"));
        for (String f : new String[] {"config.json", "tokenizer.json"}) {
            Files.copy(dir.resolve(f), bad.resolve(f));
        }
        w.write(bad.resolve("model.safetensors"));
        var shape = assertThrows(ModelLoadException.class, () -> LlamaDecoder.load(bad, CPU));
        assertTrue(shape.getMessage().contains("'model.norm.weight' has shape [31]")
                && shape.getMessage().contains("[32]"), shape.getMessage());

        w.add("model.norm.weight", new float[32], 32).add("model.extra.weight", new float[2], 2);
        w.write(bad.resolve("model.safetensors"));
        var extra = assertThrows(ModelLoadException.class, () -> LlamaDecoder.load(bad, CPU));
        assertTrue(extra.getMessage().contains("model.extra.weight"), extra.getMessage());

        Files.writeString(bad.resolve("config.json"),
                Files.readString(dir.resolve("config.json")).replace("\"llama\"", "\"gpt2\""));
        var unknown = assertThrows(ModelLoadException.class, () -> Providers.loadDecoder(bad, CPU));
        assertTrue(unknown.getMessage().contains("'gpt2'") && unknown.getMessage().contains("llama"),
                unknown.getMessage());

        Files.delete(dir.resolve("model.safetensors"));
        var noWeights = assertThrows(ModelLoadException.class, () -> LlamaDecoder.load(dir, CPU));
        assertTrue(noWeights.getMessage().contains("model.safetensors"), noWeights.getMessage());
    }

    @Test
    void shardedCheckpointsLoadThroughTheIndex() throws Exception {
        Path dir = tiny(2, false, false, false, TensorDType.F32);
        Path sharded = Files.createDirectories(tmp.resolve("sharded"));
        Files.copy(dir.resolve("config.json"), sharded.resolve("config.json"));
        Files.copy(dir.resolve("tokenizer.json"), sharded.resolve("tokenizer.json"));
        SafetensorsWriter a = new SafetensorsWriter();
        SafetensorsWriter b = new SafetensorsWriter();
        StringBuilder map = new StringBuilder("{\"metadata\":{},\"weight_map\":{");
        try (SafetensorsCheckpoint c = SafetensorsCheckpoint.openFile(dir.resolve("model.safetensors"))) {
            int i = 0;
            for (String n : c.names()) {
                boolean first = i++ % 2 == 0;
                (first ? a : b).add(n, c.readFloats(n), c.info(n).shape());
                map.append(i > 1 ? "," : "").append('"').append(n).append("\":\"model-0000")
                        .append(first ? 1 : 2).append("-of-00002.safetensors\"");
            }
        }
        a.write(sharded.resolve("model-00001-of-00002.safetensors"));
        b.write(sharded.resolve("model-00002-of-00002.safetensors"));
        Files.writeString(sharded.resolve("model.safetensors.index.json"), map.append("}}").toString());
        int[] ids = randomIds(8, 64, 1);
        try (LlamaDecoder one = LlamaDecoder.load(dir, CPU); LlamaDecoder two = LlamaDecoder.load(sharded, CPU);
                DecoderSession s1 = one.newSession(8); DecoderSession s2 = two.newSession(8)) {
            assertArrayEquals(s1.prefill(DecoderInput.ofTokens(ids)), s2.prefill(DecoderInput.ofTokens(ids)), 0f);
        }
    }
}
