package io.refrag.spark;

import com.google.gson.JsonObject;
import io.refrag.core.cache.ChunkStoreLayout;
import io.refrag.core.testing.SharedModels;
import org.junit.jupiter.api.Test;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code java -jar refrag-spark/target/refrag-spark-local.jar ...} as the README runs it: no Spark install. */
class LocalLauncherIT {
    private record Run(int exit, String out, String err) {
    }

    private static Run launch(String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of(java(), "-jar",
                SharedModels.repo("refrag-spark/target/refrag-spark-local.jar").toString()));
        cmd.addAll(List.of(args));
        return run(cmd);
    }

    private static String java() {
        return Path.of(System.getProperty("java.home"), "bin", "java").toString();
    }

    private static Run run(List<String> cmd) throws IOException, InterruptedException {
        Path err = Files.createTempFile("launcher", ".err");
        Process p = new ProcessBuilder(cmd).redirectError(err.toFile()).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(300, TimeUnit.SECONDS), "the launcher did not finish");
        return new Run(p.exitValue(), out, Files.readString(err));
    }

    private static Path jsonlCorpus(Path dir) throws IOException {
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
        return corpus;
    }

    @Test
    void theLauncherEncodesAJsonlCorpusAndRefusesBadInputWithOneLine() throws Exception {
        Path dir = Files.createTempDirectory("refrag-launcher");
        Path corpus = jsonlCorpus(dir);
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

    /**
     * The README's spark-submit line, with Spark's own submit class (what {@code spark-submit} runs) on the class path
     * of the build's Spark jars: the job jar plus {@code target/lib/job} as {@code --jars}, master local.
     */
    @Test
    void theSparkSubmitLineRunsTheJobJarWithTheJobLibraries() throws Exception {
        Path dir = Files.createTempDirectory("refrag-submit");
        Path corpus = jsonlCorpus(dir);
        Path lib = SharedModels.repo("refrag-spark/target/lib");
        List<String> jobJars;
        try (Stream<Path> files = Files.list(lib.resolve("job"))) {
            jobJars = files.map(Path::toString).sorted().toList();
        }
        String slf4j = jobJars.stream().filter(j -> j.contains("slf4j-api")).findFirst().orElseThrow();
        List<String> cmd = new ArrayList<>(List.of(java()));
        cmd.addAll(List.of(System.getProperty("refrag.spark.opens").split(" ")));
        cmd.addAll(List.of("-cp", lib.resolve("spark") + "/*" + File.pathSeparator + slf4j,
                "org.apache.spark.deploy.SparkSubmit", "--master", "local[2]", "--class", "io.refrag.spark.CorpusJob",
                "--conf", "spark.driver.extraJavaOptions=-Dai.djl.offline=true", "--conf", "spark.ui.enabled=false",
                "--jars", String.join(",", jobJars),
                SharedModels.repo("refrag-spark/target/refrag-spark.jar").toString(),
                "--model", SharedModels.shippedModel().toString(), "--corpus", corpus.toString(),
                "--store", dir.resolve("store").toString()));
        Run submitted = run(cmd);
        assertEquals(0, submitted.exit(), submitted.err());
        assertTrue(submitted.out().matches("(?s)20 passages, \\d+ distinct chunks: 0 already in the store, \\d+ "
                + "encoded into \\d+ segments.*"), submitted.out());
        assertTrue(Files.isRegularFile(dir.resolve("store").resolve(ChunkStoreLayout.FINGERPRINT_FILE)));
    }
}
