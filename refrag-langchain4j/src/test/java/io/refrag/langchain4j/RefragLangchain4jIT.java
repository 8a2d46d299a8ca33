package io.refrag.langchain4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.langchain4j.agent.tool.ToolSpecification;
import dev.langchain4j.data.embedding.Embedding;
import dev.langchain4j.data.message.UserMessage;
import dev.langchain4j.data.segment.TextSegment;
import dev.langchain4j.model.chat.listener.ChatModelErrorContext;
import dev.langchain4j.model.chat.listener.ChatModelListener;
import dev.langchain4j.model.chat.listener.ChatModelRequestContext;
import dev.langchain4j.model.chat.listener.ChatModelResponseContext;
import dev.langchain4j.model.chat.request.ChatRequest;
import dev.langchain4j.model.chat.request.ChatRequestParameters;
import dev.langchain4j.model.chat.response.ChatResponse;
import dev.langchain4j.model.chat.response.PartialResponse;
import dev.langchain4j.model.chat.response.PartialResponseContext;
import dev.langchain4j.model.chat.response.StreamingChatResponseHandler;
import dev.langchain4j.model.embedding.EmbeddingModel;
import dev.langchain4j.model.output.FinishReason;
import dev.langchain4j.rag.DefaultRetrievalAugmentor;
import dev.langchain4j.rag.RetrievalAugmentor;
import dev.langchain4j.rag.content.Content;
import dev.langchain4j.rag.content.retriever.EmbeddingStoreContentRetriever;
import dev.langchain4j.service.AiServices;
import dev.langchain4j.service.Result;
import dev.langchain4j.service.TokenStream;
import dev.langchain4j.store.embedding.inmemory.InMemoryEmbeddingStore;
import io.refrag.core.Refrag;
import io.refrag.core.RefragMetrics;
import io.refrag.core.RefragRequest;
import io.refrag.core.RefragResult;
import io.refrag.core.exception.InvalidRequestException;
import io.refrag.core.model.ModelOptions;
import io.refrag.core.model.Precision;
import io.refrag.core.testing.SharedModels;
import io.refrag.core.tensor.Device;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The langchain4j integration end to end: corpus_small in langchain4j's in-memory store with its own all-MiniLM-L6-v2
 * embeddings, an AiService whose retrieval augmentor injects with {@link RefragContentInjector}, and the shipped REFRAG
 * model answering through {@link RefragChatModel} and {@link RefragStreamingChatModel}.
 */
class RefragLangchain4jIT {
    private static final ModelOptions CPU = new ModelOptions(Device.CPU, Precision.FP32);
    private static final String QUESTION = "Which river does City_0 lie on?";

    private static Refrag refrag;
    private static RetrievalAugmentor augmentor;

    interface Assistant {
        Result<String> answer(String question);
    }

    interface StreamingAssistant {
        TokenStream answer(String question);
    }

    @BeforeAll
    static void ingest() throws Exception {
        refrag = Refrag.load(SharedModels.shippedModel(), CPU);
        EmbeddingModel embedder = new RefragEmbeddingModel(refrag); // the pipeline's own encoder
        InMemoryEmbeddingStore<TextSegment> store = new InMemoryEmbeddingStore<>();
        List<TextSegment> segments = Files.readAllLines(SharedModels.path("data/corpus_small.txt")).stream()
                .filter(l -> !l.isBlank()).map(TextSegment::from).toList();
        long start = System.nanoTime();
        for (int from = 0; from < segments.size(); from += 100) {
            List<TextSegment> batch = segments.subList(from, Math.min(segments.size(), from + 100));
            List<Embedding> embeddings = embedder.embedAll(batch).content();
            store.addAll(embeddings, batch);
            System.out.printf("langchain4j IT: embedded %d/%d passages (%.0f s)%n", from + batch.size(),
                    segments.size(), (System.nanoTime() - start) / 1e9);
        }
        augmentor = DefaultRetrievalAugmentor.builder()
                .contentRetriever(EmbeddingStoreContentRetriever.builder()
                        .embeddingStore(store).embeddingModel(embedder).maxResults(3).build())
                .contentInjector(new RefragContentInjector())
                .build();
    }

