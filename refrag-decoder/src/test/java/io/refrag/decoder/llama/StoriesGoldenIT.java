package io.refrag.decoder.llama;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import io.refrag.core.generate.FinishReason;
import io.refrag.core.generate.GenerationOptions;
import io.refrag.core.generate.GenerationResult;
import io.refrag.core.generate.Generator;
import io.refrag.core.model.DecoderInput;
import io.refrag.core.model.DecoderSession;
import io.refrag.core.model.ModelOptions;
import io.refrag.core.testing.Json;
import io.refrag.core.testing.SharedModels;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The real stories260K checkpoint against {@code reference/golden.json} (llama2.c regression + float64 logits). */
class StoriesGoldenIT {
    private static LlamaDecoder decoder;
    private static JsonObject golden;

    @BeforeAll
    static void load() {
        decoder = LlamaDecoder.load(SharedModels.stories(), ModelOptions.defaults());
        golden = Json.read(SharedModels.stories().resolve("reference/golden.json")).getAsJsonObject();
    }

    @AfterAll
    static void close() {
        decoder.close();
    }

    @Test
    void greedyDecodingFromBosReproducesTheGoldenIds() {
        JsonObject g = golden.getAsJsonObject("greedy");
        int[] expected = Json.ints(g.get("generated_ids"));
        GenerationResult r = Generator.generate(decoder, DecoderInput.ofTokens(Json.ints(g.get("prompt_ids"))),
                GenerationOptions.builder().optMaxNewTokens(expected.length).optStopTokenIds().build(),
                System.nanoTime());
        assertArrayEquals(expected, r.tokenIds());
        assertEquals(FinishReason.LENGTH, r.finishReason());
        assertEquals(g.get("decoded_text").getAsString(), r.text());
    }

    @Test
    void logitsMatchTheFloat64Reference() {
        float[] atBos = Json.floats(golden.get("logits_at_bos"));
        JsonObject after = golden.getAsJsonObject("logits_after_prompt");
        try (DecoderSession s = decoder.newSession(8)) {
            float[] logits = s.prefill(DecoderInput.ofTokens(1));
            assertTrue(Json.maxAbsDiff(atBos, logits) < 1e-4, "BOS logits differ by " + Json.maxAbsDiff(atBos, logits));
        }
        try (DecoderSession s = decoder.newSession(8)) {
            float[] logits = s.prefill(DecoderInput.ofTokens(Json.ints(after.get("prompt_ids"))));
            float[] expected = Json.floats(after.get("last_position_logits"));
            assertTrue(Json.maxAbsDiff(expected, logits) < 1e-4, "prompt logits differ by "
                    + Json.maxAbsDiff(expected, logits));
        }
    }

    @Test
    void tokenizerMatchesTheReferenceEncodings() {
        for (JsonElement e : golden.getAsJsonArray("tokenization_examples")) {
            JsonObject ex = e.getAsJsonObject();
            int[] ids = decoder.tokenizer().encode(ex.get("text").getAsString()).ids();
            int[] withBos = new int[ids.length + 1];
            withBos[0] = decoder.info().bosTokenId();
            System.arraycopy(ids, 0, withBos, 1, ids.length);
            assertArrayEquals(Json.ints(ex.get("ids_with_bos")), withBos, ex.get("text").getAsString());
        }
    }
}
