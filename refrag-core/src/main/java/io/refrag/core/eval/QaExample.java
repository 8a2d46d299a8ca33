package io.refrag.core.eval;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import io.refrag.core.exception.InvalidRequestException;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * One RAG question: retrieved passages and the reference answers.
 *
 * @param question the question
 * @param passages the retrieved passages, at least one
 * @param answers reference answers, at least one
 */
public record QaExample(String question, List<String> passages, List<String> answers) {
    /** Copies the lists and checks they are not empty. */
    public QaExample {
        passages = List.copyOf(passages);
        answers = List.copyOf(answers);
        if (question == null || question.isBlank() || passages.isEmpty() || answers.isEmpty()) {
            throw new InvalidRequestException("a QA example needs a question, at least one passage and at least one "
                    + "answer");
        }
    }

    /**
     * Reads JSONL: one {@code {"question": "...", "passages": ["..."], "answers": ["..."]}} per line; blank lines are
     * skipped.
     *
     * @param file the file
     * @return the examples
     * @throws InvalidRequestException naming the file and line of the first bad example
     */
    public static List<QaExample> readJsonl(Path file) {
        List<String> lines;
        try {
            lines = Files.readAllLines(file);
        } catch (IOException e) {
            throw new InvalidRequestException("cannot read QA file " + file + ": " + e.getMessage(), e);
        }
        List<QaExample> out = new ArrayList<>();
        for (int i = 0; i < lines.size(); i++) {
            if (lines.get(i).isBlank()) {
                continue;
            }
            try {
                JsonObject o = JsonParser.parseString(lines.get(i)).getAsJsonObject();
                out.add(new QaExample(o.get("question").getAsString(), strings(o.getAsJsonArray("passages")),
                        strings(o.getAsJsonArray("answers"))));
            } catch (JsonParseException | IllegalStateException | NullPointerException | ClassCastException
                    | UnsupportedOperationException | InvalidRequestException e) {
                throw new InvalidRequestException(file + " line " + (i + 1) + ": expected {\"question\": string, "
                        + "\"passages\": [strings], \"answers\": [strings]} (" + e.getMessage() + ")", e);
            }
        }
        if (out.isEmpty()) {
            throw new InvalidRequestException(file + " holds no QA example");
        }
        return out;
    }

    private static List<String> strings(JsonArray a) {
        List<String> out = new ArrayList<>();
        for (JsonElement e : a) {
            out.add(e.getAsString());
        }
        return out;
    }
}
