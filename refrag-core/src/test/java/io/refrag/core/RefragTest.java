package io.refrag.core;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.refrag.core.exception.ContextTooLongException;
import io.refrag.core.exception.InvalidRequestException;
import io.refrag.core.exception.RefragException;
import io.refrag.core.model.DecoderInput;
import io.refrag.core.model.ExpansionPolicy;
import io.refrag.core.model.PolicyInput;
import io.refrag.core.testing.FakeDecoder;
import io.refrag.core.testing.FakeEncoder;
import io.refrag.core.testing.FakeProjector;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;

/** The orchestrator with fake parts: what reaches the decoder, in which order, and what is reported. */
class RefragTest {
    private static final List<String> PASSAGES = List.of("abcdefgh", "XYZ");
    private final FakeDecoder decoder = new FakeDecoder(256);
    private final FakeEncoder encoder = new FakeEncoder();

    /** Expands fixed chunk indices. */
    private record FixedPolicy(int... picks) implements ExpansionPolicy {
        @Override
        public String name() {
            return "fixed";
        }

        @Override
        public int[] select(PolicyInput input, int budget) {
            return picks;
        }
    }

    private Refrag refrag(int... picks) {
        return Refrag.builder().setDecoder(decoder).optEncoder(encoder).optProjector(new FakeProjector())
                .optPolicy(new FixedPolicy(picks)).build();
    }

    private static RefragOptions k(int k) {
        return RefragOptions.builder().optK(k).build();
    }

    private static int[] ids(String text) {
        return text.chars().toArray();
    }

    private static int[] concat(int[]... parts) {
        return Arrays.stream(parts).flatMapToInt(Arrays::stream).toArray();
    }

    @Test
    void fullContextFeedsBosTextAndEveryPassageTokenWithoutTheEncoder() {
        try (Refrag r = Refrag.builder().setDecoder(decoder).build()) {
            RefragResult res = r.generate(RefragRequest.of("q?", PASSAGES),
                    k(4).toBuilder().optFullContext(true).build());
            DecoderInput in = decoder.prefilled.get(0);
            assertEquals(1, in.segments().size());
            int[] expected = concat(new int[] {1}, ids("Context:\n"), ids("abcdefgh"), ids("XYZ"),
                    ids("\n\nQuestion: q?\nAnswer:"));
            assertArrayEquals(expected, ((DecoderInput.Tokens) in.segments().get(0)).ids());
            assertEquals(expected.length, res.decoderInputLength());
            assertEquals(expected.length, res.fullContextTokens());
            assertEquals(expected.length, r.fullContextTokens(RefragRequest.of("q?", PASSAGES)));
            assertEquals(0, encoder.encoded.get());
            assertEquals(3, res.totalChunks());
            assertEquals(3, res.expandedChunks());
        }
    }

    @Test
    void compressedChunksArriveAsProjectedEmbeddingsInDocumentOrder() {
        try (Refrag r = refrag()) {
            RefragResult res = r.generate(RefragRequest.of("q?", PASSAGES), k(4));
            List<DecoderInput.Segment> s = decoder.prefilled.get(0).segments();
            assertEquals(3, s.size());
            assertArrayEquals(concat(new int[] {1}, ids("Context:\n")), ((DecoderInput.Tokens) s.get(0)).ids());
            float[][] rows = ((DecoderInput.Embeddings) s.get(1)).rows();
            assertArrayEquals(new float[] {8, 2 * 'a'}, rows[0], "projector(encoder('abcd'))");
            assertArrayEquals(new float[] {8, 2 * 'e'}, rows[1]);
            assertArrayEquals(new float[] {6, 2 * 'X'}, rows[2], "the short last chunk of passage 2");
            assertArrayEquals(ids("\n\nQuestion: q?\nAnswer:"), ((DecoderInput.Tokens) s.get(2)).ids());
            assertEquals(1 + 9 + 3 + 22, res.decoderInputLength());
            assertEquals("abcd", res.text().substring(0, 4), "the fake decoder's greedy text");
            assertEquals(List.of(false, false, false),
                    res.decisions().stream().map(RefragResult.ChunkDecision::expanded).toList());
        }
    }

    @Test
    void anExpandedChunkIsFedAsItsTokensInPlace() {
        try (Refrag r = refrag(1)) {
            RefragResult res = r.generate(RefragRequest.of("q?", PASSAGES),
                    k(4).toBuilder().optExpansionFraction(0.34).build());
            List<DecoderInput.Segment> s = decoder.prefilled.get(0).segments();
            assertEquals(1, ((DecoderInput.Embeddings) s.get(1)).rows().length);
            assertArrayEquals(ids("efgh"), ((DecoderInput.Tokens) s.get(2)).ids());
            assertEquals(1, ((DecoderInput.Embeddings) s.get(3)).rows().length);
            assertEquals(List.of(false, true, false),
                    res.decisions().stream().map(RefragResult.ChunkDecision::expanded).toList());
            assertEquals(2, encoder.encoded.get(), "expanded chunks are never encoded");
        }
    }

