package io.refrag.server;

import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.JsonValue;
import com.openai.core.http.StreamResponse;
import com.openai.errors.BadRequestException;
import com.openai.errors.NotFoundException;
import com.openai.errors.OpenAIServiceException;
import com.openai.errors.RateLimitException;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import com.openai.models.chat.completions.ChatCompletionStreamOptions;
import com.openai.models.completions.Completion;
import com.openai.models.completions.CompletionCreateParams;
import com.openai.models.embeddings.CreateEmbeddingResponse;
import com.openai.models.embeddings.EmbeddingCreateParams;
import io.refrag.core.Refrag;
import io.refrag.core.RefragGeneration;
import io.refrag.core.RefragListener;
import io.refrag.core.RefragOptions;
import io.refrag.core.RefragRequest;
import io.refrag.core.generate.GenerationOptions;
import io.refrag.core.tensor.Device;
import io.refrag.core.model.ModelOptions;
import io.refrag.core.model.Precision;
import io.refrag.core.testing.SharedModels;
import io.refrag.langchain4j.ChatPromptFormat;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The server as clients use it: the official OpenAI Java SDK (and plain HTTP for what the SDK cannot send) against the
 * shipped REFRAG model.
 */
class RefragServerIT {
    static final ModelOptions CPU = new ModelOptions(Device.CPU, Precision.FP32);
    static final String MODEL = "refrag-stories260k-k8";
    static Refrag refrag;
    static RefragServer server;
    static OpenAIClient client;
    static List<String> passages;

    @BeforeAll
    static void start() throws Exception {
        refrag = Refrag.load(SharedModels.shippedModel(), CPU);
        server = RefragServer.start(refrag, ChatPromptFormat.plain(), ServerOptions.defaults().withPort(0)
                .withModelName(MODEL).withMaxBodyBytes(256 * 1024));
        client = client(server);
        passages = Files.readAllLines(SharedModels.shippedModel().resolve("heldout-stories.txt")).stream()
                .filter(l -> !l.isBlank()).limit(3).map(l -> l.substring(0, Math.min(l.length(), 300))).toList();
    }

    @AfterAll
    static void stop() {
        server.close();
        refrag.close();
    }

    static OpenAIClient client(RefragServer s) {
        return OpenAIOkHttpClient.builder().baseUrl("http://127.0.0.1:" + s.port() + "/v1").apiKey("unused")
                .maxRetries(0).timeout(Duration.ofSeconds(60)).build();
    }

    static ChatCompletionCreateParams.Builder chat(String question, List<String> context, int maxTokens) {
        ChatCompletionCreateParams.Builder b = ChatCompletionCreateParams.builder().model(MODEL)
                .addUserMessage(question).maxCompletionTokens(maxTokens).temperature(0.0);
        if (context != null) {
            b.putAdditionalBodyProperty("refrag", JsonValue.from(Map.of("passages", context, "k", 8, "p", 0.25)));
        }
        return b;
    }

    /** The same request through the library, alone. */
    static String library(String question, List<String> context, int maxTokens) {
        RefragRequest request = context == null ? RefragRequest.builder().text("Question: " + question + "\nAnswer:")
                .build() : RefragRequest.of(question, context);
        RefragOptions options = refrag.defaults().toBuilder().optK(8).optExpansionFraction(0.25)
                .optGeneration(refrag.defaults().generation().toBuilder().optMaxNewTokens(maxTokens)
                        .optTemperature(0f).build()).build();
        return refrag.generate(request, options).text();
    }

    @Test
    void aWholeChatWithPassagesIsTheLibrarysAnswerWithRefragMetrics() {
        ChatCompletion c = client.chat().completions().create(chat("Who is Tim?", passages, 24).build());
        String text = c.choices().get(0).message().content().orElseThrow();
        assertEquals(library("Who is Tim?", passages, 24), text);
        assertEquals(MODEL, c.model());
        assertTrue(c.usage().orElseThrow().completionTokens() > 0);
        @SuppressWarnings("unchecked")
        Map<String, Object> metrics = (Map<String, Object>) c._additionalProperties().get("refrag").convert(Map.class);
        int chunks = ((Number) metrics.get("total_chunks")).intValue();
        assertTrue(chunks > 10, "passages are chunked: " + metrics);
        assertTrue(((Number) metrics.get("decoder_input_length")).intValue()
                < ((Number) metrics.get("full_context_tokens")).intValue(), "compressed: " + metrics);
        assertTrue(((Number) metrics.get("ttft_ms")).doubleValue() > 0);
        assertEquals(c.usage().orElseThrow().promptTokens(), ((Number) metrics.get("decoder_input_length")).longValue());
    }

