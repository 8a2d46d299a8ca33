package readme;

import io.refrag.core.Refrag;
import io.refrag.core.testing.SharedModels;
import io.refrag.langchain4j.ChatPromptFormat;
import io.refrag.server.RefragServer;
import io.refrag.server.ServerOptions;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The README's OpenAI SDK example is this file, as written, and it gets an answer from a running server. */
class ServerReadmeIT {
    @Test
    void theOpenAiSdkExampleIsInTheReadmeAndGetsAnAnswer() throws Exception {
        String readme = Files.readString(SharedModels.repo("README.md"));
        String marker = "<!-- compiled: OpenAiClientExample.java -->\n```java\n";
        int at = readme.indexOf(marker);
        assertTrue(at >= 0, "README.md lacks " + marker.strip());
        String block = readme.substring(at + marker.length(), readme.indexOf("```\n", at + marker.length()));
        assertEquals(Files.readString(Path.of("src/test/java/readme/OpenAiClientExample.java"))
                .replaceFirst("package readme;\n\n", ""), block);
        try (Refrag refrag = Refrag.load(SharedModels.shippedModel(), io.refrag.core.model.ModelOptions.defaults());
                RefragServer server = RefragServer.start(refrag, ChatPromptFormat.plain(), ServerOptions.defaults()
                        .withPort(0).withModelName("refrag-stories260k-k8"))) {
            PrintStream original = System.out;
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
            try {
                OpenAiClientExample.main(new String[] {"http://127.0.0.1:" + server.port() + "/v1"});
            } finally {
                System.setOut(original);
            }
            String printed = out.toString(StandardCharsets.UTF_8);
            assertTrue(printed.contains("total_chunks=2") && printed.contains("ttft_ms"), printed);
        }
    }
}
