package io.refrag.bench;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.refrag.core.Refrag;
import io.refrag.core.RefragManifest;
import io.refrag.core.RefragOptions;
import io.refrag.core.RefragRequest;
import io.refrag.core.RefragResult;
import io.refrag.core.cache.LruChunkCache;
import io.refrag.core.model.Chunk;
import io.refrag.core.chunk.ChunkEmbedder;
import io.refrag.core.chunk.Chunker;
import io.refrag.core.exception.ContextTooLongException;
import io.refrag.core.exception.InvalidRequestException;
import io.refrag.core.generate.GenerationOptions;
import io.refrag.core.generate.GenerationResult;
import io.refrag.core.generate.Generator;
import io.refrag.core.model.DecoderInput;
import io.refrag.core.model.ModelOptions;
import io.refrag.core.model.Pooling;
import io.refrag.core.model.Precision;
import io.refrag.core.spi.Providers;
import io.refrag.core.testing.SharedModels;
import io.refrag.decoder.llama.LlamaDecoder;
import io.refrag.encoder.BertChunkEncoder;
import io.refrag.encoder.MlpProjector;
import io.refrag.core.tensor.Device;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/** The pipeline end to end on the shared stories260K decoder and all-MiniLM-L6-v2 encoder. */
class RefragPipelineIT {
    private static final ModelOptions CPU = new ModelOptions(Device.CPU, Precision.FP32);
    private static final List<String> PASSAGES = List.of(
            "Lily went to the park with her mom. She saw a big red ball under a tree.",
            "Tom had a small dog named Max. Max liked to run and jump in the grass all day.",
            "The sun was hot, so the children sat in the shade and ate cold ice cream.");
    private static final String QUESTION = "What did Lily see in the park?";

    private static LlamaDecoder decoder;
    private static BertChunkEncoder encoder;
    private static MlpProjector projector;
    private static Refrag refrag;

    @TempDir
    Path tmp;

    @BeforeAll
    static void load() {
        decoder = LlamaDecoder.load(SharedModels.stories(), CPU);
        encoder = BertChunkEncoder.load(SharedModels.miniLm(), CPU, Pooling.CLS);
        projector = MlpProjector.create(384, 64, true, MlpProjector.ProjectorActivation.GELU, 0, CPU);
        refrag = Refrag.builder().setDecoder(decoder).optEncoder(encoder).optProjector(projector)
                .optCache(new LruChunkCache(10_000)).build();
    }

    @AfterAll
    static void close() {
        refrag.close();
    }

    private static GenerationOptions greedy(int n) {
        return GenerationOptions.builder().optMaxNewTokens(n).optStopTokenIds().build();
    }

    private static int[] tokens(String text) {
        return decoder.tokenizer().encode(text).ids();
    }

    @Test
    void fullContextModeIsExactlyThePlainDecoderBaselineAndNeedsNoEncoder() {
        RefragOptions full = RefragOptions.builder().optFullContext(true).optGeneration(greedy(30)).build();
        DecoderInput.Builder expected = DecoderInput.builder().tokens(decoder.info().bosTokenId()).tokens(tokens("Context:\n"));
        PASSAGES.forEach(p -> expected.tokens(tokens(p)));
        DecoderInput plain = expected.tokens(tokens("\n\nQuestion: " + QUESTION + "\nAnswer:")).build();
        GenerationResult baseline = Generator.generate(decoder, plain, greedy(30), System.nanoTime());
        RefragResult r = refrag.generate(RefragRequest.of(QUESTION, PASSAGES), full);
        assertArrayEquals(baseline.tokenIds(), r.generation().tokenIds());
        assertEquals(plain.length(), r.decoderInputLength());
        assertEquals(r.fullContextTokens(), r.decoderInputLength());
        assertEquals(r.totalChunks(), r.expandedChunks());
        try (LlamaDecoder own = LlamaDecoder.load(SharedModels.stories(), CPU);
                Refrag noEncoder = Refrag.builder().setDecoder(own).build()) {
            assertArrayEquals(baseline.tokenIds(), noEncoder.generate(RefragRequest.of(QUESTION, PASSAGES), full)
                    .generation().tokenIds());
            var e = assertThrows(InvalidRequestException.class, () -> noEncoder.generate(
                    RefragRequest.of(QUESTION, PASSAGES), RefragOptions.builder().build()));
            assertTrue(e.getMessage().contains("chunk encoder"), e.getMessage());
        }
    }

