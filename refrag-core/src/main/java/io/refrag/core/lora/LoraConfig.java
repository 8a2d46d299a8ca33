package io.refrag.core.lora;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonNull;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import io.refrag.core.exception.InvalidRequestException;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * A LoRA adapter's settings, as Hugging Face PEFT names them in {@code adapter_config.json}: rank {@code r},
 * {@code lora_alpha}, {@code lora_dropout} and {@code target_modules}. An adapted linear layer computes
 * {@code x W^T + b + scale * dropout(x) A^T B^T} with {@code A [r, in]}, {@code B [out, r]} and
 * {@code scale = alpha / r} ({@code alpha / sqrt(r)} with rsLoRA).
 *
 * @param rank r, 1 to 1024
 * @param alpha the scaling numerator, &gt; 0
 * @param dropout dropout on the adapter's input while training, in [0, 1)
 * @param targetModules module names as PEFT matches them: a module is adapted when its name is one of them or ends
 *     with {@code "." + name} ({@code q_proj}, {@code v_proj}, {@code query}, {@code value}, ...)
 * @param targetRegex instead of the list, a regular expression that the whole module name must match (PEFT's string
 *     form of {@code target_modules}), or null
 * @param rsLora whether the scale is {@code alpha / sqrt(r)} (rank-stabilised LoRA)
 */