    @AfterAll
    static void close() {
        refrag.close();
    }

    /** What the pipeline answers when it is handed the passages directly, in the plain chat format. */
    private static RefragResult direct(List<Content> sources, int maxNewTokens) {
        List<String> passages = sources.stream().map(c -> c.textSegment().text()).toList();
        var options = refrag.defaults().toBuilder().optGeneration(
                refrag.defaults().generation().toBuilder().optMaxNewTokens(maxNewTokens).build()).build();
        return refrag.generate(RefragRequest.of(QUESTION, passages), options);
    }

    @Test
    void anAiServiceWithARetrieverAnswersThroughRefragWithThePassagesCompressed() {
        Assistant assistant = AiServices.builder(Assistant.class)
                .chatModel(RefragChatModel.builder().refrag(refrag).build())
                .retrievalAugmentor(augmentor)
                .build();
        Result<String> result = assistant.answer(QUESTION);
        assertEquals(3, result.sources().size());
        assertTrue(result.sources().get(0).textSegment().text().contains("City_0 "), "retrieval finds City_0's entry");

        var metadata = assertInstanceOf(RefragChatResponseMetadata.class, result.finalResponse().metadata());
        RefragMetrics m = metadata.refrag();
        int k = refrag.defaults().k();
        assertTrue(m.totalChunks() >= 3 && m.expandedChunks() < m.totalChunks(), m.toString());
        assertTrue(m.decoderInputLength() < m.fullContextTokens() && m.compressionRatio() > 1.5, m.toString());
        assertTrue(m.ttftMillis() > 0, m.toString());

        // Exactly what the pipeline gives for the passages as one context segment: they were compressed, not pasted.
        RefragResult expected = direct(result.sources(), refrag.defaults().generation().maxNewTokens());
        assertEquals(expected.text(), result.content());
        assertEquals(expected.totalChunks(), m.totalChunks());
        assertEquals(expected.fullContextTokens(), m.fullContextTokens());
        assertEquals(expected.decoderInputLength(), m.decoderInputLength(), "k = " + k);
        assertEquals(expected.decoderInputLength(), result.tokenUsage().inputTokenCount());
        assertEquals(expected.generation().generatedTokens(), result.tokenUsage().outputTokenCount());
    }

    @Test
    void streamingDeliversEveryTokenInOrderThenCompletes() throws Exception {
        StreamingAssistant assistant = AiServices.builder(StreamingAssistant.class)
                .streamingChatModel(RefragStreamingChatModel.builder().refrag(refrag).build())
                .retrievalAugmentor(augmentor)
                .build();
        List<String> parts = new ArrayList<>();
        List<Content> retrieved = new ArrayList<>();
        CompletableFuture<ChatResponse> done = new CompletableFuture<>();
        assistant.answer(QUESTION)
                .onRetrieved(retrieved::addAll)
                .onPartialResponse(part -> {
                    assertTrue(!done.isDone(), "no token after completion");
                    parts.add(part);
                })
                .onCompleteResponse(done::complete)
                .onError(done::completeExceptionally)
                .start();
        ChatResponse response = done.get(120, TimeUnit.SECONDS);
        RefragResult expected = direct(retrieved, refrag.defaults().generation().maxNewTokens());
        assertEquals(expected.text(), response.aiMessage().text());
        assertEquals(response.aiMessage().text(), String.join("", parts), "the parts are the answer, in order");
        assertTrue(parts.size() > 1, "streamed in pieces: " + parts);
    }

