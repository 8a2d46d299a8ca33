package io.refrag.decoder.llama;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.refrag.core.exception.InvalidRequestException;
import io.refrag.core.generate.BatchedGenerator;
import io.refrag.core.generate.GenerationOptions;
import io.refrag.core.generate.GenerationResult;
import io.refrag.core.generate.Generator;
import io.refrag.core.model.DecoderInput;
import io.refrag.core.model.DecoderSession;
import io.refrag.core.model.ModelOptions;
import io.refrag.core.model.Precision;
import io.refrag.core.testing.SharedModels;
import io.refrag.core.tensor.Device;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/** Continuous batching on stories260K: the same greedy tokens as one request at a time, no leaks, clean cancels. */
class BatchedDecodingIT {
    private static final ModelOptions CPU = new ModelOptions(Device.CPU, Precision.FP32);
    private static final String[] PROMPTS = {"Once upon a time", "The cat", "Lily and Tom went to the park to play",
        "One day, a little bird", "Mom said", "There was a big red ball in the garden and", "Sam", "The sun was hot"};

    private static LlamaDecoder decoder;

    @BeforeAll
    static void load() {
        decoder = LlamaDecoder.load(SharedModels.stories(), CPU);
    }

    @AfterAll
    static void close() {
        decoder.close();
    }

    private static DecoderInput prompt(int i) {
        return DecoderInput.ofTokens(decoder.info().withBos(decoder.tokenizer().encode(PROMPTS[i % PROMPTS.length])
                .ids()));
    }

    /** Requests finish early (few tokens) and late (many), and some stop at EOS. */
    private static GenerationOptions options(int i) {
        return GenerationOptions.builder().optMaxNewTokens(4 + 9 * (i % 5)).build();
    }

    private static GenerationResult sequential(int i) {
        return Generator.generate(decoder, prompt(i), options(i), System.nanoTime());
    }

    @Test
    void aBatchedStepGivesEachSessionTheLogitsOfItsOwnStep() {
        List<DecoderSession> batch = new ArrayList<>();
        List<DecoderSession> alone = new ArrayList<>();
        int[] tokens = new int[4];
        try {
            for (int i = 0; i < tokens.length; i++) {
                for (List<DecoderSession> list : List.of(batch, alone)) {
                    DecoderSession s = decoder.newSession(64);
                    s.prefill(prompt(i));
                    list.add(s);
                }
                tokens[i] = 40 + 7 * i;
            }
            float[][] batched = decoder.decodeBatch(batch, tokens);
            for (int i = 0; i < tokens.length; i++) {
                assertArrayEquals(alone.get(i).decode(tokens[i]), batched[i], 1e-4f, "session " + i);
                assertEquals(alone.get(i).position(), batch.get(i).position());
            }
            var twice = assertThrows(InvalidRequestException.class,
                    () -> decoder.decodeBatch(List.of(batch.get(0), batch.get(0)), new int[] {1, 2}));
            assertTrue(twice.getMessage().contains("appears twice"), twice.getMessage());
        } finally {
            batch.forEach(DecoderSession::close);
            alone.forEach(DecoderSession::close);
        }
    }