public record LoraConfig(int rank, double alpha, double dropout, List<String> targetModules, String targetRegex,
        boolean rsLora) {

    /** Checks the values; messages name PEFT's keys. */
    public LoraConfig {
        if (rank < 1 || rank > 1024) {
            throw new InvalidRequestException("LoRA r must be 1 to 1024, got " + rank);
        }
        if (!(alpha > 0) || Double.isInfinite(alpha)) {
            throw new InvalidRequestException("LoRA lora_alpha must be > 0, got " + alpha);
        }
        if (!(dropout >= 0 && dropout < 1)) {
            throw new InvalidRequestException("LoRA lora_dropout must be in [0, 1), got " + dropout);
        }
        targetModules = targetModules == null ? List.of() : List.copyOf(targetModules);
        if (targetModules.isEmpty() == (targetRegex == null)) {
            throw new InvalidRequestException("LoRA target_modules must name modules (a list such as [\"q_proj\", "
                    + "\"v_proj\"]) or be one regular expression");
        }
        if (targetRegex != null) {
            try {
                Pattern.compile(targetRegex);
            } catch (PatternSyntaxException e) {
                throw new InvalidRequestException("LoRA target_modules is not a valid regular expression: "
                        + e.getMessage());
            }
        }
    }

    /**
     * @param rank r
     * @param alpha lora_alpha
     * @param dropout lora_dropout
     * @param targetModules module names
     * @return a plain LoRA config over those modules
     */
    public static LoraConfig of(int rank, double alpha, double dropout, List<String> targetModules) {
        return new LoraConfig(rank, alpha, dropout, targetModules, null, false);
    }

    /** @return the factor of the adapter's product: alpha / r, or alpha / sqrt(r) with rsLoRA */
    public double scale() {
        return rsLora ? alpha / Math.sqrt(rank) : alpha / rank;
    }

    /**
     * @param module a module name, e.g. {@code encoder.layer.0.attention.self.query}
     * @return whether this config adapts it
     */
    public boolean targets(String module) {
        if (targetRegex != null) {
            return Pattern.matches(targetRegex, module);
        }
        return targetModules.stream().anyMatch(t -> module.equals(t) || module.endsWith("." + t));
    }

    /**
     * @param baseModel what PEFT records as {@code base_model_name_or_path} (a hub id or a folder), or null
     * @return {@code adapter_config.json} as PEFT writes it
     */
    public String toPeftJson(String baseModel) {
        JsonObject o = new JsonObject();
        o.addProperty("peft_type", "LORA");
        if (baseModel == null) {
            o.add("base_model_name_or_path", JsonNull.INSTANCE);
        } else {
            o.addProperty("base_model_name_or_path", baseModel);
        }
        o.addProperty("r", rank);
        o.addProperty("lora_alpha", alpha);
        o.addProperty("lora_dropout", dropout);
        if (targetRegex != null) {
            o.addProperty("target_modules", targetRegex);
        } else {
            JsonArray targets = new JsonArray();
            targetModules.forEach(targets::add);
            o.add("target_modules", targets);
        }
        o.addProperty("bias", "none");
        o.addProperty("fan_in_fan_out", false);
        o.addProperty("use_rslora", rsLora);
        o.addProperty("use_dora", false);
        o.addProperty("inference_mode", true);
        o.add("task_type", JsonNull.INSTANCE);
        o.add("modules_to_save", JsonNull.INSTANCE);
        o.addProperty("init_lora_weights", true);
        return o.toString();
    }

    /**
     * Reads PEFT's {@code adapter_config.json}; settings this library does not apply (DoRA, adapted biases,
     * {@code fan_in_fan_out}, modules saved whole, per-module ranks) are refused, not ignored.
     *
     * @param json the file's text
     * @param where the file, for messages
     * @return the config
     * @throws InvalidRequestException naming what is wrong or unsupported
     */
    public static LoraConfig fromPeftJson(String json, String where) {
        JsonObject o;
        try {
            o = JsonParser.parseString(json).getAsJsonObject();
        } catch (JsonParseException | IllegalStateException e) {
            throw new InvalidRequestException(where + " is not a JSON object: " + e.getMessage());
        }
        try {
            String type = string(o, "peft_type", "LORA");
            if (!type.toUpperCase(Locale.ROOT).equals("LORA")) {
                throw new InvalidRequestException(where + ": peft_type " + type + " is not supported (LORA is)");
            }
            unsupported(o, where, "use_dora", false);
            unsupported(o, where, "fan_in_fan_out", false);
            if (!string(o, "bias", "none").equals("none")) {
                throw new InvalidRequestException(where + ": bias " + o.get("bias")
                        + " is not supported (\"none\" is)");
            }
            for (String key : List.of("modules_to_save", "rank_pattern", "alpha_pattern", "layers_to_transform")) {
                JsonElement e = o.get(key);
                boolean empty = e == null || e.isJsonNull() || (e.isJsonObject() && e.getAsJsonObject().size() == 0)
                        || (e.isJsonArray() && e.getAsJsonArray().isEmpty());
                if (!empty) {
                    throw new InvalidRequestException(where + ": " + key + " " + e + " is not supported");
                }
            }
            JsonElement targets = o.get("target_modules");
            if (targets == null || targets.isJsonNull()) {
                throw new InvalidRequestException(where + " has no target_modules");
            }
            List<String> names = new ArrayList<>();
            String regex = null;
            if (targets.isJsonArray()) {
                targets.getAsJsonArray().forEach(t -> names.add(t.getAsString()));
            } else {
                regex = targets.getAsString();
            }
            return new LoraConfig(o.get("r").getAsInt(), o.get("lora_alpha").getAsDouble(),
                    o.has("lora_dropout") ? o.get("lora_dropout").getAsDouble() : 0, names, regex,
                    o.has("use_rslora") && o.get("use_rslora").getAsBoolean());
        } catch (NullPointerException | IllegalStateException | UnsupportedOperationException
                | NumberFormatException e) {
            throw new InvalidRequestException(where + ": r, lora_alpha and target_modules are required (numbers, and "
                    + "a list of names or one regular expression): " + e);
        }
    }

    private static String string(JsonObject o, String key, String fallback) {
        return o.has(key) && !o.get(key).isJsonNull() ? o.get(key).getAsString() : fallback;
    }

    private static void unsupported(JsonObject o, String where, String key, boolean allowed) {
        if (o.has(key) && !o.get(key).isJsonNull() && o.get(key).getAsBoolean() != allowed) {
            throw new InvalidRequestException(where + ": " + key + " = " + o.get(key) + " is not supported");
        }
    }
}