    @Test
    void metricsCountRequestsByOutcomeWithTimerHistogramsAndCacheHits() throws Exception {
        client.chat().completions().create(chat("Who is Tim?", passages, 6).build()); // encodes, then
        client.chat().completions().create(chat("Who is Tim?", passages, 6).build()); // finds the chunks cached
        List<String> many = new ArrayList<>();
        for (int i = 0; i < 12; i++) {
            many.addAll(passages);
        }
        assertThrows(BadRequestException.class, () -> client.chat().completions().create(chat("Who?", null, 4)
                .putAdditionalBodyProperty("refrag", JsonValue.from(Map.of("passages", many, "full_context", true)))
                .build())); // refused by the pipeline: an invalid request
        HttpResponse<String> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:"
                + server.port() + "/metrics")).build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(200, r.statusCode());
        String m = r.body();
        assertTrue(metric(m, "refrag_requests_total{outcome=\"success\"}") >= 2, m);
        assertTrue(metric(m, "refrag_requests_total{outcome=\"invalid\"}") >= 1, m);
        assertTrue(metric(m, "refrag_ttft_seconds_count") >= 2, m);
        assertTrue(m.contains("refrag_ttft_seconds_bucket{le="), "a histogram: " + m);
        assertTrue(metric(m, "refrag_tokens_generated_total") >= 12, m);
        assertTrue(metric(m, "refrag_chunk_cache_total{result=\"hit\"}") > 0, m);
        assertTrue(metric(m, "refrag_chunk_cache_total{result=\"miss\"}") > 0, m);
        assertTrue(metric(m, "refrag_decode_steps_total") > 0 && m.contains("refrag_queue_depth ")
                && m.contains("refrag_batch_size "), m);
    }

    private static double metric(String scrape, String name) {
        return scrape.lines().filter(l -> l.startsWith(name + " ")).mapToDouble(l -> Double.parseDouble(
                l.substring(name.length() + 1).strip())).findFirst().orElse(-1);
    }

    @Test
    void aChatWithoutPassagesIsAPlainChat() {
        ChatCompletion c = client.chat().completions().create(chat("Who is Tim?", null, 16).build());
        assertEquals(library("Who is Tim?", null, 16), c.choices().get(0).message().content().orElseThrow());
        @SuppressWarnings("unchecked")
        Map<String, Object> metrics = (Map<String, Object>) c._additionalProperties().get("refrag").convert(Map.class);
        assertEquals(0, ((Number) metrics.get("total_chunks")).intValue());
    }

    @Test
    void aStreamedChatEqualsTheWholeOneAndEndsWithUsage() {
        ChatCompletionCreateParams params = chat("Who is Tim?", passages, 24)
                .streamOptions(ChatCompletionStreamOptions.builder().includeUsage(true).build()).build();
        StringBuilder text = new StringBuilder();
        List<ChatCompletionChunk> chunks = new ArrayList<>();
        try (StreamResponse<ChatCompletionChunk> s = client.chat().completions().createStreaming(params)) {
            s.stream().forEach(chunk -> {
                chunks.add(chunk);
                chunk.choices().forEach(ch -> ch.delta().content().ifPresent(text::append));
            });
        }
        assertEquals(library("Who is Tim?", passages, 24), text.toString());
        assertTrue(chunks.size() > 3, "streamed in pieces: " + chunks.size());
        ChatCompletionChunk last = chunks.get(chunks.size() - 1);
        assertTrue(last.choices().isEmpty());
        assertEquals(24, last.usage().orElseThrow().completionTokens());
        assertTrue(chunks.stream().anyMatch(c -> c.choices().stream().anyMatch(ch -> ch.finishReason().isPresent())));
    }

    @Test
    void completionsAnswerThePromptAfterTheCompressedPassages() {
        CompletionCreateParams params = CompletionCreateParams.builder().model(MODEL).prompt("Once upon a time")
                .maxTokens(20).temperature(0.0)
                .putAdditionalBodyProperty("refrag", JsonValue.from(Map.of("passages", passages))).build();
        Completion c = client.completions().create(params);
        RefragOptions options = refrag.defaults().toBuilder().optGeneration(refrag.defaults().generation().toBuilder()
                .optMaxNewTokens(20).optTemperature(0f).build()).build();
        String alone = refrag.generate(RefragRequest.builder().context(passages).text("Once upon a time").build(),
                options).text();
        assertEquals(alone, c.choices().get(0).text());
        StringBuilder streamed = new StringBuilder();
        try (StreamResponse<Completion> s = client.completions().createStreaming(params)) {
            s.stream().forEach(chunk -> chunk.choices().forEach(ch -> streamed.append(ch.text())));
        }
        assertEquals(alone, streamed.toString(), "streamed completions: the same text");
    }

    @Test
    void modelsListsTheServedModelAndEmbeddingsAreTheEncoders() {
        assertEquals(List.of(MODEL), client.models().list().data().stream().map(m -> m.id()).toList());
        CreateEmbeddingResponse e = client.embeddings().create(EmbeddingCreateParams.builder().model(MODEL)
                .inputOfArrayOfStrings(List.of("a little girl named Lily", "a big dog")).build());
        assertEquals(2, e.data().size());
        float[][] direct = refrag.embed(List.of("a little girl named Lily", "a big dog"));
        for (int i = 0; i < 2; i++) {
            List<Float> got = e.data().get(i).embedding();
            assertEquals(refrag.embeddingSize(), got.size());
            float[] v = new float[got.size()];
            for (int j = 0; j < v.length; j++) {
                v[j] = got.get(j);
            }
            assertArrayEquals(direct[i], v, 1e-6f);
        }
    }

    @Test
    void badRequestsGetOpenAiErrorsWithTheirStatus() throws Exception {
        BadRequestException unknown = assertThrows(BadRequestException.class, () -> client.chat().completions()
                .create(chat("Who?", null, 4).putAdditionalBodyProperty("refrag", JsonValue.from(Map.of("passages",
                        passages, "kk", 8))).build()));
        assertEquals("refrag.kk", unknown.param().orElseThrow());
        assertTrue(unknown.getMessage().contains("allowed: passages, k, p, policy"), unknown.getMessage());

        NotFoundException model = assertThrows(NotFoundException.class, () -> client.chat().completions().create(
                chat("Who?", null, 4).model("gpt-4o").build()));
        assertEquals("model_not_found", model.code().orElseThrow());

        BadRequestException badK = assertThrows(BadRequestException.class, () -> client.chat().completions().create(
                chat("Who?", null, 4).putAdditionalBodyProperty("refrag", JsonValue.from(Map.of("passages", passages,
                        "k", 0))).build()));
        assertTrue(badK.getMessage().contains("chunk size k must be >= 1"), badK.getMessage());

        List<String> many = new ArrayList<>();
        for (int i = 0; i < 12; i++) {
            many.addAll(passages);
        }
        BadRequestException tooLong = assertThrows(BadRequestException.class, () -> client.chat().completions()
                .create(chat("Who?", null, 4).putAdditionalBodyProperty("refrag", JsonValue.from(Map.of("passages",
                        many, "full_context", true))).build()));
        assertEquals("context_length_exceeded", tooLong.code().orElseThrow());
        BadRequestException tooLongStreamed = assertThrows(BadRequestException.class, () -> {
            try (StreamResponse<ChatCompletionChunk> s = client.chat().completions().createStreaming(
                    chat("Who?", null, 4).putAdditionalBodyProperty("refrag", JsonValue.from(Map.of("passages",
                            many, "full_context", true))).build())) {
                s.stream().count();
            }
        });
        assertEquals("context_length_exceeded", tooLongStreamed.code().orElseThrow());

        HttpClient http = HttpClient.newHttpClient();
        for (String body : List.of("{not json", "[1, 2]", "{\"messages\": \"hi\"}",
                "{\"messages\": [{\"role\": \"tool\", \"content\": \"x\"}]}", "{\"messages\": [{\"role\": \"user\", "
                + "\"content\": \"x\"}], \"n\": 3}")) {
            HttpResponse<String> r = post(http, "/v1/chat/completions", body);
            assertEquals(400, r.statusCode(), body + " -> " + r.body());
            assertTrue(r.body().startsWith("{\"error\":{\"message\":"), r.body());
            assertFalse(r.body().contains("\tat ") || r.body().contains("Exception"), r.body());
        }
        HttpResponse<String> nulls = post(http, "/v1/chat/completions", "{\"messages\": [{\"role\": \"user\", "
                + "\"content\": \"x\"}], \"n\": null, \"tools\": null, \"stop\": null, \"max_tokens\": 2}");
        assertEquals(200, nulls.statusCode(), "null means absent: " + nulls.body());
        HttpResponse<String> big = post(http, "/v1/chat/completions", "{\"messages\": [{\"role\": \"user\", "
                + "\"content\": \"" + "x".repeat(300 * 1024) + "\"}]}");
        assertEquals(413, big.statusCode(), big.body());
        assertTrue(big.body().contains("\"error\""), big.body());
        HttpResponse<String> none = post(http, "/v1/nothing", "{}");
        assertEquals(404, none.statusCode());
        assertTrue(none.body().contains("\"error\""), none.body());
    }

    @Test
    void aPortInUseIsRefusedWithTheAddress() {
        var e = assertThrows(io.refrag.core.exception.RefragException.class, () -> RefragServer.start(refrag,
                ChatPromptFormat.plain(), ServerOptions.defaults().withPort(server.port())));
        assertTrue(e.getMessage().contains("cannot start the server on 127.0.0.1:" + server.port()), e.getMessage());
    }

    @Test
    void pastItsLimitTheServerAnswers429AndHealthShowsTheQueue() throws Exception {
        try (RefragServer small = RefragServer.start(refrag, ChatPromptFormat.plain(), ServerOptions.defaults()
                .withPort(0).withModelName(MODEL).withMaxRequests(1))) {
            OpenAIClient c = client(small);
            Hold hold = Hold.start(refrag);
            Thread waiting = new Thread(() -> c.chat().completions().create(chat("Who?", null, 4).build()));
            waiting.start();
            try {
                assertTrue(waitFor(() -> refrag.schedulerStats().queued() >= 1), "the first request waits");
                RateLimitException full = assertThrows(RateLimitException.class, () -> c.chat().completions()
                        .create(chat("Who?", null, 4).build()));
                assertEquals("queue_full", full.code().orElseThrow());
                HttpResponse<String> health = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(
                        "http://127.0.0.1:" + small.port() + "/health")).build(), HttpResponse.BodyHandlers.ofString());
                assertEquals(200, health.statusCode());
                assertTrue(health.body().contains("\"queued\":1"), health.body());
            } finally {
                hold.release();
            }
            waiting.join(30_000);
        }
    }

    @Test
    void aClientThatGoesAwayMidStreamCancelsItsRequest() throws Exception {
        List<RefragListener.Outcome> outcomes = new java.util.concurrent.CopyOnWriteArrayList<>();
        RefragListener listener = (outcome, result, error) -> outcomes.add(outcome);
        Slow slow = Slow.start(refrag, 20);
        refrag.addListener(listener);
        try (StreamResponse<ChatCompletionChunk> s = client.chat().completions().createStreaming(
                chat("Who is Tim?", passages, 400).build())) {
            assertTrue(s.stream().anyMatch(c -> c.choices().stream().anyMatch(ch -> ch.delta().content()
                    .isPresent())));
        } // closing the stream closes the connection
        try {
            assertTrue(waitFor(() -> outcomes.contains(RefragListener.Outcome.CANCELLED)),
                    "cancelled once the client left: " + outcomes);
            assertTrue(waitFor(() -> refrag.schedulerStats().active() == 1), "only the slow request is left");
        } finally {
            refrag.removeListener(listener);
            slow.stop();
        }
    }

    @Test
    void closingTheServerFinishesOrCancelsEveryRequestWithAnAnswer() throws Exception {
        RefragServer closing = RefragServer.start(refrag, ChatPromptFormat.plain(), ServerOptions.defaults()
                .withPort(0).withModelName(MODEL).withShutdownGrace(Duration.ofMillis(300)));
        OpenAIClient c = client(closing);
        Slow slow = Slow.start(refrag, 20);
        List<String> outcomes = new java.util.concurrent.CopyOnWriteArrayList<>();
        CountDownLatch started = new CountDownLatch(2);
        List<Thread> clients = new ArrayList<>();
        for (int i = 0; i < 2; i++) {
            boolean stream = i == 0;
            Thread t = new Thread(() -> {
                try {
                    if (stream) {
                        StringBuilder text = new StringBuilder();
                        try (StreamResponse<ChatCompletionChunk> s = c.chat().completions().createStreaming(
                                chat("Who is Tim?", passages, 400).build())) {
                            s.stream().forEach(ch -> {
                                started.countDown();
                                ch.choices().forEach(x -> x.delta().content().ifPresent(text::append));
                            });
                        }
                        outcomes.add("stream finished");
                    } else {
                        started.countDown();
                        c.chat().completions().create(chat("Who is Tim?", passages, 400).build());
                        outcomes.add("whole finished");
                    }
                } catch (OpenAIServiceException e) {
                    outcomes.add((stream ? "stream " : "whole ") + e.statusCode() + " " + e.code().orElse(""));
                } catch (RuntimeException e) {
                    outcomes.add((stream ? "stream error: " : "whole error: ") + e.getMessage());
                }
            });
            clients.add(t);
            t.start();
        }
        try {
            assertTrue(started.await(30, TimeUnit.SECONDS));
            closing.close();
            for (Thread t : clients) {
                t.join(30_000);
            }
        } finally {
            slow.stop();
        }
        assertEquals(2, outcomes.size(), "every client heard back: " + outcomes);
        assertTrue(outcomes.stream().allMatch(o -> o.endsWith("cancelled") || o.contains("cancelled")
                || o.endsWith("finished")), outcomes.toString());
        assertTrue(outcomes.stream().anyMatch(o -> o.contains("cancelled")), "the grace is shorter than the answers: "
                + outcomes);
        assertThrows(RuntimeException.class, () -> c.models().list());
    }

    static HttpResponse<String> post(HttpClient http, String path, String body) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + path))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    static boolean waitFor(java.util.function.BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (System.nanoTime() < deadline) {
            if (condition.getAsBoolean()) {
                return true;
            }
            Thread.sleep(10);
        }
        return false;
    }

    /** A library request whose listener holds the scheduler until released: every other request waits. */
    static final class Hold {
        final CountDownLatch holding = new CountDownLatch(1);
        final CountDownLatch release = new CountDownLatch(1);
        RefragGeneration generation;

        static Hold start(Refrag refrag) throws InterruptedException {
            Hold h = new Hold();
            h.generation = refrag.generateAsync(RefragRequest.builder().text("Once").build(), options(refrag, 2,
                    (id, text) -> {
                        h.holding.countDown();
                        try {
                            h.release.await(30, TimeUnit.SECONDS);
                        } catch (InterruptedException e) {
                            Thread.currentThread().interrupt();
                        }
                    }));
            assertTrue(h.holding.await(30, TimeUnit.SECONDS));
            return h;
        }

        void release() {
            release.countDown();
            generation.result().handle((r, e) -> null).join();
        }
    }

    /** A long library request that sleeps on every token, so each decode step of the batch lasts that long. */
    static final class Slow {
        RefragGeneration generation;

        static Slow start(Refrag refrag, long millisPerStep) {
            Slow s = new Slow();
            s.generation = refrag.generateAsync(RefragRequest.builder().text("Once upon a time").build(),
                    options(refrag, 450, (id, text) -> {
                        try {
                            Thread.sleep(millisPerStep);
                        } catch (InterruptedException e) {
                            Thread.currentThread().interrupt();
                        }
                    }));
            return s;
        }

        void stop() {
            generation.cancel();
            generation.result().handle((r, e) -> null).join();
        }
    }

    static RefragOptions options(Refrag refrag, int tokens, io.refrag.core.generate.TokenListener listener) {
        GenerationOptions g = refrag.defaults().generation().toBuilder().optMaxNewTokens(tokens).optStopTokenIds()
                .optTemperature(0f).optListener(listener).build();
        return refrag.defaults().toBuilder().optGeneration(g).build();
    }
}