    @Test
    void batchedGreedyOutputsEqualSequentialOnesWithLateJoinsAndEarlyFinishes() throws Exception {
        int n = 16;
        List<GenerationResult> expected = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            expected.add(sequential(i));
        }
        try (BatchedGenerator batcher = new BatchedGenerator(decoder, 8)) {
            List<BatchedGenerator.Stream> streams = new ArrayList<>();
            CountDownLatch firstTokens = new CountDownLatch(3);
            for (int i = 0; i < n; i++) {
                if (i == n / 2) {
                    assertTrue(firstTokens.await(60, TimeUnit.SECONDS)); // the second half joins a running batch
                }
                GenerationOptions o = options(i).toBuilder().optListener((id, text) -> firstTokens.countDown())
                        .build();
                streams.add(batcher.submit(prompt(i), o, System.nanoTime()));
            }
            for (int i = 0; i < n; i++) {
                GenerationResult got = streams.get(i).result().get(60, TimeUnit.SECONDS);
                assertArrayEquals(expected.get(i).tokenIds(), got.tokenIds(), "request " + i);
                assertEquals(expected.get(i).finishReason(), got.finishReason(), "request " + i);
                assertEquals(expected.get(i).text(), got.text());
            }
        }
        assertEquals(0, decoder.openSessionCount());
    }

    @Test
    void everyRowCountFromOneToSixteenMatchesSequentialRunsWithStopSequencesAndACancellation() throws Exception {
        for (int rows = 1; rows <= 16; rows++) {
            List<GenerationOptions> options = new ArrayList<>();
            List<GenerationResult> expected = new ArrayList<>();
            for (int i = 0; i < rows; i++) {
                GenerationOptions.Builder o = GenerationOptions.builder().optMaxNewTokens(6 + 5 * ((i + rows) % 7));
                if (i % 3 == 1) {
                    o.optStopSequences(List.of(" the", "."));
                }
                options.add(o.build());
                expected.add(Generator.generate(decoder, prompt(i + rows), options.get(i), System.nanoTime()));
            }
            int victim = rows >= 3 ? rows / 2 : -1; // cancelled after its third token, mid-stream
            try (BatchedGenerator batcher = new BatchedGenerator(decoder, rows)) {
                List<BatchedGenerator.Stream> streams = new ArrayList<>();
                java.util.concurrent.atomic.AtomicReference<BatchedGenerator.Stream> cancel =
                        new java.util.concurrent.atomic.AtomicReference<>();
                AtomicInteger victimTokens = new AtomicInteger();
                for (int i = 0; i < rows; i++) {
                    GenerationOptions o = i != victim ? options.get(i) : GenerationOptions.builder()
                            .optMaxNewTokens(200).optStopTokenIds().optListener((id, text) -> {
                                if (victimTokens.incrementAndGet() >= 3 && cancel.get() != null) {
                                    cancel.get().cancel();
                                }
                            }).build();
                    BatchedGenerator.Stream stream = batcher.submit(prompt(i + rows), o, System.nanoTime());
                    if (i == victim) {
                        cancel.set(stream);
                    }
                    streams.add(stream);
                }
                for (int i = 0; i < rows; i++) {
                    if (i == victim) {
                        int r = i;
                        assertThrows(CancellationException.class, () -> streams.get(r).result().join());
                        continue;
                    }
                    GenerationResult got = streams.get(i).result().get(60, TimeUnit.SECONDS);
                    String what = rows + " rows, request " + i;
                    assertArrayEquals(expected.get(i).tokenIds(), got.tokenIds(), what);
                    assertEquals(expected.get(i).finishReason(), got.finishReason(), what);
                    assertEquals(expected.get(i).text(), got.text(), what);
                }
                if (victim >= 0) {
                    assertTrue(victimTokens.get() < 200, "the cancelled request left early");
                }
            }
            assertEquals(0, decoder.openSessionCount(), rows + " rows");
        }
    }

    @Test
    void twoHundredBatchedRequestsFromManyThreadsLeaveNoArrayOrSessionBehind() throws Exception {
        int live = decoder.liveArrayCount();
        try (BatchedGenerator batcher = new BatchedGenerator(decoder, 8)) {
            List<Thread> clients = new ArrayList<>();
            AtomicInteger wrong = new AtomicInteger();
            List<int[]> reference = new ArrayList<>();
            for (int i = 0; i < PROMPTS.length; i++) {
                reference.add(sequential(i).tokenIds());
            }
            for (int t = 0; t < 8; t++) {
                int client = t;
                Thread thread = new Thread(() -> {
                    for (int r = 0; r < 25; r++) {
                        int i = (client * 25 + r) % PROMPTS.length;
                        int[] ids = batcher.generate(prompt(i), options(i), System.nanoTime()).tokenIds();
                        if (!Arrays.equals(ids, reference.get(i))) {
                            wrong.incrementAndGet();
                        }
                    }
                });
                clients.add(thread);
                thread.start();
            }
            for (Thread thread : clients) {
                thread.join(120_000);
            }
            assertEquals(0, wrong.get(), "every one of the 200 requests matches its sequential run");
        }
        assertEquals(0, decoder.openSessionCount());
        assertEquals(live, decoder.liveArrayCount(), "no NDArray outlives its request");
    }

    @Test
    void cancellingOneStreamLeavesTheOthersIntact() throws Exception {
        GenerationOptions longRun = GenerationOptions.builder().optMaxNewTokens(200).optStopTokenIds().build();
        GenerationResult alone = Generator.generate(decoder, prompt(0), longRun, System.nanoTime());
        try (BatchedGenerator batcher = new BatchedGenerator(decoder, 4)) {
            CountDownLatch started = new CountDownLatch(5);
            GenerationOptions counted = longRun.toBuilder().optListener((id, text) -> started.countDown()).build();
            BatchedGenerator.Stream victim = batcher.submit(prompt(0), counted, System.nanoTime());
            BatchedGenerator.Stream a = batcher.submit(prompt(0), longRun, System.nanoTime());
            BatchedGenerator.Stream b = batcher.submit(prompt(0), longRun, System.nanoTime());
            assertTrue(started.await(60, TimeUnit.SECONDS));
            victim.cancel();
            assertThrows(CancellationException.class, () -> victim.result().join());
            assertArrayEquals(alone.tokenIds(), a.result().get(60, TimeUnit.SECONDS).tokenIds());
            assertArrayEquals(alone.tokenIds(), b.result().get(60, TimeUnit.SECONDS).tokenIds());
        }
        assertEquals(0, decoder.openSessionCount());
    }
}
