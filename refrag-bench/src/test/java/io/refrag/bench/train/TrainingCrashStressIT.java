package io.refrag.bench.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.refrag.bench.cli.Main;
import io.refrag.core.testing.SharedModels;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * Plain {@code train reconstruct} runs, back to back, each in its own JVM, while a second CPU-bound process competes
 * for the cores: none may crash. A run loads its models on short-lived threads and starts training right after; before
 * the loader's end was awaited natively, one run in three crashed in its first backward pass on a loaded machine.
 */
class TrainingCrashStressIT {
    private static final int RUNS = 8;

    @TempDir
    Path tmp;

    @Test
    void manyTrainingRunsUnderASecondCpuLoadNeverCrash() throws Exception {
        Path config = tmp.resolve("reconstruct.json");
        Files.writeString(config, """
                {"decoder": "%s", "encoder": "%s", "corpus": "%s", "output": "%s", "k": 8, "pooling": "cls",
                 "heldOutDocuments": 5, "evalSamples": 4, "maxChunks": 4, "trainEncoder": false, "curriculum": true,
                 "device": "cpu",
                 "training": {"steps": 3, "batchSize": 2, "learningRate": 0.01, "warmupSteps": 1, "seed": 1}}
                """.formatted(SharedModels.stories(), SharedModels.miniLm(), SharedModels.path("data/corpus_small.txt"),
                tmp.resolve("out")));
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process load = new ProcessBuilder("sh", "-c", "while :; do :; done").start(); // the second CPU-bound process
        try {
            for (int run = 1; run <= RUNS; run++) {
                Path log = tmp.resolve("run-" + run + ".log");
                Process p = new ProcessBuilder(java, "-Dai.djl.offline=true", "-XX:ErrorFile=" + tmp.resolve(
                        "hs_err_%p.log"), "-cp", System.getProperty("java.class.path"), Main.class.getName(), "train",
                        "reconstruct", "--config", config.toString()).redirectErrorStream(true)
                        .redirectOutput(log.toFile()).start();
                assertTrue(p.waitFor(5, TimeUnit.MINUTES), "run " + run + " finishes");
                String output = Files.readString(log, StandardCharsets.UTF_8);
                System.out.printf("TrainingCrashStressIT: run %d of %d under load: exit %d%n", run, RUNS,
                        p.exitValue());
                assertEquals(0, p.exitValue(), "run " + run + " crashed or failed:\n" + output);
                assertTrue(output.contains("reconstruct: 3 steps"), output);
            }
        } finally {
            load.destroyForcibly();
        }
        try (Stream<Path> files = Files.list(tmp)) {
            List<Path> crashes = files.filter(f -> f.getFileName().toString().startsWith("hs_err")).toList();
            assertTrue(crashes.isEmpty(), "JVM crash reports: " + crashes + " " + read(crashes));
        }
    }

    private static String read(List<Path> files) throws IOException {
        StringBuilder b = new StringBuilder();
        for (Path f : files) {
            String text = Files.readString(f);
            b.append(text, 0, Math.min(4000, text.length()));
        }
        return b.toString();
    }
}
