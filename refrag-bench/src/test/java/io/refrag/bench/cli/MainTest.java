package io.refrag.bench.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.refrag.core.checkpoint.SafetensorsCheckpoint;
import io.refrag.core.checkpoint.SafetensorsWriter;
import io.refrag.core.testing.Json;
import io.refrag.core.testing.SharedModels;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

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

    /** @return a copy of the stories260K folder under {@code tmp}, to edit */
    private Path copyOfStories(String name) throws IOException {
        Path copy = tmp.resolve(name);
        Files.createDirectories(copy);
        try (var files = Files.list(SharedModels.stories())) {
            for (Path f : files.filter(Files::isRegularFile).toList()) {
                Files.copy(f, copy.resolve(f.getFileName().toString()));
            }
        }
        return copy;
    }

    /** @return {@code compare} on the shared models and corpus_small with question "q", then {@code extra} */
    private static Run compareOnCorpus(String... extra) {
        List<String> args = new ArrayList<>(List.of("compare", "--decoder", stories(), "--encoder",
                SharedModels.miniLm().toString(), "--context-file", SharedModels.path("data/corpus_small.txt")
                        .toString(), "--question", "q"));
        args.addAll(List.of(extra));
        return run(args.toArray(String[]::new));
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
        JsonArray runs = c.json().getAsJsonArray("contexts").get(0).getAsJsonObject().getAsJsonArray("runs");
        assertEquals(5, runs.size());
        assertEquals("full-context", runs.get(0).getAsJsonObject().get("mode").getAsString());
        assertEquals(1.0, runs.get(0).getAsJsonObject().get("ttftSpeedup").getAsDouble(), 1e-12);
        assertTrue(runs.get(4).getAsJsonObject().get("cached").getAsBoolean());
        assertTrue(Files.readString(chart).contains("<polyline"));

        // quality beside speed, also when p > 0 meets the "none" policy (which expands nothing)
        Run q = run("compare", "--decoder", stories(), "--encoder", SharedModels.miniLm().toString(),
                "--question", "Who had a dog?", "--context-file", ctx.toString(), "--k", "8,16", "--repeats", "1",
                "--max-new-tokens", "3", "--p", "0.25", "--eval-corpus",
                SharedModels.shippedModel().resolve("heldout-stories.txt").toString(), "--eval-documents", "2",
                "--json");
        assertEquals(0, q.code(), q.err());
        assertEquals(2, q.json().get("heldOutDocuments").getAsInt());
        JsonArray qualityRuns = q.json().getAsJsonArray("contexts").get(0).getAsJsonObject().getAsJsonArray("runs");
        for (var e : qualityRuns) {
            assertTrue(e.getAsJsonObject().has("heldOutNll") && e.getAsJsonObject().has("gainKept"), e.toString());
        }
        assertEquals(1.0, qualityRuns.get(0).getAsJsonObject().get("gainKept").getAsDouble(), 1e-9,
                "full context keeps all of its own gain");
    }

    @Test
    void theShippedModelWorksWhereverItIsCopied() throws Exception {
        Path copy = tmp.resolve("elsewhere/model");
        Files.createDirectories(copy);
        Path shipped = SharedModels.shippedModel();
        try (var files = Files.walk(shipped)) {
            for (Path f : files.filter(f -> !f.equals(shipped)).toList()) {
                assertTrue(!Files.isSymbolicLink(f), "no links: " + f);
                Path target = copy.resolve(shipped.relativize(f).toString());
                if (Files.isDirectory(f)) {
                    Files.createDirectories(target);
                } else {
                    Files.copy(f, target);
                }
            }
        }
        Run r = run("generate", "--model", copy.toString(), "--question", "Who is Lily?", "--context-file",
                copy.resolve("demo-story.txt").toString(), "--max-new-tokens", "4", "--json");
        assertEquals(0, r.code(), r.err());
        assertEquals(4, r.json().get("generatedTokens").getAsInt(), r.out());
        assertTrue(r.json().get("totalChunks").getAsInt() > 0, r.out());
        String manifest = Files.readString(copy.resolve("refrag.json"));
        assertTrue(manifest.contains("\"decoder\": \"" + SharedModels.STORIES_ID + "\"")
                && manifest.contains("\"encoder\": \"" + SharedModels.MINILM_ID + "\""), manifest);
    }

    @Test
    void serveAnswersOverHttpUntilInterruptedAndRefusesABadPortFirst() throws Exception {
        Run badPort = run("serve", "--model", SharedModels.shippedModel().toString(), "--port", "70000");
        assertEquals(2, badPort.code());
        assertEquals("refrag: port must be 0-65535, got 70000", badPort.err().strip());

        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int[] code = {-1};
        Thread serving = new Thread(() -> code[0] = new Main(new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8)).run(new String[] {"serve", "--model",
                    SharedModels.shippedModel().toString(), "--port", "0", "--model-name", "m"}));
        serving.start();
        java.util.regex.Matcher port = null;
        for (int i = 0; i < 600 && (port == null || !port.find(0)); i++) {
            Thread.sleep(100);
            port = java.util.regex.Pattern.compile("serving 'm' on http://127.0.0.1:(\\d+)/v1")
                    .matcher(out.toString(StandardCharsets.UTF_8));
        }
        assertTrue(port != null && port.find(0), out.toString(StandardCharsets.UTF_8) + err);
        var http = java.net.http.HttpClient.newHttpClient();
        var answer = http.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create("http://127.0.0.1:"
                + port.group(1) + "/v1/completions")).POST(java.net.http.HttpRequest.BodyPublishers.ofString(
                "{\"model\": \"m\", \"prompt\": \"Once upon a time\", \"max_tokens\": 5, \"refrag\": {\"passages\": "
                + "[\"Lily had a red ball.\"]}}")).build(), java.net.http.HttpResponse.BodyHandlers.ofString());
        assertEquals(200, answer.statusCode(), answer.body());
        JsonObject body = JsonParser.parseString(answer.body()).getAsJsonObject();
        assertEquals(5, body.getAsJsonObject("usage").get("completion_tokens").getAsInt());
        assertEquals(1, body.getAsJsonObject("refrag").get("total_chunks").getAsInt());
        serving.interrupt();
        serving.join(60_000);
        assertEquals(0, code[0], err.toString(StandardCharsets.UTF_8));
    }

    @Test
    void badCommandLinesExitWithCodeTwoAndOneLine() {
        Run unknownOption = run("generate", "--decoder", stories(), "--prompt", "x", "--temprature", "1");
        assertEquals(2, unknownOption.code());
        assertTrue(unknownOption.err().contains("unknown option '--temprature'; did you mean --temperature"),
                unknownOption.err());
        assertEquals(1, unknownOption.err().strip().lines().count());
        Run typo = run("generat", "--prompt", "x");
        assertEquals(2, typo.code());
        assertTrue(typo.err().contains("unexpected argument 'generat'; did you mean generate"), typo.err());

        Run missingFolder = run("generate", "--decoder", tmp.resolve("nope").toString(), "--prompt", "x");
        assertEquals(2, missingFolder.code());
        assertTrue(missingFolder.err().contains("no such model folder") && missingFolder.err().contains("nope"),
                missingFolder.err());

        Run badNumber = run("generate", "--decoder", stories(), "--prompt", "x", "--max-new-tokens", "ten");
        assertEquals(2, badNumber.code());
        assertTrue(badNumber.err().contains("Invalid value for option '--max-new-tokens': 'ten' is not an int"),
                badNumber.err());

        Run badP = run("generate", "--decoder", stories(), "--question", "q", "--context-file",
                SharedModels.path("data/corpus_small.txt").toString(), "--encoder",
                SharedModels.miniLm().toString(), "--p", "2");
        assertEquals(2, badP.code());
        assertTrue(badP.err().contains("[0, 1]"), badP.err());

        Run twice = run("generate", "--decoder", stories(), "--prompt", "x", "--prompt", "y");
        assertEquals(2, twice.code());
        assertTrue(twice.err().contains("option '--prompt' (TEXT) should be specified only once"), twice.err());
        Run help = run("eval", "--help");
        assertEquals(0, help.code());
        assertTrue(help.out().contains("eval ") && !help.out().contains("  compare "), help.out());
        Run policyFile = run("generate", "--decoder", stories(), "--encoder", SharedModels.miniLm().toString(),
                "--question", "q", "--context-file", SharedModels.path("data/corpus_small.txt").toString(),
                "--policy-file", SharedModels.shippedModel().resolve("policy.safetensors").toString());
        assertEquals(2, policyFile.code());
        assertTrue(policyFile.err().contains("needs --policy learned"), policyFile.err());

        Run bigK = run("generate", "--decoder", stories(), "--encoder", SharedModels.miniLm().toString(),
                "--question", "q", "--context-file", SharedModels.path("data/corpus_small.txt").toString(),
                "--k", "4096");
        assertEquals(2, bigK.code());
        assertTrue(bigK.err().contains("exceeds the encoder's maximum input"), bigK.err());

        assertEquals(2, run("bogus").code());
        assertEquals(2, run().code());
        Run badId = run("hub-import", "--from", stories(), "--id", "no-slash");
        assertEquals(2, badId.code());
        assertEquals("refrag: hub-import: --id must be owner/name[@revision], got 'no-slash'", badId.err().strip());
        Run notAModel = run("hub-import", "--from", tmp.toString(), "--id", "a/b");
        assertEquals(2, notAModel.code());
        assertTrue(notAModel.err().contains("lacks [config.json"), notAModel.err());
        Run noTask = run("train", "--config", "x.json");
        assertEquals(2, noTask.code());
        assertTrue(noTask.err().contains("train: Missing required parameter: 'reconstruct|cpt|policy'"),
                noTask.err());
        Run missingConfig = run("train", "reconstruct", "--config", tmp.resolve("none.json").toString());
        assertEquals(2, missingConfig.code());
        assertTrue(missingConfig.err().contains("none.json"), missingConfig.err());
    }

    @Test
    void anUnexpectedFailureIsOneLineWithExitOneAndTheTraceOnlyWithVerbose() {
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        Main main = new Main(new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        assertEquals(1, main.unexpected(new IllegalStateException("broken\ninvariant"), false));
        String quiet = err.toString(StandardCharsets.UTF_8);
        assertEquals(1, quiet.strip().lines().count(), quiet);
        assertTrue(quiet.startsWith("refrag: unexpected failure: java.lang.IllegalStateException: broken invariant")
                && quiet.contains("--verbose"), quiet);
        err.reset();
        assertEquals(1, main.unexpected(new IllegalStateException("broken"), true));
        assertTrue(err.toString(StandardCharsets.UTF_8).contains("\tat "), "the stack trace follows with --verbose");
    }

    @Test
    void configsThatUsedToEndInAStackTraceExitTwoWithOneLine() throws Exception {
        for (String[] edit : new String[][] {{"eos_token_id", "[\"a\"]", "eos_token_id"},
            {"num_attention_heads", "0", "num_attention_heads"}, {"rms_norm_eps", "-1e-5", "rms_norm_eps"},
            {"hidden_size", "4294967360", "hidden_size"}}) {
            Path decoder = copyOfStories("decoder-" + edit[0]);
            JsonObject config = JsonParser.parseString(Files.readString(decoder.resolve("config.json")))
                    .getAsJsonObject();
            config.add(edit[0], JsonParser.parseString(edit[1]));
            Files.writeString(decoder.resolve("config.json"), config.toString());
            Run r = run("generate", "--decoder", decoder.toString(), "--prompt", "x");
            assertEquals(2, r.code(), edit[0] + ": " + r.err());
            assertEquals(1, r.err().strip().lines().count(), r.err());
            assertTrue(r.err().contains(edit[2]), r.err());
        }
        Run threads = run("generate", "--decoder", stories(), "--prompt", "x", "--threads", "100000");
        assertEquals(2, threads.code());
        assertTrue(threads.err().contains("--threads must be in [1, "), threads.err());
        Run pooling = run("generate", "--model", SharedModels.shippedModel().toString(), "--question", "q",
                "--context-file", SharedModels.shippedModel().resolve("demo-story.txt").toString(), "--pooling", "max");
        assertEquals(2, pooling.code(), "a bad --pooling is not ignored beside --model: " + pooling.err());
        assertTrue(pooling.err().contains("unknown pooling 'max'; allowed: cls, mean, pooler"), pooling.err());
        Run noPeer = run("peer", "--peer-bench", tmp.resolve("none").toString());
        assertEquals(2, noPeer.code());
        assertTrue(noPeer.err().contains("--peer-bench") && noPeer.err().contains("is not an existing file"),
                noPeer.err());
        Run zeroReps = run("peer", "--peer-bench", SharedModels.path("tools/llamacpp-peer/peer-bench").toString(),
                "--reps", "0");
        assertEquals(2, zeroReps.code());
        assertTrue(zeroReps.err().contains("must be >= 1"), zeroReps.err());
        Run manyStreams = run("concurrency", "--streams", "1,65");
        assertEquals(2, manyStreams.code());
        assertTrue(manyStreams.err().contains("every stream count in [1, 64]"), manyStreams.err());
        Run passages = compareOnCorpus("--passages", "-1");
        assertEquals(2, passages.code());
        assertTrue(passages.err().contains("--passages must be >= 1"), passages.err());
    }

    @Test
    void nanWeightsGiveAClearErrorInsteadOfEmptyText() throws Exception {
        Path decoder = copyOfStories("nan-decoder");
        Path weights = decoder.resolve("model.safetensors");
        SafetensorsWriter w = new SafetensorsWriter();
        try (SafetensorsCheckpoint c = SafetensorsCheckpoint.openFile(weights)) {
            for (String name : c.names()) {
                float[] v = c.readFloats(name);
                if (name.equals("model.norm.weight")) {
                    v[0] = Float.NaN;
                }
                w.add(name, v, c.info(name).shape());
            }
        }
        w.write(weights);
        Run r = run("generate", "--decoder", decoder.toString(), "--prompt", "Once", "--threads", "1");
        assertEquals(2, r.code(), r.err());
        assertTrue(r.err().contains("non-finite value (NaN) in its logits") && r.err().contains("weights"), r.err());
        Path text = tmp.resolve("story.txt");
        Files.writeString(text, "Once upon a time there was a cat.");
        Run ppl = run("perplexity", "--decoder", decoder.toString(), "--text-file", text.toString(), "--threads", "1");
        assertEquals(2, ppl.code(), "no NaN perplexity with exit 0: " + ppl.out() + ppl.err());
        assertTrue(ppl.err().contains("non-finite value (NaN) in its token NLLs"), ppl.err());
    }

    @Test
    void aHugeMaxNewTokensIsBoundedByTheContextNotAllocated() {
        Run r = run("generate", "--decoder", stories(), "--prompt", "Once", "--max-new-tokens", "2147483647",
                "--json", "--threads", "1");
        assertEquals(0, r.code(), r.err());
        int generated = r.json().get("generatedTokens").getAsInt();
        assertTrue(generated >= 1 && generated <= 512, "at most the context length: " + generated);
    }

    @Test
    void evalReportsEveryModeAsJsonAndRefusesBadInput() throws Exception {
        String heldOut = SharedModels.shippedModel().resolve("heldout-stories.txt").toString();
        Run r = run("eval", "--model", SharedModels.shippedModel().toString(), "--corpus", heldOut, "--documents", "3",
                "--k", "8,16", "--p", "0,0.25", "--policy", "random,learned", "--json", "--threads", "1");
        assertEquals(0, r.code(), r.err());
        JsonObject json = r.json();
        assertEquals(3, json.get("documents").getAsInt());
        assertEquals(0, json.get("skipped").getAsInt());
        JsonArray rows = json.getAsJsonArray("rows");
        assertEquals(2 + 2 * (1 + 2), rows.size(), "none, full, then per k: p=0 and p=0.25 x 2 policies");
        for (var e : rows) {
            JsonObject row = e.getAsJsonObject();
            for (String key : new String[] {"mode", "k", "p", "policy", "meanNll", "perplexity", "gainKept",
                "decoderInputLength", "ttftMillis"}) {
                assertTrue(row.has(key), key + " in " + row);
            }
            assertTrue(!row.has("exactMatch"), "QA fields only with --qa");
        }
        assertEquals("none", rows.get(0).getAsJsonObject().get("mode").getAsString());
        assertEquals(1.0, rows.get(1).getAsJsonObject().get("gainKept").getAsDouble(), 1e-9);
        JsonObject learned = rows.get(4).getAsJsonObject();
        assertEquals("learned", learned.get("policy").getAsString());
        assertEquals(8, learned.get("k").getAsInt());
        assertTrue(!r.err().contains("eval: "), "no progress when JSON goes to a pipe: " + r.err());

        Path chart = tmp.resolve("q.svg");
        Run table = run("eval", "--model", SharedModels.shippedModel().toString(), "--corpus", heldOut,
                "--documents", "2", "--k", "8", "--p", "0", "--chart", chart.toString(), "--threads", "1");
        assertEquals(0, table.code(), table.err());
        assertTrue(table.err().contains("eval: 2/2") && table.err().contains("ETA"), "progress: " + table.err());
        assertTrue(table.out().contains("refrag k=8 p=0.0") && table.out().contains("gain kept"), table.out());
        assertTrue(Files.readString(chart).contains("refrag k=8 p=0.0"), "labelled points");

        Path empty = tmp.resolve("empty.txt");
        Files.writeString(empty, "\n\n");
        for (String[] bad : new String[][] {{"--s", "0"}, {"--o", "-1"}, {"--policy", "bogus"},
            {"--corpus", empty.toString()}, {"--chart", tmp.resolve("no/such/dir.svg").toString()}}) {
            List<String> args = new ArrayList<>(List.of("eval", "--model",
                    SharedModels.shippedModel().toString(), "--documents", "1"));
            if (!bad[0].equals("--corpus")) {
                args.addAll(List.of("--corpus", heldOut));
            }
            args.addAll(List.of(bad));
            Run e = run(args.toArray(String[]::new));
            assertEquals(2, e.code(), String.join(" ", bad) + ": " + e.err());
            assertEquals(1, e.err().strip().lines().count(), e.err());
        }
    }

    @Test
    void theReadmesMainJobRunsOnTheShippedModelAndReportsSpeedAndQuality() throws Exception {
        String readme = Files.readString(SharedModels.repo("README.md"));
        String prefix = "mvn -B -q install -DskipTests && scripts/hf-cache-from-shared.sh && java -jar "
                + "refrag-bench/target/refrag-bench.jar ";
        String line = readme.lines().filter(l -> l.startsWith(prefix)).findFirst().orElseThrow();
        SharedModels.shippedModel(); // fills the tests' hub cache, as the script fills the user's
        List<String> args = new ArrayList<>();
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("\"([^\"]*)\"|(\\S+)")
                .matcher(line.substring(prefix.length()));
        while (m.find()) {
            String arg = m.group(1) != null ? m.group(1) : m.group(2);
            // the README runs from the repository root; this test runs in the module folder
            args.add(arg.startsWith("models/") ? SharedModels.repo(arg).toString() : arg);
        }
        assertEquals("compare", args.get(0));
        Run r = run(args.toArray(String[]::new));
        assertEquals(0, r.code(), r.err());
        for (String mode : new String[] {"full-context", "refrag k=8 cached", "refrag k=16 cached",
            "refrag k=32 cached"}) {
            assertTrue(r.out().contains(mode), mode + " in\n" + r.out());
        }
        assertTrue(r.out().contains("continues:") && r.out().contains("TTFT x") && r.out().contains("gain kept")
                && r.out().contains("never trained on"), r.out());
        assertTrue(r.err().contains("compare: 14/14") && r.err().contains("compare quality: 40/40")
                && r.err().contains("ETA"), "progress with totals: " + r.err());
        // a context near the window, where both modes run side by side; one beyond it, where full context is refused
        // as its row's result and REFRAG at k = 16 serves it
        String[] contexts = r.out().split("\nContext: ");
        assertEquals(3, contexts.length, r.out());
        java.util.regex.Matcher near = java.util.regex.Pattern.compile("(\\d+) passages, ([\\d,]+) full-context tokens")
                .matcher(contexts[1]);
        assertTrue(near.find() && Integer.parseInt(near.group(2).replace(",", "")) > 400, contexts[1]);
        assertTrue(java.util.regex.Pattern.compile("refrag k=8 cached +0\\.25 +\\d+ +[\\d.]+ +[\\d.]+ +[\\d.]+ "
                + "+[\\d.]+ +[\\d.]+ ").matcher(contexts[1]).find(),
                "a TTFT ratio beside full context: " + contexts[1]);
        java.util.regex.Matcher far = java.util.regex.Pattern.compile("(\\d+) passages, ([\\d,]+) full-context tokens")
                .matcher(contexts[2]);
        assertTrue(far.find() && Integer.parseInt(far.group(2).replace(",", "")) > 1_900, contexts[2]);
        assertTrue(java.util.regex.Pattern.compile("full-context +refused: needs [\\d,]+ positions, the decoder's "
                + "window is 512").matcher(contexts[2]).find(), contexts[2]);
        assertTrue(java.util.regex.Pattern.compile("refrag k=16 cached +0\\.\\d+ +\\d+ +[\\d.]+").matcher(contexts[2])
                .find(), "REFRAG k=16 serves the 2,000-token context: " + contexts[2]);
    }

    @Test
    void sampleWritesOneDocumentPerLineAndOutputFoldersAreCheckedFirst() throws Exception {
        Path out = tmp.resolve("stories.txt");
        Run r = run("sample", "--decoder", stories(), "--documents", "3", "--tokens", "12", "--seed", "4", "--output",
                out.toString(), "--threads", "1");
        assertEquals(0, r.code(), r.err());
        List<String> lines = Files.readAllLines(out);
        assertEquals(3, lines.size());
        assertTrue(lines.stream().noneMatch(String::isBlank));
        Run again = run("sample", "--decoder", stories(), "--documents", "3", "--tokens", "12", "--seed", "4",
                "--output", tmp.resolve("again.txt").toString(), "--threads", "1");
        assertEquals(0, again.code());
        assertEquals(lines, Files.readAllLines(tmp.resolve("again.txt")), "seeded");

        Run noFolder = compareOnCorpus("--chart", tmp.resolve("missing/chart.svg").toString());
        assertEquals(2, noFolder.code());
        assertTrue(noFolder.err().contains("does not exist"), noFolder.err());
        Run both = compareOnCorpus("--prompt", "p");
        assertEquals(2, both.code());
        assertTrue(both.err().contains("not both"), both.err());
    }

    @Test
    void generateTakesAFolderAndNPassagesAndStreamsTheAnswer() throws Exception {
        String[] request = {"generate", "--model", SharedModels.shippedModel().toString(), "--question", "Who?",
            "--context-file", SharedModels.shippedModel().resolve("heldout-stories.txt").toString(), "--passages", "2",
            "--max-new-tokens", "16", "--threads", "1"};
        Run json = run(concat(request, "--json"));
        assertEquals(0, json.code(), json.err());
        Run streamed = run(concat(request, "--stream"));
        assertEquals(0, streamed.code(), streamed.err());
        String text = json.json().get("text").getAsString();
        assertTrue(streamed.out().startsWith(text + System.lineSeparator() + "[") && !text.isEmpty(), streamed.out());
        assertTrue(json.json().get("totalChunks").getAsInt() > 0);
        Run both = run(concat(request, "--stream", "--json"));
        assertEquals(2, both.code());
        assertEquals(1, both.err().strip().lines().count(), both.err());

        String[] continuation = {"generate", "--model", SharedModels.shippedModel().toString(), "--prompt",
            " The next day, ", "--context-file", SharedModels.shippedModel().resolve("demo-story.txt").toString(),
            "--max-new-tokens", "8", "--threads", "1", "--json"};
        Run continued = run(continuation);
        assertEquals(0, continued.code(), "--prompt after the passages is a continuation: " + continued.err());
        assertTrue(continued.json().get("decoderInputLength").getAsInt()
                < continued.json().get("fullContextTokens").getAsInt(), continued.out());
        Run twoTexts = run(concat(continuation, "--question", "Who?"));
        assertEquals(2, twoTexts.code());
        assertTrue(twoTexts.err().contains("not both"), twoTexts.err());
    }

    @Test
    void sizesFromConfigsAndOptionsAreBoundedBeforeAnyWork() throws Exception {
        Path huge = copyOfStories("huge-window");
        String config = Files.readString(huge.resolve("config.json"));
        Files.writeString(huge.resolve("config.json"), config.replaceFirst("\"max_position_embeddings\":\\s*\\d+",
                "\"max_position_embeddings\": 2147483647"));
        Run kv = run("generate", "--decoder", huge.toString(), "--prompt", "Once", "--max-new-tokens", "2000000000",
                "--threads", "1");
        assertEquals(2, kv.code(), kv.err());
        assertTrue(kv.err().contains("a KV cache of") && kv.err().contains("ask for fewer new tokens"), kv.err());

        Run o = run("eval", "--model", SharedModels.shippedModel().toString(), "--corpus",
                SharedModels.shippedModel().resolve("heldout-stories.txt").toString(), "--o", "2147483647",
                "--documents", "1", "--threads", "1");
        assertEquals(2, o.code(), o.err());
        assertTrue(o.err().contains("do not fit the decoder's context"), o.err());

        Run documents = run("sample", "--decoder", stories(), "--documents", "2147483647", "--output",
                tmp.resolve("s.txt").toString());
        assertEquals(2, documents.code(), documents.err());
        assertTrue(documents.err().contains("documents in [1, 1000000]"), documents.err());

        Run negative = compareOnCorpus("--eval-corpus", SharedModels.path("data/corpus_small.txt").toString(),
                "--eval-documents", "-2");
        assertEquals(2, negative.code(), negative.err());
        assertTrue(negative.err().contains("compare: --eval-documents must be >= 1, got -2"), negative.err());

        Path empty = Files.writeString(tmp.resolve("empty.txt"), "\n\n");
        Run noDocuments = run("eval", "--model", SharedModels.shippedModel().toString(), "--corpus", empty.toString());
        assertEquals(2, noDocuments.code(), noDocuments.err());
        assertTrue(noDocuments.err().contains(empty + " holds no documents"), noDocuments.err());
    }

    /** @return a REFRAG folder with the shipped model's trained parts and no chunk cache, in {@code tmp/name} */
    private Path precomputeFolder(String name) throws IOException {
        Path folder = Files.createDirectories(tmp.resolve(name));
        for (String f : List.of("projector.safetensors", "policy.safetensors")) {
            Files.copy(SharedModels.shippedModel().resolve(f), folder.resolve(f));
        }
        io.refrag.core.RefragManifest shipped = io.refrag.core.RefragManifest.read(SharedModels.shippedModel());
        shipped.withProjector(folder.resolve("projector.safetensors"))
                .withPolicy(shipped.policy(), folder.resolve("policy.safetensors")).write(folder);
        return folder;
    }

    private Path twelveStories() throws IOException {
        Path corpus = tmp.resolve("corpus.txt");
        Files.write(corpus, Files.readAllLines(SharedModels.shippedModel().resolve("heldout-stories.txt"))
                .subList(0, 12));
        return corpus;
    }

    @Test
    void precomputeFailsWithExit2AndLeavesTheFolderAsItWasWhenNothingCanPersist() throws Exception {
        Path corpus = twelveStories();
        Path folder = precomputeFolder("k");
        String manifest = Files.readString(folder.resolve("refrag.json"));
        Run hugeK = run("precompute", "--model", folder.toString(), "--corpus", corpus.toString(), "--k", "100000",
                "--threads", "1");
        assertEquals(2, hugeK.code(), hugeK.err());
        assertTrue(hugeK.err().contains("exceeds the encoder's maximum input"), hugeK.err());
        assertEquals(manifest, Files.readString(folder.resolve("refrag.json")), "refrag.json is untouched");
        assertFalse(Files.exists(folder.resolve("chunk-cache")), "no cache folder is left behind");

        Path fileAsCache = precomputeFolder("file");
        Files.writeString(fileAsCache.resolve("cache"), "not a folder");
        io.refrag.core.RefragManifest.read(fileAsCache).withCacheDir(fileAsCache.resolve("cache")).write(fileAsCache);
        String named = Files.readString(fileAsCache.resolve("refrag.json"));
        Run notAFolder = run("precompute", "--model", fileAsCache.toString(), "--corpus", corpus.toString(),
                "--threads", "1");
        assertEquals(2, notAFolder.code(), notAFolder.err());
        assertEquals(1, notAFolder.err().strip().lines().count(), notAFolder.err());
        assertTrue(notAFolder.err().contains("cannot persist embeddings"), notAFolder.err());
        assertFalse(notAFolder.out().contains("encoded"), notAFolder.out());
        assertEquals(named, Files.readString(fileAsCache.resolve("refrag.json")));
        assertEquals("not a folder", Files.readString(fileAsCache.resolve("cache")));
    }

    @Test
    void precomputeFillsTheFoldersCacheAndResumesWithoutEncodingAgain() throws Exception {
        Path folder = precomputeFolder("model");
        Path corpus = twelveStories();
        Run first = run("precompute", "--model", folder.toString(), "--corpus", corpus.toString(), "--threads", "1");
        assertEquals(0, first.code(), first.err());
        assertTrue(first.err().contains("now names its chunk cache") && first.err().contains("ETA"), first.err());
        assertTrue(Files.readString(folder.resolve("refrag.json")).contains("\"cacheDir\": \"chunk-cache\""));
        Run again = run("precompute", "--model", folder.toString(), "--corpus", corpus.toString(), "--json",
                "--threads", "1");
        assertEquals(0, again.code(), again.err());
        int chunks = again.json().get("chunks").getAsInt();
        assertTrue(chunks > 12, again.out());
        assertEquals(0, again.json().get("encoded").getAsInt(), "everything was cached by the first run");
        assertEquals(chunks, again.json().get("alreadyCached").getAsInt());
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("(\\d+) chunks of k=8: (\\d+) encoded, (\\d+) "
                + "already cached").matcher(first.out());
        assertTrue(m.find(), first.out());
        assertEquals(chunks, Integer.parseInt(m.group(1)));
        assertTrue(Integer.parseInt(m.group(2)) > chunks / 2, "the first run encodes (repeated chunks hit): " + first.out());
        assertEquals(chunks, Integer.parseInt(m.group(2)) + Integer.parseInt(m.group(3)));
        Run help = run("precompute", "--help");
        assertEquals(0, help.code());
        assertTrue(help.out().contains("--corpus") && help.out().contains("resume"), help.out());
    }

    private static String[] concat(String[] base, String... more) {
        List<String> all = new ArrayList<>(List.of(base));
        all.addAll(List.of(more));
        return all.toArray(String[]::new);
    }

    @Test
    void theCliLeavesTheThreadCountToTheLibraryUnlessThreadsSaysOtherwise() {
        String key = "ai.djl.pytorch.num_threads";
        String before = System.getProperty(key);
        try {
            System.clearProperty(key);
            assertEquals(0, new CliOptions.Device().modelOptions().threads(),
                    "no --threads: the library chooses when the decoder loads");
            assertEquals(null, System.getProperty(key));
            CliOptions.Device two = new CliOptions.Device();
            two.threads = 2;
            assertEquals(2, two.modelOptions().threads(), "--threads wins");
            assertEquals("2", System.getProperty(key), "and reaches training, which builds its own options");
        } finally {
            if (before == null) {
                System.clearProperty(key);
            } else {
                System.setProperty(key, before);
            }
        }
    }
}
