package io.refrag.core.json;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import com.google.gson.JsonPrimitive;
import io.refrag.core.exception.ModelLoadException;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Function;
import java.util.function.Predicate;

/**
 * A parsed {@code config.json} with typed accessors whose errors name the file and the field.
 *
 * <p>Immutable; the underlying JSON is never handed out.
 */
public final class JsonConfig {
    private final Path source;
    private final JsonObject json;

    private JsonConfig(Path source, JsonObject json) {
        this.source = source;
        this.json = json;
    }

    /**
     * Reads {@code config.json} from a checkpoint folder.
     *
     * @param folder the checkpoint folder
     * @return the parsed config
     * @throws ModelLoadException if the folder or file is missing or is not a JSON object
     */
    public static JsonConfig read(Path folder) {
        if (!Files.isDirectory(folder)) {
            throw new ModelLoadException("checkpoint folder does not exist or is not a directory: " + folder);
        }
        return readFile(folder.resolve("config.json"));
    }

    /**
     * Reads any JSON object file (config.json, refrag.json, generation_config.json).
     *
     * @param file the JSON file
     * @return the parsed object
     * @throws ModelLoadException if the file is missing or malformed
     */
    public static JsonConfig readFile(Path file) {
        if (!Files.isRegularFile(file)) {
            throw new ModelLoadException("missing file " + file);
        }
        try {
            JsonElement root = JsonParser.parseString(Files.readString(file));
            if (!root.isJsonObject()) {
                throw new ModelLoadException(file + " must hold a JSON object, found " + root);
            }
            return new JsonConfig(file, root.getAsJsonObject());
        } catch (IOException | JsonParseException e) {
            throw new ModelLoadException("cannot read " + file + ": " + e.getMessage(), e);
        }
    }

    /** @return the file this config was read from */
    public Path source() {
        return source;
    }

    /**
     * @param key a field name
     * @return whether the field is present and not JSON null
     */
    public boolean has(String key) {
        return json.has(key) && !json.get(key).isJsonNull();
    }

    /**
     * @param key a required integer field
     * @return its value
     * @throws ModelLoadException if missing or not an integer
     */
    public int requireInt(String key) {
        return optInt(key).orElseThrow(() -> missing(key, "an integer"));
    }

    /**
     * @param key an optional integer field
     * @return its value, empty if absent or null
     */
    public Optional<Integer> optInt(String key) {
        String expected = "an integer in [" + Integer.MIN_VALUE + ", " + Integer.MAX_VALUE + "]";
        return Optional.ofNullable(opt(key, null, JsonPrimitive::isNumber, expected, e -> {
            double d = e.getAsDouble();
            if (d != Math.rint(d) || d < Integer.MIN_VALUE || d > Integer.MAX_VALUE) {
                throw wrongType(key, expected, e);
            }
            return (int) d;
        }));
    }

    /**
     * @param key an optional number field
     * @param fallback value used when the field is absent or null
     * @return its value
     */
    public double optDouble(String key, double fallback) {
        return opt(key, fallback, JsonPrimitive::isNumber, "a number", JsonElement::getAsDouble);
    }

    /**
     * @param key an optional boolean field
     * @param fallback value used when the field is absent or null
     * @return its value
     */
    public boolean optBoolean(String key, boolean fallback) {
        return opt(key, fallback, JsonPrimitive::isBoolean, "true or false", JsonElement::getAsBoolean);
    }

    private <T> T opt(String key, T fallback, Predicate<JsonPrimitive> isType, String expected,
            Function<JsonElement, T> value) {
        if (!has(key)) {
            return fallback;
        }
        JsonElement e = json.get(key);
        if (!e.isJsonPrimitive() || !isType.test(e.getAsJsonPrimitive())) {
            throw wrongType(key, expected, e);
        }
        return value.apply(e);
    }

    /**
     * @param key an optional string field
     * @return its value, empty if absent or null
     */
    public Optional<String> optString(String key) {
        return Optional.ofNullable(opt(key, null, JsonPrimitive::isString, "a string", JsonElement::getAsString));
    }

    /**
     * @param key a required string field
     * @return its value
     */
    public String requireString(String key) {
        return optString(key).orElseThrow(() -> missing(key, "a string"));
    }

    /**
     * @param key a field
     * @return whether it is present and a JSON object
     */
    public boolean isObject(String key) {
        return has(key) && json.get(key).isJsonObject();
    }

    /** @return this object as JSON text (for readers of a nested object in a format of its own) */
    public String toJson() {
        return json.toString();
    }

    /**
     * @param key an optional nested object field
     * @return the nested object as a config (same source file), empty if absent or null
     */
    public Optional<JsonConfig> optObject(String key) {
        if (!has(key)) {
            return Optional.empty();
        }
        JsonElement e = json.get(key);
        if (!e.isJsonObject()) {
            throw wrongType(key, "an object", e);
        }
        return Optional.of(new JsonConfig(source, e.getAsJsonObject()));
    }

    /**
     * Reads an integer or an array of integers (HF allows both for {@code eos_token_id}).
     *
     * @param key the field
     * @return the values, empty array if absent
     */
    public int[] optIntList(String key) {
        if (!has(key)) {
            return new int[0];
        }
        JsonElement e = json.get(key);
        if (e.isJsonArray()) {
            int[] out = new int[e.getAsJsonArray().size()];
            for (int i = 0; i < out.length; i++) {
                JsonElement v = e.getAsJsonArray().get(i);
                if (!v.isJsonPrimitive() || !v.getAsJsonPrimitive().isNumber() || v.getAsDouble() != v.getAsInt()) {
                    throw wrongType(key, "an integer or a list of integers", e);
                }
                out[i] = v.getAsInt();
            }
            return out;
        }
        return new int[] {requireInt(key)};
    }

    /**
     * Rejects keys outside a known set: a typo such as {@code "trainig"} must not silently fall back to defaults.
     *
     * @param allowed the keys this object may hold
     * @throws ModelLoadException naming the unknown key, the closest allowed one and every allowed key
     */
    public void requireKnownKeys(Set<String> allowed) {
        for (String key : json.keySet()) {
            if (!allowed.contains(key)) {
                String closest = allowed.stream().min(Comparator.comparingInt(a -> editDistance(a, key))).orElse("");
                boolean close = editDistance(closest, key) <= Math.max(2, key.length() / 3);
                throw new ModelLoadException(source + ": unknown key '" + key + "'"
                        + (close ? "; did you mean '" + closest + "'?" : "") + " Allowed: " + new TreeSet<>(allowed));
            }
        }
    }

    private static int editDistance(String a, String b) {
        int[] prev = new int[b.length() + 1];
        int[] cur = new int[b.length() + 1];
        for (int j = 0; j <= b.length(); j++) {
            prev[j] = j;
        }
        for (int i = 1; i <= a.length(); i++) {
            cur[0] = i;
            for (int j = 1; j <= b.length(); j++) {
                int substitute = prev[j - 1] + (a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1);
                cur[j] = Math.min(substitute, Math.min(prev[j], cur[j - 1]) + 1);
            }
            int[] t = prev;
            prev = cur;
            cur = t;
        }
        return prev[b.length()];
    }

    private ModelLoadException missing(String key, String what) {
        return new ModelLoadException(source + ": required field '" + key + "' (" + what + ") is missing");
    }

    private ModelLoadException wrongType(String key, String what, JsonElement found) {
        return new ModelLoadException(source + ": field '" + key + "' must be " + what + ", found " + found);
    }
}