    @Test
    void repeatedChunksComeFromTheCache() {
        try (Refrag r = refrag()) {
            assertEquals(0, r.generate(RefragRequest.of("q?", PASSAGES), k(4)).cacheHits());
            assertEquals(3, r.generate(RefragRequest.of("other?", PASSAGES), k(4)).cacheHits());
            assertEquals(3, encoder.encoded.get());
        }
    }

    @Test
    void aPolicyThatPicksBadIndicesIsNamed() {
        try (Refrag r = refrag(0, 0)) {
            RefragException e = assertThrows(RefragException.class, () -> r.generate(
                    RefragRequest.of("q?", PASSAGES), k(4).toBuilder().optExpansionFraction(0.67).build()));
            assertTrue(e.getMessage().startsWith("policy 'fixed' returned invalid or repeated chunk index 0"),
                    e.getMessage());
            assertTrue(decoder.prefilled.isEmpty());
        }
    }

    @Test
    void tooLongInputsFailBeforeAnyEncoderOrDecoderWork() {
        String longPassage = "x".repeat(300);
        try (Refrag r = refrag()) {
            ContextTooLongException full = assertThrows(ContextTooLongException.class, () -> r.generate(
                    RefragRequest.of("q?", List.of(longPassage)), k(4).toBuilder().optFullContext(true).build()));
            assertTrue(full.getMessage().contains("full-context input needs") && full.getMessage().contains("use "
                    + "REFRAG mode"), full.getMessage());
            String many = IntStream.range(0, 300).mapToObj(i -> "y").reduce("", String::concat);
            ContextTooLongException compressed = assertThrows(ContextTooLongException.class, () -> r.generate(
                    RefragRequest.of("q?", List.of(many)), k(1)));
            assertTrue(compressed.getMessage().contains("use a larger k (now 1)"), compressed.getMessage());
            assertEquals(0, encoder.encoded.get());
            assertTrue(decoder.prefilled.isEmpty());
        }
    }

    @Test
    void refragModeNeedsAnEncoder() {
        try (Refrag r = Refrag.builder().setDecoder(decoder).build()) {
            InvalidRequestException e = assertThrows(InvalidRequestException.class,
                    () -> r.generate(RefragRequest.of("q?", PASSAGES), k(4)));
            assertTrue(e.getMessage().contains("needs a chunk encoder"), e.getMessage());
        }
    }