    @Test
    void compressingEveryChunkShortensTheDecoderInputByAboutK() {
        for (int k : new int[] {8, 16}) {
            RefragResult r = refrag.generate(RefragRequest.of(QUESTION, PASSAGES),
                    RefragOptions.builder().optK(k).optGeneration(greedy(4)).build());
            int passageTokens = PASSAGES.stream().mapToInt(p -> tokens(p).length).sum();
            int chunks = PASSAGES.stream().mapToInt(p -> (tokens(p).length + k - 1) / k).sum();
            assertEquals(chunks, r.totalChunks());
            assertEquals(0, r.expandedChunks());
            assertEquals(r.fullContextTokens() - passageTokens + chunks, r.decoderInputLength());
            double contextRatio = (double) passageTokens / chunks;
            assertTrue(contextRatio > k * 0.7 && contextRatio <= k, "context shrinks ~k-fold: " + contextRatio);
        }
    }

    @Test
    void expandedChunksAreFedAsTheirExactTokensInDocumentOrder() {
        int chunks = new Chunker(decoder.tokenizer()).chunk(PASSAGES, 8).size();
        RefragOptions all = RefragOptions.builder().optK(8).optChunkBudget(chunks).optPolicy("random")
                .optGeneration(greedy(20)).build();
        RefragResult expandedAll = refrag.generate(RefragRequest.of(QUESTION, PASSAGES), all);
        RefragResult full = refrag.generate(RefragRequest.of(QUESTION, PASSAGES),
                all.toBuilder().optFullContext(true).build());
        assertArrayEquals(full.generation().tokenIds(), expandedAll.generation().tokenIds());
        RefragResult allPolicy = refrag.generate(RefragRequest.of(QUESTION, PASSAGES), RefragOptions.builder().optK(8)
                .optPolicy("all").optGeneration(greedy(20)).build()); // p = 0: "all" ignores the budget
        assertEquals(chunks, allPolicy.expandedChunks());
        assertArrayEquals(full.generation().tokenIds(), allPolicy.generation().tokenIds());

        RefragOptions half = RefragOptions.builder().optK(8).optExpansionFraction(0.5).optPolicy("random")
                .optGeneration(greedy(20).toBuilder().optSeed(3).build()).build();
        RefragResult r = refrag.generate(RefragRequest.of(QUESTION, PASSAGES), half);
        assertEquals(Math.round(0.5 * chunks), r.expandedChunks());
        // rebuild the mixed input by hand from the decisions
        List<Chunk> cs = new Chunker(decoder.tokenizer()).chunk(PASSAGES, 8);
        float[][] rows = new ChunkEmbedder(encoder, projector, null)
                .embed(cs.stream().map(Chunk::text).toList(), false).rows();
        DecoderInput.Builder in = DecoderInput.builder().tokens(decoder.info().bosTokenId()).tokens(tokens("Context:\n"));
        for (int i = 0; i < cs.size(); i++) {
            if (r.decisions().get(i).expanded()) {
                in.tokens(cs.get(i).tokenIds());
            } else {
                in.embeddings(new float[][] {rows[i]});
            }
        }
        DecoderInput manual = in.tokens(tokens("\n\nQuestion: " + QUESTION + "\nAnswer:")).build();
        assertEquals(manual.length(), r.decoderInputLength());
        assertArrayEquals(Generator.generate(decoder, manual, greedy(20), System.nanoTime()).tokenIds(),
                r.generation().tokenIds());
    }

    @Test
    void compressAnywhereKeepsEveryContextSegmentInPlace() {
        RefragRequest req = RefragRequest.builder().text("Story one:").context(PASSAGES.subList(0, 1))
                .text("Story two:").context(PASSAGES.subList(1, 3)).text("Which story has a dog?").build();
        RefragResult r = refrag.generate(req, RefragOptions.builder().optK(8).optGeneration(greedy(5)).build());
        int c1 = (tokens(PASSAGES.get(0)).length + 7) / 8;
        assertEquals(0, r.decisions().get(c1).passage(), "second context restarts passage numbering");
        assertEquals(c1 + (tokens(PASSAGES.get(1)).length + 7) / 8 + (tokens(PASSAGES.get(2)).length + 7) / 8,
                r.totalChunks());
        int text = 1 + tokens("Story one:").length + tokens("Story two:").length + tokens("Which story has a dog?").length;
        assertEquals(text + r.totalChunks(), r.decoderInputLength());
    }