    @Test
    void streamingReturnsAtOnceAndItsHandleCancelsTheRequest() throws Exception {
        RefragStreamingChatModel model = RefragStreamingChatModel.builder().refrag(refrag).build();
        CountDownLatch returned = new CountDownLatch(1);
        CountDownLatch cancelled = new CountDownLatch(1);
        AtomicBoolean returnedFirst = new AtomicBoolean();
        AtomicInteger parts = new AtomicInteger();
        AtomicBoolean ended = new AtomicBoolean();
        model.chat(ChatRequest.builder().messages(UserMessage.from(QUESTION)).maxOutputTokens(200).build(),
                new StreamingChatResponseHandler() {
                    @Override
                    public void onPartialResponse(PartialResponse part, PartialResponseContext context) {
                        if (parts.incrementAndGet() == 1) {
                            try { // were chat() to block until the answer ends, this would wait in vain
                                returnedFirst.set(returned.await(30, TimeUnit.SECONDS));
                            } catch (InterruptedException e) {
                                Thread.currentThread().interrupt();
                            }
                            context.streamingHandle().cancel();
                            cancelled.countDown();
                        }
                    }

                    @Override
                    public void onCompleteResponse(ChatResponse response) {
                        ended.set(true);
                    }

                    @Override
                    public void onError(Throwable error) {
                        ended.set(true);
                    }
                });
        returned.countDown();
        assertTrue(cancelled.await(60, TimeUnit.SECONDS), "the first part arrives");
        assertTrue(returnedFirst.get(), "chat() returned before the first token was handled");
        ChatResponse next = RefragChatModel.builder().refrag(refrag).build().chat(ChatRequest.builder()
                .messages(UserMessage.from(QUESTION)).maxOutputTokens(3).build());
        assertEquals(3, next.tokenUsage().outputTokenCount(), "the scheduler serves the next request");
        assertEquals(1, parts.get(), "no part after cancel");
        assertTrue(!ended.get(), "neither completion nor error after cancel");
    }

    @Test
    void requestParametersMapAndUnsupportedOnesAreRefused() {
        RefragChatModel model = RefragChatModel.builder().refrag(refrag).build();
        ChatResponse three = model.chat(ChatRequest.builder().messages(UserMessage.from(QUESTION))
                .maxOutputTokens(3).build());
        assertEquals(3, three.tokenUsage().outputTokenCount());
        assertEquals(FinishReason.LENGTH, three.finishReason());

        String full = model.chat(ChatRequest.builder().messages(UserMessage.from(QUESTION)).maxOutputTokens(24)
                .build()).aiMessage().text();
        String stop = full.substring(full.length() / 2, full.length() / 2 + 2);
        ChatResponse stopped = model.chat(ChatRequest.builder().messages(UserMessage.from(QUESTION))
                .maxOutputTokens(24).stopSequences(List.of(stop)).build());
        assertEquals(full.substring(0, full.indexOf(stop)), stopped.aiMessage().text());
        assertEquals(FinishReason.STOP, stopped.finishReason());

        ChatRequest tools = ChatRequest.builder().messages(UserMessage.from(QUESTION))
                .toolSpecifications(ToolSpecification.builder().name("lookup").build()).build();
        var e = assertThrows(InvalidRequestException.class, () -> model.chat(tools));
        assertTrue(e.getMessage().contains("do not call tools"), e.getMessage());
        var penalty = assertThrows(InvalidRequestException.class, () -> model.chat(ChatRequest.builder()
                .messages(UserMessage.from(QUESTION)).frequencyPenalty(0.5).build()));
        assertTrue(penalty.getMessage().contains("penalties are not supported"), penalty.getMessage());
    }

    @Test
    void builderDefaultsApplyUnderTheRequestsOwnParameters() {
        RefragChatModel model = RefragChatModel.builder().refrag(refrag).modelName("m")
                .defaultRequestParameters(ChatRequestParameters.builder().maxOutputTokens(5).temperature(0.0).build())
                .maxOutputTokens(6).stopSequences(List.of("\u0000never")).build();
        assertEquals(6, model.defaultRequestParameters().maxOutputTokens(), "a setter overrides the defaults object");
        assertEquals(0.0, model.defaultRequestParameters().temperature());
        assertEquals(List.of("\u0000never"), model.defaultRequestParameters().stopSequences());
        assertEquals(6, model.chat(UserMessage.from(QUESTION)).tokenUsage().outputTokenCount());
        assertEquals(4, model.chat(ChatRequest.builder().messages(UserMessage.from(QUESTION)).maxOutputTokens(4)
                .build()).tokenUsage().outputTokenCount(), "the request's own parameter wins");
        RefragChatModel plain = RefragChatModel.builder().refrag(refrag).build();
        assertEquals(refrag.defaults().generation().maxNewTokens(), plain.defaultRequestParameters()
                .maxOutputTokens(), "without settings, the pipeline's defaults");
    }