    @Test
    void closeWaitsForRequestsInFlightAndRefusesNewOnes() throws Exception {
        Refrag r = refrag();
        CountDownLatch entered = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        decoder.onPrefill = () -> {
            entered.countDown();
            try {
                release.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        };
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try {
            Future<RefragResult> inFlight = pool.submit(() -> r.generate(RefragRequest.of("q?", PASSAGES), k(4)));
            assertTrue(entered.await(10, TimeUnit.SECONDS));
            Future<?> closing = pool.submit(r::close);
            Thread.sleep(200);
            assertFalse(closing.isDone(), "close() waits while a request runs");
            assertFalse(decoder.closed, "the decoder stays open under the running request");
            RefragException refused = assertThrows(RefragException.class,
                    () -> r.generate(RefragRequest.of("q?", PASSAGES), k(4)));
            assertTrue(refused.getMessage().contains("pipeline is closed"), refused.getMessage());
            release.countDown();
            assertFalse(inFlight.get(10, TimeUnit.SECONDS).text().isEmpty(), "the request in flight completes");
            closing.get(10, TimeUnit.SECONDS);
            assertTrue(decoder.closed);
            assertThrows(RefragException.class, () -> r.pipeline().plan(RefragRequest.of("q?", PASSAGES), 4));
            r.close(); // idempotent
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void withBatchedDecodingConcurrentRequestsGetWhatEachGetsAlone() throws Exception {
        RefragRequest[] requests = new RefragRequest[6];
        RefragResult[] alone = new RefragResult[requests.length];
        try (Refrag single = refrag(0)) {
            for (int i = 0; i < requests.length; i++) {
                requests[i] = RefragRequest.of("q" + "?".repeat(i), PASSAGES);
                alone[i] = single.generate(requests[i], k(4));
            }
        }
        FakeDecoder shared = new FakeDecoder(256);
        ExecutorService pool = Executors.newFixedThreadPool(requests.length);
        try (Refrag batched = Refrag.builder().setDecoder(shared).optEncoder(encoder).optProjector(new FakeProjector())
                .optPolicy(new FixedPolicy(0)).optMaxBatch(4).build()) {
            List<Future<RefragResult>> results = new ArrayList<>();
            for (RefragRequest request : requests) {
                results.add(pool.submit(() -> batched.generate(request, k(4))));
            }
            for (int i = 0; i < requests.length; i++) {
                RefragResult r = results.get(i).get(10, TimeUnit.SECONDS);
                assertArrayEquals(alone[i].generation().tokenIds(), r.generation().tokenIds(), "request " + i);
                assertEquals(alone[i].decoderInputLength(), r.decoderInputLength());
            }
        } finally {
            pool.shutdownNow();
        }
        assertTrue(shared.closed);
        assertThrows(InvalidRequestException.class, () -> Refrag.builder().optMaxBatch(0));
    }

    @Test
    void fittingPassagesKeepsTheLongestPrefixThatLeavesRoomForTheAnswer() {
        List<String> passages = IntStream.range(0, 12).mapToObj(i -> "passage " + i + " " + "x".repeat(20 + i))
                .toList();
        try (Refrag r = refrag()) {
            java.util.function.Function<List<String>, RefragRequest> request = ps -> RefragRequest.of("Who?", ps);
            for (int reserved : new int[] {0, 16, 100, 150}) {
                int expected = 0;
                while (expected < passages.size() && r.fullContextTokens(request.apply(passages.subList(0,
                        expected + 1))) <= 256 - reserved) {
                    expected++;
                }
                List<String> fit = r.fittingPassages(request, passages, reserved);
                assertEquals(passages.subList(0, expected), fit, "reserved " + reserved);
                assertTrue(expected > 0 && expected < passages.size(), "the case tests a cut: " + expected);
            }
            assertEquals(passages.subList(0, 2), r.fittingPassages(request, passages.subList(0, 2), 0),
                    "all of them when all fit");
            ContextTooLongException e = assertThrows(ContextTooLongException.class,
                    () -> r.fittingPassages(request, passages, 230));
            assertTrue(e.getMessage().contains("not even one passage fits"), e.getMessage());
            assertEquals(256, e.limit());
        }
    }

    @Test
    void generateAsyncReturnsAtOnceAndCancellingFreesTheRequestForTheNext() throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        java.util.concurrent.atomic.AtomicInteger tokens = new java.util.concurrent.atomic.AtomicInteger();
        RefragOptions blocking = RefragOptions.builder().optK(4).optGeneration(io.refrag.core.generate.GenerationOptions
                .builder().optMaxNewTokens(50).optStopTokenIds().optListener((id, delta) -> {
                    tokens.incrementAndGet();
                    try {
                        release.await(); // the scheduler thread waits here: the caller's thread must not
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                }).build()).build();
        try (Refrag r = refrag()) {
            RefragGeneration running = r.generateAsync(RefragRequest.of("Q?", PASSAGES), blocking);
            assertFalse(running.result().isDone(), "returned while the scheduler holds the first token");
            running.cancel();
            release.countDown();
            var e = assertThrows(java.util.concurrent.CompletionException.class, () -> running.result().join());
            assertTrue(e.getCause() instanceof java.util.concurrent.CancellationException, e.toString());
            assertTrue(tokens.get() < 50, "cancelled within a step, not run to the end: " + tokens.get());
            RefragResult next = r.generate(RefragRequest.of("Q?", PASSAGES), k(4));
            assertTrue(next.generation().generatedTokens() > 0, "the scheduler serves the next request");
            assertEquals(0, decoder.openSessions.get(), "the cancelled request's KV cache was freed");
        }
    }

    @Test
    void anAsyncRequestsErrorsReachItsResultAndABlockingCallThrowsThemAsTheyAre() {
        try (Refrag r = refrag()) {
            RefragOptions tooLong = RefragOptions.builder().optK(4).build();
            String huge = "x".repeat(400); // over the fake decoder's 256 positions even compressed
            RefragGeneration g = r.generateAsync(RefragRequest.builder().text(huge).build(), tooLong);
            var e = assertThrows(java.util.concurrent.CompletionException.class, () -> g.result().join());
            assertTrue(e.getCause() instanceof ContextTooLongException, e.toString());
            assertThrows(ContextTooLongException.class, () -> r.generate(RefragRequest.builder().text(huge).build(),
                    tooLong));
        }
    }
}
