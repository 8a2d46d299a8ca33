package io.refrag.core.report;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonPrimitive;
import com.google.gson.JsonSerializationContext;
import com.google.gson.JsonSerializer;
import io.refrag.core.RefragMetrics;
import io.refrag.core.RefragResult;
import io.refrag.core.eval.EvalMode;
import io.refrag.core.eval.EvalRow;
import io.refrag.core.generate.GenerationResult;

import java.lang.reflect.Type;
import java.nio.file.Path;

/**
 * The one mapper from results to JSON. Records serialise by their components, in order, so a result type and its
 * JSON cannot drift apart; the library's own results get a flat shape:
 * <ul>
 *   <li>{@link GenerationResult}: {@code text}, {@code tokenIds}, {@code finishReason}, {@code promptTokens},
 *       {@code generatedTokens}, then every {@link io.refrag.core.generate.GenerationMetrics} field ({@code ttftMillis},
 *       {@code ttitMillis}, {@code throughputTokensPerSecond}, ...);</li>
 *   <li>{@link RefragMetrics}: its components and {@code compressionRatio};</li>
 *   <li>{@link RefragResult}: its generation's fields, its metrics' fields, then {@code encodeMillis} and
 *       {@code policyMillis};</li>
 *   <li>{@link EvalRow}: its components, the mode as its label, and no {@code exactMatch} or {@code f1} outside QA.</li>
 * </ul>
 * Paths are strings; NaN and infinities are written as JavaScript writes them; nothing is HTML-escaped.
 */
public final class ResultJson {
    /** Records by their components; the base of {@link #GSON}. */
    private static final Gson RECORDS = new GsonBuilder()
            .disableHtmlEscaping()
            .serializeSpecialFloatingPointValues()
            .registerTypeAdapter(EvalMode.class, (JsonSerializer<EvalMode>) (m, t, c) -> new JsonPrimitive(m.label()))
            .registerTypeHierarchyAdapter(Path.class, (JsonSerializer<Path>) (p, t, c) -> new JsonPrimitive(p.toString()))
            .create();

    private static final Gson GSON = RECORDS.newBuilder()
            .registerTypeAdapter(GenerationResult.class, (JsonSerializer<GenerationResult>) ResultJson::generation)
            .registerTypeAdapter(RefragResult.class, (JsonSerializer<RefragResult>) ResultJson::refrag)
            .registerTypeAdapter(RefragMetrics.class, (JsonSerializer<RefragMetrics>) ResultJson::metrics)
            .registerTypeAdapter(EvalRow.class, (JsonSerializer<EvalRow>) ResultJson::evalRow)
            .create();

    private ResultJson() {
    }

    /**
     * @param result a result record, or a map or list of them
     * @return its JSON, on one line
     */
    public static String toJson(Object result) {
        return GSON.toJson(result);
    }

    /**
     * @param result a result record, or a map or list of them
     * @return its JSON tree, for a front end that adds fields of its own
     */
    public static JsonElement toTree(Object result) {
        return GSON.toJsonTree(result);
    }

    private static JsonElement generation(GenerationResult r, Type type, JsonSerializationContext c) {
        JsonObject json = new JsonObject();
        json.addProperty("text", r.text());
        json.add("tokenIds", c.serialize(r.tokenIds()));
        json.addProperty("finishReason", r.finishReason().name());
        json.addProperty("promptTokens", r.promptTokens());
        json.addProperty("generatedTokens", r.generatedTokens());
        c.serialize(r.metrics()).getAsJsonObject().entrySet().forEach(e -> json.add(e.getKey(), e.getValue()));
        return json;
    }

    private static JsonElement refrag(RefragResult r, Type type, JsonSerializationContext c) {
        JsonObject json = c.serialize(r.generation()).getAsJsonObject();
        c.serialize(r.metrics()).getAsJsonObject().entrySet().forEach(e -> json.add(e.getKey(), e.getValue()));
        json.addProperty("encodeMillis", r.encodeMillis());
        json.addProperty("policyMillis", r.policyMillis());
        return json;
    }

    private static JsonElement metrics(RefragMetrics m, Type type, JsonSerializationContext c) {
        JsonObject json = RECORDS.toJsonTree(m).getAsJsonObject();
        json.addProperty("compressionRatio", m.compressionRatio());
        return json;
    }

    private static JsonElement evalRow(EvalRow r, Type type, JsonSerializationContext c) {
        JsonObject json = RECORDS.toJsonTree(r).getAsJsonObject();
        if (Double.isNaN(r.exactMatch())) { // not a QA row
            json.remove("exactMatch");
            json.remove("f1");
        }
        return json;
    }
}