    @Test
    void listenersHearRequestsResponsesAndErrorsAsWithOtherProviders() throws Exception {
        List<String> heard = new java.util.concurrent.CopyOnWriteArrayList<>();
        ChatModelListener listener = new ChatModelListener() {
            @Override
            public void onRequest(ChatModelRequestContext c) {
                heard.add("request " + c.chatRequest().parameters().maxOutputTokens());
            }

            @Override
            public void onResponse(ChatModelResponseContext c) {
                heard.add("response " + c.chatResponse().tokenUsage().outputTokenCount() + " "
                        + (c.chatResponse().metadata() instanceof RefragChatResponseMetadata));
            }

            @Override
            public void onError(ChatModelErrorContext c) {
                heard.add("error " + c.error().getClass().getSimpleName());
            }
        };
        RefragChatModel model = RefragChatModel.builder().refrag(refrag).maxOutputTokens(3).listeners(List.of(listener))
                .build();
        model.chat(UserMessage.from(QUESTION));
        assertEquals(List.of("request 3", "response 3 true"), heard);
        heard.clear();
        assertThrows(InvalidRequestException.class, () -> model.chat(ChatRequest.builder()
                .messages(UserMessage.from(QUESTION)).frequencyPenalty(0.5).build()));
        assertEquals(List.of("request 3", "error InvalidRequestException"), heard);

        heard.clear();
        CompletableFuture<ChatResponse> done = new CompletableFuture<>();
        RefragStreamingChatModel streaming = RefragStreamingChatModel.builder().refrag(refrag).maxOutputTokens(2)
                .listeners(List.of(listener)).build();
        streaming.chat(List.of(UserMessage.from(QUESTION)), new StreamingChatResponseHandler() {
            @Override
            public void onPartialResponse(String partial) {
            }

            @Override
            public void onCompleteResponse(ChatResponse response) {
                done.complete(response);
            }

            @Override
            public void onError(Throwable error) {
                done.completeExceptionally(error);
            }
        });
        done.get(60, TimeUnit.SECONDS);
        assertTrue(waitFor(() -> heard.size() == 2), heard.toString());
        assertEquals(List.of("request 2", "response 2 true"), heard);
    }

    @Test
    void requestsAndResponsesAreLoggedWhenAsked() {
        java.io.PrintStream stderr = System.err;
        java.io.ByteArrayOutputStream captured = new java.io.ByteArrayOutputStream();
        System.setErr(new java.io.PrintStream(captured, true, java.nio.charset.StandardCharsets.UTF_8));
        try {
            RefragChatModel.builder().refrag(refrag).maxOutputTokens(2).logRequests(true).logResponses(true).build()
                    .chat(UserMessage.from(QUESTION));
            RefragChatModel.builder().refrag(refrag).maxOutputTokens(2).build().chat(UserMessage.from("quiet"));
        } finally {
            System.setErr(stderr);
        }
        String log = captured.toString(java.nio.charset.StandardCharsets.UTF_8);
        assertTrue(log.contains("REFRAG chat request") && log.contains(QUESTION), log);
        assertTrue(log.contains("REFRAG chat response") && log.contains("decoderInputLength"), log);
        assertTrue(!log.contains("quiet"), "not logged unless asked: " + log);
    }

