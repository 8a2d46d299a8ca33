package io.refrag.spark;

import com.google.gson.JsonObject;
import io.refrag.core.cache.ChunkStoreLayout;
import io.refrag.core.testing.SharedModels;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code java -jar refrag-spark/target/refrag-spark-local.jar ...} as the README runs it: no Spark install. */
class LocalLauncherIT {
    private record Run(int exit, String out, String err) {
    }

    private static Run launch(String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-jar", SharedModels.repo("refrag-spark/target/refrag-spark-local.jar").toString()));
        cmd.addAll(List.of(args));
        Path err = Files.createTempFile("launcher", ".err");
        Process p = new ProcessBuilder(cmd).redirectError(err.toFile()).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(300, TimeUnit.SECONDS), "the launcher did not finish");
        return new Run(p.exitValue(), out, Files.readString(err));
    }

    @Test
    void theLauncherEncodesAJsonlCorpusAndRefusesBadInputWithOneLine() throws Exception {
        Path dir = Files.createTempDirectory("refrag-launcher");
        Path corpus = dir.resolve("passages.jsonl");
        List<String> lines = Files.readAllLines(SharedModels.path("data/corpus_small.txt")).subList(0, 20);
        List<String> jsonl = new ArrayList<>();
        for (int i = 0; i < lines.size(); i++) {
            JsonObject passage = new JsonObject();
            passage.addProperty("id", "p" + i);
            passage.addProperty("text", lines.get(i));
            jsonl.add(passage.toString());
        }
        Files.write(corpus, jsonl);
        Path store = dir.resolve("store");
        String model = SharedModels.shippedModel().toString();

        Run first = launch("--master", "local[2]", "--model", model, "--corpus", corpus.toString(), "--store",
                store.toString());
        assertEquals(0, first.exit(), first.err());
        assertTrue(first.out().matches("(?s)20 passages, \\d+ distinct chunks: 0 already in the store, \\d+ encoded "
                + "into \\d+ segments in .*chunks/s\\)\\s*"), first.out());
        assertTrue(first.err().contains("refrag-spark: chunks encoded"), "progress is reported");
        assertTrue(Files.isRegularFile(store.resolve(ChunkStoreLayout.FINGERPRINT_FILE)));

        Run otherK = launch("--master", "local[1]", "--model", model, "--corpus", corpus.toString(), "--store",
                store.toString(), "--k", "16");
        assertEquals(2, otherK.exit(), otherK.err());
        List<String> refusal = otherK.err().lines().filter(l -> l.startsWith("refrag-spark:")).toList();
        assertEquals(1, refusal.size(), otherK.err());
        assertTrue(refusal.get(0).contains("k 8 in the store, 16 in this pipeline"), refusal.get(0));

        Run noModel = launch("--corpus", corpus.toString(), "--store", store.toString());
        assertEquals(2, noModel.exit());
        assertTrue(noModel.err().strip().startsWith("refrag-spark: Missing required option: '--model"),
                noModel.err());
    }
}
