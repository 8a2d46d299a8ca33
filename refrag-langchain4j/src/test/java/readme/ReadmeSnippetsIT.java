package readme;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.refrag.core.testing.SharedModels;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The README's Java examples are these files, as written: each README block marked {@code <!-- compiled: NAME.java -->}
 * must equal the file (less its package line), which this module compiles, and each runs on the shipped model.
 */
class ReadmeSnippetsIT {
    private static final Path SOURCES = Path.of("src/test/java/readme");

    private static void assertInReadme(String file) throws Exception {
        String readme = Files.readString(SharedModels.repo("README.md"));
        String marker = "<!-- compiled: " + file + " -->\n```java\n";
        int at = readme.indexOf(marker);
        assertTrue(at >= 0, "README.md lacks " + marker.strip());
        int start = at + marker.length();
        String block = readme.substring(start, readme.indexOf("```\n", start));
        String source = Files.readString(SOURCES.resolve(file)).replaceFirst("package readme;\n\n", "");
        assertEquals(source, block, file + " and its README block differ");
    }

    private static String run(ThrowingMain main) throws Exception {
        PrintStream original = System.out;
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        System.setOut(new PrintStream(captured, true, StandardCharsets.UTF_8));
        try {
            main.run();
        } finally {
            System.setOut(original);
        }
        return captured.toString(StandardCharsets.UTF_8);
    }

    private interface ThrowingMain {
        void run() throws Exception;
    }

    @Test
    void theQuickStartIsInTheReadmeAndRuns() throws Exception {
        assertInReadme("QuickStart.java");
        String out = run(() -> QuickStart.main(new String[] {SharedModels.shippedModel().toString()}));
        assertTrue(out.contains("TTFT") && out.contains("chunks expanded"), out);
    }

    @Test
    void theLangchain4jExampleIsInTheReadmeAndAnswers() throws Exception {
        assertInReadme("RagWithLangchain4j.java");
        long start = System.nanoTime();
        String out = run(() -> RagWithLangchain4j.main(new String[] {SharedModels.shippedModel().toString(),
            SharedModels.path("data/corpus_small.txt").toString()}));
        System.out.printf("README langchain4j example: first answer after %.1f s: %s", (System.nanoTime() - start) / 1e9,
                out);
        assertTrue(!out.isBlank(), "an answer");
    }
}
