package io.refrag.core.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.refrag.core.RefragResult;
import io.refrag.core.eval.EvalMode;
import io.refrag.core.eval.EvalReport;
import io.refrag.core.eval.EvalRow;
import io.refrag.core.generate.FinishReason;
import io.refrag.core.generate.GenerationMetrics;
import io.refrag.core.generate.GenerationResult;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** The one result mapper: the field names every front end prints, flat, and nothing a mode does not have. */
class ResultJsonTest {
    private static final GenerationResult GENERATION = new GenerationResult("a <b> & c", new int[] {5, 6, 2},
            FinishReason.STOP, 40, 3, new GenerationMetrics(12.5, 3.25, 80, 19, 9, 6.5, 40, 4096));

    private static JsonObject parse(Object result) {
        return JsonParser.parseString(ResultJson.toJson(result)).getAsJsonObject();
    }

    @Test
    void aGenerationIsFlatWithEveryMetricUnderItsRecordName() {
        JsonObject j = parse(GENERATION);
        assertEquals(Set.of("text", "tokenIds", "finishReason", "promptTokens", "generatedTokens", "ttftMillis",
                "ttitMillis", "throughputTokensPerSecond", "totalMillis", "prefillMillis", "decodeMillis",
                "prefillPositions", "kvCacheBytes"), j.keySet());
        assertEquals("a <b> & c", j.get("text").getAsString());
        assertTrue(ResultJson.toJson(GENERATION).contains("a <b> & c"), "no HTML escaping");
        assertEquals(3, j.getAsJsonArray("tokenIds").size());
        assertEquals("STOP", j.get("finishReason").getAsString());
        assertEquals(12.5, j.get("ttftMillis").getAsDouble());
        assertEquals(4096, j.get("kvCacheBytes").getAsLong());
    }

    @Test
    void aRefragResultAddsItsCompressionToItsGeneration() {
        RefragResult r = new RefragResult(GENERATION, List.of(new RefragResult.ChunkDecision(0, 0, 8, true),
                new RefragResult.ChunkDecision(0, 1, 8, false), new RefragResult.ChunkDecision(1, 0, 5, false)),
                20, 60, 1.5, 0.25, 2);
        JsonObject j = parse(r);
        assertEquals("a <b> & c", j.get("text").getAsString());
        assertEquals(20, j.get("decoderInputLength").getAsInt());
        assertEquals(60, j.get("fullContextTokens").getAsInt());
        assertEquals(3, j.get("totalChunks").getAsInt());
        assertEquals(1, j.get("expandedChunks").getAsInt());
        assertEquals(3.0, j.get("compressionRatio").getAsDouble());
        assertEquals(2, j.get("cacheHits").getAsInt());
        assertEquals(0.25, j.get("policyMillis").getAsDouble());
        assertFalse(j.has("decisions") || j.has("generation"), "flat: " + j);
        JsonObject metrics = parse(r.metrics());
        assertEquals(Set.of("ttftMillis", "ttitMillis", "throughputTokensPerSecond", "decoderInputLength",
                "fullContextTokens", "totalChunks", "expandedChunks", "cacheHits", "compressionRatio"), metrics.keySet());
        for (String key : metrics.keySet()) {
            assertEquals(metrics.get(key), j.get(key), "one name and value for " + key + " everywhere");
        }
    }

    @Test
    void evalRowsNameTheirModeByLabelAndOnlyQaRowsCarryExactMatchAndF1() {
        EvalRow full = new EvalRow(EvalMode.FULL, 0, 0, "", 1.4, Math.exp(1.4), 1, 65, 2.5, Double.NaN, Double.NaN);
        EvalRow qa = new EvalRow(EvalMode.REFRAG, 8, 0.25, "learned", 1.5, Math.exp(1.5), 0.9, 23, 2, 0.5, 0.75);
        JsonObject j = parse(new EvalReport(List.of(full, qa), 100, 2));
        assertEquals(100, j.get("documents").getAsInt());
        assertEquals(2, j.get("skipped").getAsInt());
        JsonArray rows = j.getAsJsonArray("rows");
        JsonObject first = rows.get(0).getAsJsonObject();
        assertEquals("full", first.get("mode").getAsString());
        assertFalse(first.has("exactMatch") || first.has("f1"), first.toString());
        JsonObject second = rows.get(1).getAsJsonObject();
        assertEquals("refrag", second.get("mode").getAsString());
        assertEquals("learned", second.get("policy").getAsString());
        assertEquals(0.5, second.get("exactMatch").getAsDouble());
        assertEquals(0.75, second.get("f1").getAsDouble());
    }

    /** A front end's own result record, with a path and a non-finite number. */
    record Saved(Path output, double ratio, Map<String, Double> nll) {
    }

    @Test
    void recordsOfFrontEndsSerialiseByComponentWithPathsAsStrings() {
        String json = ResultJson.toJson(new Saved(Path.of("/tmp/out"), Double.NaN, Map.of("after", 1.5)));
        assertEquals("{\"output\":\"/tmp/out\",\"ratio\":NaN,\"nll\":{\"after\":1.5}}", json);
    }
}
