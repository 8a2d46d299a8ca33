package io.refrag.core.testing;

import com.google.gson.JsonElement;
import com.google.gson.JsonParser;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Small JSON helpers for reading reference files in tests. */
public final class Json {
    private Json() {
    }

    /**
     * @param file a JSON file
     * @return its root element
     */
    public static JsonElement read(Path file) {
        try {
            return JsonParser.parseString(Files.readString(file));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * @param e a JSON array of numbers
     * @return the numbers as ints
     */
    public static int[] ints(JsonElement e) {
        return e.getAsJsonArray().asList().stream().mapToInt(JsonElement::getAsInt).toArray();
    }

    /**
     * @param e a JSON array of numbers
     * @return the numbers as floats
     */
    public static float[] floats(JsonElement e) {
        var list = e.getAsJsonArray().asList();
        float[] out = new float[list.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = list.get(i).getAsFloat();
        }
        return out;
    }

    /**
     * @param expected reference
     * @param actual computed
     * @return the largest absolute difference
     */
    public static double maxAbsDiff(float[] expected, float[] actual) {
        if (expected.length != actual.length) {
            throw new AssertionError("length " + actual.length + " != expected " + expected.length);
        }
        double max = 0;
        for (int i = 0; i < expected.length; i++) {
            max = Math.max(max, Math.abs(expected[i] - actual[i]));
        }
        return max;
    }
}
