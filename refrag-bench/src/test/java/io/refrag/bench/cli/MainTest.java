package io.refrag.bench.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.refrag.core.testing.Json;
import io.refrag.core.testing.SharedModels;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

/** The CLI as a user runs it: exit codes, one-line errors, JSON fields. */
class MainTest {
    @TempDir
    Path tmp;

    private record Run(int code, String out, String err) {
        JsonObject json() {
            return JsonParser.parseString(out).getAsJsonObject();
        }
    }

    private static Run run(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = new Main(new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8)).run(args);
        return new Run(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    private static String stories() {
        return SharedModels.stories().toString();
    }

    @Test
    void generateWithAnEmptyPromptStartsFromBosAndFollowsTheGoldenIds() {
        Run r = run("generate", "--decoder", stories(), "--prompt", "", "--max-new-tokens", "12", "--json");
        assertEquals(0, r.code(), r.err());
        JsonObject j = r.json();
        int[] golden = Json.ints(Json.read(SharedModels.stories().resolve("reference/golden.json"))
                .getAsJsonObject().getAsJsonObject("greedy").get("generated_ids"));
        assertArrayEquals(Arrays.copyOf(golden, 12), Json.ints(j.get("tokenIds")));
        assertEquals(1, j.get("promptTokens").getAsInt());
        assertEquals(12, j.get("generatedTokens").getAsInt());
        assertEquals("LENGTH", j.get("finishReason").getAsString());
        for (String f : new String[] {"text", "ttftMillis", "ttitMillis", "throughputTokensPerSecond"}) {
            assertTrue(j.has(f), f);
        }
        assertTrue(j.get("ttftMillis").getAsDouble() > 0 && j.get("throughputTokensPerSecond").getAsDouble() > 0);
    }

    @Test
    void perplexityReportsConsistentNumbers() throws Exception {
        Path text = tmp.resolve("story.txt");
        Files.writeString(text, "Once upon a time, there was a little girl named Lily. She loved to play outside.");
        Run r = run("perplexity", "--decoder", stories(), "--text-file", text.toString(), "--json");
        assertEquals(0, r.code(), r.err());
        JsonObject j = r.json();
        assertEquals(j.get("tokens").getAsInt() - 1, j.get("predictedTokens").getAsInt());
        double nll = j.get("meanNll").getAsDouble();
        assertEquals(Math.exp(nll), j.get("perplexity").getAsDouble(), 1e-9);
        assertTrue(nll > 0 && nll < 3, "a TinyStories sentence is easy for stories260K: " + nll);
    }

    @Test
    void refragGenerateAndCompareReportTheirFields() throws Exception {
        Path ctx = tmp.resolve("ctx.txt");
        Files.writeString(ctx, "Lily went to the park and saw a red ball.\nTom had a small dog named Max.\n");
        Run g = run("generate", "--decoder", stories(), "--encoder", SharedModels.miniLm().toString(),
                "--question", "Who had a dog?", "--context-file", ctx.toString(), "--k", "8", "--p", "0.5",
                "--policy", "query-similarity", "--max-new-tokens", "5", "--json");
        assertEquals(0, g.code(), g.err());
        JsonObject j = g.json();
        for (String f : new String[] {"decoderInputLength", "fullContextTokens", "totalChunks", "expandedChunks",
                "encodeMillis", "policyMillis", "prefillMillis", "decodeMillis"}) {
            assertTrue(j.has(f), f);
        }
        assertEquals(Math.round(0.5 * j.get("totalChunks").getAsInt()), j.get("expandedChunks").getAsInt());
        assertTrue(j.get("decoderInputLength").getAsInt() < j.get("fullContextTokens").getAsInt());

        Path chart = tmp.resolve("chart.svg");
        Run c = run("compare", "--decoder", stories(), "--encoder", SharedModels.miniLm().toString(),
                "--question", "Who had a dog?", "--context-file", ctx.toString(), "--k", "8,16", "--repeats", "1",
                "--max-new-tokens", "3", "--chart", chart.toString(), "--json");
        assertEquals(0, c.code(), c.err());
        JsonArray runs = c.json().getAsJsonArray("runs");
        assertEquals(5, runs.size());
        assertEquals("full-context", runs.get(0).getAsJsonObject().get("mode").getAsString());
        assertEquals(1.0, runs.get(0).getAsJsonObject().get("ttftSpeedup").getAsDouble(), 1e-12);
        assertTrue(runs.get(4).getAsJsonObject().get("cached").getAsBoolean());
        assertTrue(Files.readString(chart).contains("<polyline"));
    }

    @Test
    void badCommandLinesExitWithCodeTwoAndOneLine() {
        Run unknownOption = run("generate", "--decoder", stories(), "--prompt", "x", "--temprature", "1");
        assertEquals(2, unknownOption.code());
        assertTrue(unknownOption.err().contains("unknown option '--temprature'"), unknownOption.err());
        assertEquals(1, unknownOption.err().strip().lines().count());

        Run missingFolder = run("generate", "--decoder", tmp.resolve("nope").toString(), "--prompt", "x");
        assertEquals(2, missingFolder.code());
        assertTrue(missingFolder.err().contains("is not an existing folder"), missingFolder.err());

        Run badNumber = run("generate", "--decoder", stories(), "--prompt", "x", "--max-new-tokens", "ten");
        assertEquals(2, badNumber.code());
        assertTrue(badNumber.err().contains("--max-new-tokens must be an integer, got 'ten'"), badNumber.err());

        Run badP = run("generate", "--decoder", stories(), "--question", "q", "--context-file",
                SharedModels.path("data/corpus_small.txt").toString(), "--encoder",
                SharedModels.miniLm().toString(), "--p", "2");
        assertEquals(2, badP.code());
        assertTrue(badP.err().contains("[0, 1]"), badP.err());

        assertEquals(2, run("bogus").code());
        assertEquals(2, run().code());
        Run noTask = run("train", "--config", "x.json");
        assertEquals(2, noTask.code());
        assertTrue(noTask.err().contains("train reconstruct|cpt|policy"), noTask.err());
        Run missingConfig = run("train", "reconstruct", "--config", tmp.resolve("none.json").toString());
        assertEquals(2, missingConfig.code());
        assertTrue(missingConfig.err().contains("none.json"), missingConfig.err());
    }

    @Test
    void anUnexpectedFailureIsOneLineWithExitOneAndTheTraceOnlyWithVerbose() throws Exception {
        Path decoder = tmp.resolve("decoder");
        Files.createDirectories(decoder);
        try (var files = Files.list(SharedModels.stories())) {
            for (Path f : files.filter(Files::isRegularFile).toList()) {
                Files.copy(f, decoder.resolve(f.getFileName().toString()));
            }
        }
        JsonObject config = JsonParser.parseString(Files.readString(decoder.resolve("config.json"))).getAsJsonObject();
        JsonArray eos = new JsonArray();
        eos.add("a"); // a number is expected: the config reader fails in a way no check foresaw
        config.add("eos_token_id", eos);
        Files.writeString(decoder.resolve("config.json"), config.toString());

        Run quiet = run("generate", "--decoder", decoder.toString(), "--prompt", "x");
        assertEquals(1, quiet.code());
        assertEquals(1, quiet.err().strip().lines().count(), quiet.err());
        assertTrue(quiet.err().startsWith("refrag: unexpected failure: ") && quiet.err().contains("--verbose"),
                quiet.err());
        Run verbose = run("generate", "--decoder", decoder.toString(), "--prompt", "x", "--verbose");
        assertEquals(1, verbose.code());
        assertTrue(verbose.err().contains("\tat "), "the stack trace follows with --verbose");
    }
}