    @Test
    void sameSeedGivesTheSameSampledOutput() {
        RefragOptions.Builder o = RefragOptions.builder().optK(8).optExpansionFraction(0.25).optPolicy("random");
        List<int[]> bySeed = new ArrayList<>();
        for (long seed : new long[] {5, 5, 6, 7}) {
            RefragOptions opts = o.optGeneration(GenerationOptions.builder().optMaxNewTokens(30).optTemperature(1f)
                    .optSeed(seed).optStopTokenIds().build()).build();
            bySeed.add(refrag.generate(RefragRequest.of(QUESTION, PASSAGES), opts).generation().tokenIds());
        }
        assertArrayEquals(bySeed.get(0), bySeed.get(1));
        assertTrue(!java.util.Arrays.equals(bySeed.get(0), bySeed.get(2))
                || !java.util.Arrays.equals(bySeed.get(0), bySeed.get(3)), "other seeds sample differently");
    }

    @Test
    void concurrentRequestsMatchSequentialOnes() throws Exception {
        List<RefragOptions> options = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            options.add(RefragOptions.builder().optK(i % 2 == 0 ? 8 : 16).optExpansionFraction(0.25)
                    .optPolicy(i % 3 == 0 ? "query-similarity" : "random").optUseCache(i % 2 == 0)
                    .optGeneration(GenerationOptions.builder().optMaxNewTokens(12).optTemperature(0.7f).optSeed(i)
                            .build()).build());
        }
        List<int[]> sequential = new ArrayList<>();
        for (RefragOptions o : options) {
            sequential.add(refrag.generate(RefragRequest.of(QUESTION, PASSAGES), o).generation().tokenIds());
        }
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            List<Future<RefragResult>> futures = new ArrayList<>();
            for (RefragOptions o : options) {
                futures.add(pool.submit(() -> refrag.generate(RefragRequest.of(QUESTION, PASSAGES), o)));
            }
            for (int i = 0; i < options.size(); i++) {
                assertArrayEquals(sequential.get(i), futures.get(i).get().generation().tokenIds(), "request " + i);
            }
        } finally {
            pool.shutdown();
        }
    }

    @Test
    void hundredRequestsLeaveNoArraysBehindAndTheCacheServesRepeats() {
        int decoderArrays = decoder.liveArrayCount();
        int encoderArrays = encoder.liveArrayCount();
        RefragOptions cached = RefragOptions.builder().optK(16).optGeneration(greedy(3)).build();
        RefragResult first = refrag.generate(RefragRequest.of("Who had a dog?", PASSAGES), cached);
        RefragResult again = refrag.generate(RefragRequest.of("Who had a dog?", PASSAGES), cached);
        assertEquals(again.totalChunks(), again.cacheHits());
        assertTrue(first.cacheHits() <= again.cacheHits());
        for (int i = 0; i < 100; i++) {
            refrag.generate(RefragRequest.of(QUESTION, PASSAGES), RefragOptions.builder().optK(8 << (i % 3))
                    .optExpansionFraction(0.25).optPolicy(i % 2 == 0 ? "random" : "query-similarity")
                    .optUseCache(i % 4 != 0).optFullContext(i % 10 == 0).optGeneration(greedy(3)).build());
        }
        assertEquals(decoderArrays, decoder.liveArrayCount(), "decoder arrays leaked");
        assertEquals(encoderArrays, encoder.liveArrayCount(), "encoder arrays leaked");
        assertEquals(0, decoder.openSessionCount());
    }

    @Test
    void badRequestsFailBeforeAnyNativeWorkWithSpecificMessages() {
        assertThrows(InvalidRequestException.class, () -> RefragOptions.builder().optK(0));
        var p = assertThrows(InvalidRequestException.class, () -> RefragOptions.builder().optExpansionFraction(1.5));
        assertTrue(p.getMessage().contains("[0, 1]"), p.getMessage());
        var empty = assertThrows(InvalidRequestException.class, () -> RefragRequest.of("", List.of()));
        assertTrue(empty.getMessage().contains("empty"), empty.getMessage());
        List<String> many = new ArrayList<>();
        for (int i = 0; i < 40; i++) {
            many.addAll(PASSAGES);
        }
        var tooLong = assertThrows(ContextTooLongException.class, () -> refrag.generate(
                RefragRequest.of(QUESTION, many), RefragOptions.builder().optK(2).optGeneration(greedy(2)).build()));
        assertTrue(tooLong.getMessage().contains("larger k") && tooLong.getMessage().contains("too many"),
                tooLong.getMessage());
        var fullTooLong = assertThrows(ContextTooLongException.class, () -> refrag.generate(
                RefragRequest.of(QUESTION, many), RefragOptions.builder().optFullContext(true).build()));
        assertTrue(fullTooLong.getMessage().contains("REFRAG mode"), fullTooLong.getMessage());
        try (MlpProjector wrong = MlpProjector.create(384, 32, true, MlpProjector.ProjectorActivation.GELU, 0, CPU)) {
            var e = assertThrows(InvalidRequestException.class,
                    () -> Refrag.builder().setDecoder(decoder).optEncoder(encoder).optProjector(wrong).build());
            assertEquals("projector output size 32 does not match the decoder hidden size 64", e.getMessage());
        }
    }

    @Test
    void loadsFromAFolderLayoutWithRefragJson() throws Exception {
        Path dir = Files.createDirectories(tmp.resolve("my-refrag"));
        projector.save(dir.resolve("projector.safetensors"));
        Files.writeString(dir.resolve("refrag.json"), "{\"decoder\": \"" + SharedModels.stories() + "\","
                + " \"encoder\": \"" + SharedModels.miniLm() + "\", \"projector\": \"projector.safetensors\","
                + " \"policy\": \"query-similarity\", \"k\": 8, \"p\": 0.25, \"pooling\": \"cls\","
                + " \"cacheDir\": \"chunk-cache\"}");
        int chunks = new Chunker(decoder.tokenizer()).chunk(PASSAGES, 8).size();
        RefragResult r;
        try (Refrag loaded = Refrag.load(dir, CPU)) {
            r = loaded.generate(QUESTION, PASSAGES);
            assertEquals(8, loaded.defaults().k());
            assertEquals(Math.round(0.25 * chunks), r.expandedChunks());
        }
        RefragResult same = refrag.generate(RefragRequest.of(QUESTION, PASSAGES), RefragOptions.builder().optK(8)
                .optExpansionFraction(0.25).optPolicy("query-similarity").build());
        assertArrayEquals(same.generation().tokenIds(), r.generation().tokenIds());
        try (var files = Files.list(dir.resolve("chunk-cache"))) {
            assertTrue(files.anyMatch(f -> f.toString().endsWith(".safetensors")), "disk cache persisted on close");
        }
        try (Refrag reopened = Refrag.load(dir, CPU)) {
            assertEquals(r.totalChunks(), reopened.generate(QUESTION, PASSAGES).cacheHits(),
                    "every chunk comes from the persistent cache after a restart");
        }
        assertNotEquals(0, r.totalChunks());
        var missing = assertThrows(io.refrag.core.exception.ModelLoadException.class, () -> Refrag.load(tmp, CPU));
        assertTrue(missing.getMessage().contains("refrag.json"), missing.getMessage());
        assertThrows(io.refrag.core.exception.ModelLoadException.class,
                () -> Providers.loadDecoder(tmp.resolve("absent"), CPU));
    }

    @Test
    void closingWhileRequestsRunNeverCrashesAndRefusesNewRequests() throws Exception {
        Refrag own = Refrag.open(RefragManifest.of(SharedModels.stories())
                .withEncoder(SharedModels.miniLm(), Pooling.CLS), CPU);
        ExecutorService pool = Executors.newFixedThreadPool(4);
        java.util.concurrent.atomic.AtomicInteger completed = new java.util.concurrent.atomic.AtomicInteger();
        java.util.concurrent.atomic.AtomicInteger refused = new java.util.concurrent.atomic.AtomicInteger();
        try {
            List<Future<?>> workers = new ArrayList<>();
            for (int t = 0; t < 4; t++) {
                int seed = t;
                workers.add(pool.submit(() -> {
                    for (int i = 0; i < 1000; i++) {
                        try {
                            own.generate(RefragRequest.of(QUESTION, PASSAGES), RefragOptions.builder().optK(8)
                                    .optUseCache(false).optGeneration(GenerationOptions.builder()
                                            .optMaxNewTokens(8).optSeed(seed).build()).build());
                            completed.incrementAndGet();
                        } catch (io.refrag.core.exception.RefragException e) {
                            assertTrue(e.getMessage().contains("pipeline is closed"), e.getMessage());
                            refused.incrementAndGet();
                            return;
                        }
                    }
                }));
            }
            while (completed.get() < 8) {
                Thread.sleep(10);
            }
            own.close(); // waits for the requests in flight; used to end in SIGSEGV
            for (Future<?> w : workers) {
                w.get(60, java.util.concurrent.TimeUnit.SECONDS);
            }
        } finally {
            pool.shutdownNow();
        }
        assertEquals(4, refused.get(), "every worker's next request was refused");
        assertTrue(completed.get() >= 8);
    }
}
