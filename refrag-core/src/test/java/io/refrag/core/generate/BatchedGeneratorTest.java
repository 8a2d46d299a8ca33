package io.refrag.core.generate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.refrag.core.exception.QueueFullException;
import io.refrag.core.exception.RequestTimeoutException;
import io.refrag.core.model.DecoderInput;
import io.refrag.core.testing.FakeDecoder;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/** Overload: a bounded queue refuses at admission, timeouts and cancellations end requests and free their caches. */
class BatchedGeneratorTest {
    private final FakeDecoder decoder = new FakeDecoder(256);

    private static DecoderInput prompt() {
        return DecoderInput.ofTokens(1, 2, 3);
    }

    private static GenerationOptions tokens(int n, TokenListener listener) {
        return GenerationOptions.builder().optMaxNewTokens(n).optStopTokenIds(new int[0]).optListener(listener)
                .build();
    }

    @Test
    void aFullQueueRefusesAtAdmissionAndTheQueuedRequestsStillFinish() throws Exception {
        try (BatchedGenerator g = new BatchedGenerator(decoder, 1, 1, Duration.ZERO)) {
            Hold running = Hold.start(g, 4);
            BatchedGenerator.Stream queued = g.submit(prompt(), tokens(3, null), System.nanoTime());
            int open = decoder.openSessions.get();
            var full = assertThrows(QueueFullException.class, () -> g.submit(prompt(), tokens(3, null),
                    System.nanoTime()));
            assertTrue(full.getMessage().startsWith("queue full: 1 requests"), full.getMessage());
            assertEquals(open, decoder.openSessions.get(), "a refused request allocates no KV cache");
            running.release();
            assertEquals(4, running.stream.result().get(10, TimeUnit.SECONDS).generatedTokens());
            assertEquals(3, queued.result().get(10, TimeUnit.SECONDS).generatedTokens(), "no request is lost");
        }
        assertEquals(0, decoder.openSessions.get());
    }

    @Test
    void aRequestPastItsTimeoutEndsWithAnErrorAndFreesItsCache() throws Exception {
        try (BatchedGenerator g = new BatchedGenerator(decoder, 4, 16, Duration.ofMillis(200))) {
            BatchedGenerator.Stream slow = g.submit(prompt(), tokens(200, (id, text) -> sleep(20)), System.nanoTime());
            BatchedGenerator.Stream quick = g.submit(prompt(), tokens(2, null), System.nanoTime());
            long start = System.nanoTime();
            var e = assertThrows(CompletionException.class, () -> slow.result().join());
            assertInstanceOf(RequestTimeoutException.class, e.getCause());
            assertTrue(e.getCause().getMessage().contains("timed out after 200 ms"), e.getCause().getMessage());
            assertTrue(System.nanoTime() - start < TimeUnit.SECONDS.toNanos(3), "ended within a step of its deadline");
            assertEquals(2, quick.result().get(10, TimeUnit.SECONDS).generatedTokens(), "the others go on");
            BatchedGenerator.Stream cancelled = g.submit(prompt(), tokens(200, (id, text) -> sleep(5)),
                    System.nanoTime());
            cancelled.cancel();
            assertThrows(CancellationException.class, () -> cancelled.result().join());
        }
        assertEquals(0, decoder.openSessions.get(), "every KV cache was freed");
    }

    @Test
    void requestsThatJoinTogetherArePrefilledInOnePassAndABadOneFailsAlone() throws Exception {
        try (BatchedGenerator g = new BatchedGenerator(decoder, 4, 16, Duration.ZERO)) {
            Hold first = Hold.start(g, 2); // the next requests join at once
            BatchedGenerator.Stream a = g.submit(prompt(), tokens(3, null), System.nanoTime());
            BatchedGenerator.Stream b = g.submit(prompt(), tokens(3, null), System.nanoTime());
            first.release();
            assertEquals(3, a.result().get(10, TimeUnit.SECONDS).generatedTokens());
            assertEquals(3, b.result().get(10, TimeUnit.SECONDS).generatedTokens());
            assertEquals(2, first.stream.result().get(10, TimeUnit.SECONDS).generatedTokens());
            assertEquals(java.util.List.of(2), decoder.prefillGroups, "the first alone, then a and b in one pass");

            Hold hold = Hold.start(g, 2);
            BatchedGenerator.Stream good = g.submit(prompt(), tokens(3, null), System.nanoTime());
            BatchedGenerator.Stream bad = g.submit(DecoderInput.ofTokens(FakeDecoder.FAILING_TOKEN, 2),
                    tokens(3, null), System.nanoTime());
            BatchedGenerator.Stream good2 = g.submit(prompt(), tokens(3, null), System.nanoTime());
            hold.release();
            var e = assertThrows(CompletionException.class, () -> bad.result().join());
            assertTrue(e.getCause().getMessage().contains("token 99 fails"), e.getCause().getMessage());
            assertEquals(3, good.result().get(10, TimeUnit.SECONDS).generatedTokens(), "the group's others go on");
            assertEquals(3, good2.result().get(10, TimeUnit.SECONDS).generatedTokens());
            assertEquals(2, hold.stream.result().get(10, TimeUnit.SECONDS).generatedTokens());
            assertEquals(java.util.List.of(2, 3), decoder.prefillGroups);
        }
        assertEquals(0, decoder.openSessions.get());
    }

    /** A request whose listener holds the loop thread at each token until released: nothing else joins meanwhile. */
    private static final class Hold {
        private final CountDownLatch holding = new CountDownLatch(1);
        private final CountDownLatch release = new CountDownLatch(1);
        private BatchedGenerator.Stream stream;

        /** @return a request of {@code tokens} new tokens, started and holding the loop */
        static Hold start(BatchedGenerator g, int tokens) throws InterruptedException {
            Hold h = new Hold();
            h.stream = g.submit(prompt(), tokens(tokens, (id, text) -> {
                h.holding.countDown();
                await(h.release);
            }), System.nanoTime());
            assertTrue(h.holding.await(10, TimeUnit.SECONDS));
            return h;
        }

        void release() {
            release.countDown();
        }
    }

    private static void await(CountDownLatch latch) {
        try {
            latch.await(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
