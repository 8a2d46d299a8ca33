package io.refrag.server;

import com.openai.client.OpenAIClient;
import com.openai.core.http.StreamResponse;
import com.openai.models.chat.completions.ChatCompletionChunk;
import io.refrag.core.Refrag;
import io.refrag.core.testing.SharedModels;
import io.refrag.langchain4j.ChatPromptFormat;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * 32 concurrent streaming clients (the official OpenAI SDK) for {@code -Drefrag.server.loadSeconds} seconds (60 by
 * default), with mixed answer lengths, with and without passages: no response lost or corrupted, each equal to the
 * same request run alone; prints the TTFT percentiles clients saw.
 */
class ServerLoadIT {
    private static final int CLIENTS = 32;

    record Variant(String question, List<String> passages, int maxTokens) {
    }

    @Test
    void thirtyTwoStreamingClientsGetEveryAnswerWhole() throws Exception {
        long seconds = Long.getLong("refrag.server.loadSeconds", 60);
        List<String> stories = Files.readAllLines(SharedModels.shippedModel().resolve("heldout-stories.txt")).stream()
                .filter(l -> !l.isBlank()).limit(12).map(l -> l.substring(0, Math.min(l.length(), 240))).toList();
        try (Refrag refrag = Refrag.load(SharedModels.shippedModel(), RefragServerIT.CPU)) {
            RefragServerIT.refrag = refrag;
            List<Variant> variants = new ArrayList<>();
            String[] questions = {"Who is Tim?", "What did Lily do?", "Where did they go?", "Why was he sad?"};
            int[] lengths = {8, 16, 32, 64};
            for (int i = 0; i < 8; i++) {
                List<String> passages = i % 4 == 3 ? null : stories.subList(i % 6, i % 6 + 1 + i % 3);
                variants.add(new Variant(questions[i % 4], passages, lengths[(i / 2) % 4]));
            }
            List<String> alone = new ArrayList<>();
            for (Variant v : variants) {
                alone.add(RefragServerIT.library(v.question(), v.passages(), v.maxTokens()));
            }
            try (RefragServer server = RefragServer.start(refrag, ChatPromptFormat.plain(), ServerOptions.defaults()
                    .withPort(0).withModelName(RefragServerIT.MODEL))) {
                OpenAIClient client = RefragServerIT.client(server);
                long deadline = System.nanoTime() + seconds * 1_000_000_000L;
                List<Double> ttft = new CopyOnWriteArrayList<>();
                AtomicInteger done = new AtomicInteger();
                AtomicLong tokens = new AtomicLong();
                Map<String, Integer> failures = new ConcurrentHashMap<>();
                List<Thread> threads = new ArrayList<>();
                long start = System.nanoTime();
                for (int c = 0; c < CLIENTS; c++) {
                    int id = c;
                    Thread t = new Thread(() -> {
                        for (int n = 0; System.nanoTime() < deadline; n++) {
                            int which = (id + n) % variants.size();
                            Variant v = variants.get(which);
                            StringBuilder text = new StringBuilder();
                            long sent = System.nanoTime();
                            long[] first = {0};
                            try (StreamResponse<ChatCompletionChunk> s = client.chat().completions().createStreaming(
                                    RefragServerIT.chat(v.question(), v.passages(), v.maxTokens()).build())) {
                                s.stream().forEach(chunk -> chunk.choices().forEach(ch -> ch.delta().content()
                                        .ifPresent(d -> {
                                            if (first[0] == 0) {
                                                first[0] = System.nanoTime();
                                            }
                                            text.append(d);
                                        })));
                                if (!text.toString().equals(alone.get(which))) {
                                    failures.merge("different from the request alone", 1, Integer::sum);
                                } else {
                                    done.incrementAndGet();
                                    tokens.addAndGet(v.maxTokens());
                                    ttft.add((first[0] - sent) / 1e6);
                                }
                            } catch (RuntimeException e) {
                                failures.merge(e.getClass().getSimpleName() + ": " + e.getMessage(), 1, Integer::sum);
                            }
                        }
                    });
                    threads.add(t);
                    t.start();
                }
                for (Thread t : threads) {
                    t.join();
                }
                double wall = (System.nanoTime() - start) / 1e9;
                List<Double> sorted = new ArrayList<>(ttft);
                Collections.sort(sorted);
                System.out.printf("server load: %d clients, %.0f s: %d answers, %d failed; TTFT p50 %.1f ms, p99 %.1f "
                        + "ms; %.0f tokens/s in all%n", CLIENTS, wall, done.get(), failures.values().stream()
                        .mapToInt(Integer::intValue).sum(), percentile(sorted, 0.5), percentile(sorted, 0.99),
                        tokens.get() / wall);
                assertEquals(Map.of(), failures, "every answer whole and equal to the request alone");
                assertTrue(done.get() >= CLIENTS, "every client got answers: " + done.get());
                assertEquals(0, refrag.schedulerStats().active() + refrag.schedulerStats().queued());
            }
        }
    }

    private static double percentile(List<Double> sorted, double q) {
        return sorted.isEmpty() ? Double.NaN : sorted.get((int) Math.min(sorted.size() - 1, Math.floor(q
                * sorted.size())));
    }
}
