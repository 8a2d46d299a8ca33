package io.refrag.core.testing;

import io.refrag.core.checkpoint.SafetensorsWriter;
import io.refrag.core.checkpoint.TensorDType;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import io.refrag.core.exception.RefragException;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.SplittableRandom;

/**
 * Seeded random weights and a matching word-level {@code tokenizer.json}, for writing random-weight checkpoints at
 * real shapes (benchmarks) or tiny shapes (tests).
 *
 * <p>Values are multiples of 1/256 so that F32, F16 and BF16 storage hold them exactly, which lets tests compare a
 * half-precision checkpoint against a float64 reference without rounding noise.
 */
public final class RandomWeights {
    private final SplittableRandom random;

    /** @param seed generator seed */
    public RandomWeights(long seed) {
        this.random = new SplittableRandom(seed);
    }

    /**
     * @param n number of values
     * @param scale largest magnitude (rounded to a multiple of 1/256, at least 1/256)
     * @return values uniform in {@code [-scale, scale]} on the 1/256 grid
     */
    public float[] uniform(int n, double scale) {
        int steps = Math.max(1, (int) Math.round(scale * 256));
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = random.nextInt(-steps, steps + 1) / 256f;
        }
        return v;
    }

    /**
     * @param n number of values
     * @param center the mean (e.g. 1 for norm weights)
     * @param spread largest deviation from the center
     * @return values on the 1/256 grid
     */
    public float[] around(int n, float center, double spread) {
        float[] v = uniform(n, spread);
        for (int i = 0; i < n; i++) {
            v[i] += center;
        }
        return v;
    }

    /**
     * Writes a word-level {@code tokenizer.json} whose tokens are {@code t0 .. t<vocab-1>}, split on whitespace.
     *
     * @param folder target folder
     * @param vocab vocabulary size
     * @param cls id added in front of every encoding, or -1
     * @param sep id added at the end of every encoding, or -1
     */
    public static void writeWordLevelTokenizer(Path folder, int vocab, int cls, int sep) {
        JsonObject vocabJson = new JsonObject();
        for (int i = 0; i < vocab; i++) {
            vocabJson.addProperty("t" + i, i);
        }
        JsonObject model = new JsonObject();
        model.addProperty("type", "WordLevel");
        model.add("vocab", vocabJson);
        model.addProperty("unk_token", "t0");
        JsonObject pre = new JsonObject();
        pre.addProperty("type", "WhitespaceSplit");
        JsonObject root = new JsonObject();
        root.addProperty("version", "1.0");
        root.add("truncation", null);
        root.add("padding", null);
        root.add("added_tokens", new JsonArray());
        root.add("normalizer", null);
        root.add("pre_tokenizer", pre);
        root.add("post_processor", cls >= 0 && sep >= 0 ? bertTemplate(cls, sep) : null);
        root.add("decoder", null);
        root.add("model", model);
        try {
            Files.createDirectories(folder);
            Files.writeString(folder.resolve("tokenizer.json"), root.toString(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new RefragException("cannot write tokenizer.json in " + folder + ": " + e.getMessage(), e);
        }
    }

    private static JsonObject bertTemplate(int cls, int sep) {
        JsonObject post = new JsonObject();
        post.addProperty("type", "BertProcessing");
        JsonArray sepPair = new JsonArray();
        sepPair.add("t" + sep);
        sepPair.add(sep);
        JsonArray clsPair = new JsonArray();
        clsPair.add("t" + cls);
        clsPair.add(cls);
        post.add("sep", sepPair);
        post.add("cls", clsPair);
        return post;
    }

    /**
     * @param folder target folder
     * @param config the config.json object
     */
    public static void writeConfig(Path folder, JsonObject config) {
        try {
            Files.createDirectories(folder);
            Files.writeString(folder.resolve("config.json"), config.toString(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new RefragException("cannot write config.json in " + folder + ": " + e.getMessage(), e);
        }
    }
}