    @Test
    void theTokenCountEstimatorCountsTheDecodersPositions() {
        RefragTokenCountEstimator estimator = new RefragTokenCountEstimator(refrag, ChatPromptFormat.plain());
        assertEquals(refrag.decoder().tokenizer().encode("Once upon a time").length(),
                estimator.estimateTokenCountInText("Once upon a time"));
        UserMessage plain = UserMessage.from(QUESTION);
        RefragRequest asPrompt = ChatPromptFormat.plain().toRequest(List.of(plain));
        assertEquals(refrag.fullContextTokens(asPrompt) - 1, estimator.estimateTokenCountInMessage(plain));
        UserMessage withPassages = (UserMessage) new RefragContentInjector().inject(List.of(Content.from("Lily had a "
                + "red ball and she liked to throw it high in the park.")), plain);
        assertTrue(estimator.estimateTokenCountInMessage(withPassages) > estimator.estimateTokenCountInMessage(plain)
                + 10, "passages count, uncompressed");
        assertEquals(estimator.estimateTokenCountInMessages(List.of(plain, withPassages)),
                refrag.fullContextTokens(ChatPromptFormat.plain().toRequest(List.of(plain, withPassages))) - 1);
    }

    @Test
    void anOverLongRequestFitsWhenAskedAndSaysWhatItDropped() {
        List<Content> many = new ArrayList<>();
        for (String line : readCorpus().subList(0, 40)) {
            many.add(Content.from(line));
        }
        UserMessage message = (UserMessage) new RefragContentInjector().inject(many, UserMessage.from(QUESTION));
        RefragChatModel strict = RefragChatModel.builder().refrag(refrag).maxOutputTokens(4).build();
        assertThrows(io.refrag.core.exception.ContextTooLongException.class, () -> strict.chat(message));
        RefragChatModel fitting = RefragChatModel.builder().refrag(refrag).maxOutputTokens(4).fitContext(true).build();
        ChatResponse r = fitting.chat(message);
        RefragChatResponseMetadata.Fit fit = ((RefragChatResponseMetadata) r.metadata()).fit();
        assertTrue(fit.droppedPassages() > 0 && fit.droppedPassages() < 40, fit.toString());
        assertEquals(4, r.tokenUsage().outputTokenCount());
        assertTrue(r.tokenUsage().inputTokenCount() + 4 <= refrag.decoder().info().maxPositions());
        ChatResponse small = fitting.chat(UserMessage.from(QUESTION));
        assertEquals(new RefragChatResponseMetadata.Fit(0, refrag.defaults().k()),
                ((RefragChatResponseMetadata) small.metadata()).fit(), "a request that fits is unchanged");
    }

    @Test
    void theEmbeddingModelIsThePipelinesEncoderNormalised() {
        RefragEmbeddingModel embedder = new RefragEmbeddingModel(refrag);
        assertEquals(384, embedder.dimension());
        List<Embedding> e = embedder.embedAll(List.of(TextSegment.from("a little girl"), TextSegment.from("a river")))
                .content();
        float[][] direct = refrag.embed(List.of("a little girl", "a river"));
        for (int i = 0; i < 2; i++) {
            double norm = 0;
            for (float x : direct[i]) {
                norm += x * x;
            }
            float[] expected = new float[direct[i].length];
            for (int j = 0; j < expected.length; j++) {
                expected[j] = (float) (direct[i][j] / Math.sqrt(norm));
            }
            org.junit.jupiter.api.Assertions.assertArrayEquals(expected, e.get(i).vector(), 1e-6f);
        }
    }

    private static List<String> readCorpus() {
        try {
            return Files.readAllLines(SharedModels.path("data/corpus_small.txt")).stream().filter(l -> !l.isBlank())
                    .toList();
        } catch (java.io.IOException ex) {
            throw new java.io.UncheckedIOException(ex);
        }
    }

    private static boolean waitFor(java.util.function.BooleanSupplier condition) throws InterruptedException {
        for (int i = 0; i < 2000 && !condition.getAsBoolean(); i++) {
            Thread.sleep(5);
        }
        return condition.getAsBoolean();
    }
}
