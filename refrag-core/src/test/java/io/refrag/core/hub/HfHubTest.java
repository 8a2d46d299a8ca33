package io.refrag.core.hub;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.refrag.core.exception.InvalidRequestException;
import io.refrag.core.exception.ModelLoadException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/** Models by id: the hub's cache layout, downloads from a local server speaking the hub's URLs, resume, offline. */
class HfHubTest {
    private static final String COMMIT = "0123456789abcdef0123456789abcdef01234567";

    @TempDir
    Path tmp;

    private HttpServer server;
    private final Map<String, byte[]> files = new LinkedHashMap<>();
    private final List<String> requests = new ArrayList<>();
    private String endpoint;

    @BeforeEach
    void serve() throws IOException {
        files.put("config.json", "{\"model_type\": \"llama\"}".getBytes(StandardCharsets.UTF_8));
        files.put("tokenizer.json", "{\"model\": {}}".getBytes(StandardCharsets.UTF_8));
        byte[] weights = new byte[300_000];
        for (int i = 0; i < weights.length; i++) {
            weights[i] = (byte) (i * 31);
        }
        files.put("model.safetensors", weights);
        files.put("README.md", "# not needed".getBytes(StandardCharsets.UTF_8));
        files.put("onnx/model.onnx", new byte[] {1, 2, 3});
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/", this::handle);
        server.start();
        endpoint = "http://127.0.0.1:" + server.getAddress().getPort();
    }

    @AfterEach
    void stop() {
        server.stop(0);
    }

    /** The hub's API ({@code /api/models/o/n/revision/r?blobs=true}) and file URLs ({@code /o/n/resolve/c/f}). */
    private void handle(HttpExchange x) throws IOException {
        String path = x.getRequestURI().getPath();
        requests.add(x.getRequestMethod() + " " + path + Optional.ofNullable(x.getRequestHeaders().getFirst("Range"))
                .map(r -> " " + r).orElse("") + Optional.ofNullable(x.getRequestHeaders().getFirst("Authorization"))
                .map(a -> " " + a).orElse(""));
        if (path.equals("/api/models/acme/tiny/revision/main")) {
            JsonObject info = new JsonObject();
            info.addProperty("sha", COMMIT);
            JsonArray siblings = new JsonArray();
            files.forEach((name, bytes) -> {
                JsonObject s = new JsonObject();
                s.addProperty("rfilename", name);
                s.addProperty("size", bytes.length);
                s.addProperty("blobId", "blob" + Math.abs(name.hashCode()));
                if (name.endsWith(".safetensors")) {
                    JsonObject lfs = new JsonObject();
                    lfs.addProperty("sha256", sha256(bytes));
                    lfs.addProperty("size", bytes.length);
                    s.add("lfs", lfs);
                }
                siblings.add(s);
            });
            info.add("siblings", siblings);
            reply(x, 200, info.toString().getBytes(StandardCharsets.UTF_8));
            return;
        }
        String prefix = "/acme/tiny/resolve/" + COMMIT + "/";
        byte[] body = path.startsWith(prefix) ? files.get(path.substring(prefix.length())) : null;
        if (body == null) {
            reply(x, 404, new byte[0]);
            return;
        }
        String range = x.getRequestHeaders().getFirst("Range");
        if (range != null) {
            int from = Integer.parseInt(range.replace("bytes=", "").replace("-", ""));
            x.getResponseHeaders().add("Content-Range", "bytes " + from + "-" + (body.length - 1) + "/" + body.length);
            reply(x, 206, Arrays.copyOfRange(body, from, body.length));
        } else {
            reply(x, 200, body);
        }
    }

    private static void reply(HttpExchange x, int status, byte[] body) throws IOException {
        x.sendResponseHeaders(status, body.length == 0 ? -1 : body.length);
        try (OutputStream out = x.getResponseBody()) {
            out.write(body);
        }
    }

    private static String sha256(byte[] bytes) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
        } catch (NoSuchAlgorithmException e) {
            throw new AssertionError(e);
        }
    }

    private HfHub hub(boolean offline) {
        return HfHub.of(tmp.resolve("hub"), endpoint, offline, "secret", null);
    }

    @Test
    void idsParseWithAnOptionalRevisionAndPathsAreNotIds() {
        assertEquals(new HfModelId("sentence-transformers", "all-MiniLM-L6-v2", "main"),
                HfModelId.tryParse("sentence-transformers/all-MiniLM-L6-v2").orElseThrow());
        assertEquals("v1.0", HfModelId.tryParse("acme/tiny@v1.0").orElseThrow().revision());
        assertTrue(HfModelId.tryParse("acme/tiny@" + COMMIT).orElseThrow().isCommit());
        for (String notAnId : List.of("tiny", "/abs/path", "a/b/c", "../x", "a/..", "./x", "a/b@", "")) {
            assertFalse(HfModelId.tryParse(notAnId).isPresent(), notAnId);
        }
    }

    @Test
    void aModelDownloadsIntoTheHubCacheLayoutOnceAndIsThenReadWithoutNetwork() throws Exception {
        Path snapshot = hub(false).resolve("acme/tiny");
        Path repo = tmp.resolve("hub/models--acme--tiny");
        assertEquals(repo.resolve("snapshots/" + COMMIT), snapshot);
        assertEquals(COMMIT, Files.readString(repo.resolve("refs/main")));
        for (String name : List.of("config.json", "tokenizer.json", "model.safetensors")) {
            assertArrayEquals(files.get(name), Files.readAllBytes(snapshot.resolve(name)), name);
            assertTrue(Files.isSymbolicLink(snapshot.resolve(name)), name + " links into blobs/");
            assertEquals(repo.resolve("blobs"), snapshot.resolve(name).toRealPath().getParent());
        }
        assertTrue(Files.exists(repo.resolve("blobs/" + sha256(files.get("model.safetensors")))),
                "an LFS blob is named by its SHA-256, as the hub client names it");
        assertFalse(Files.exists(snapshot.resolve("README.md")) || Files.exists(snapshot.resolve("onnx")),
                "only what the loaders read is downloaded");
        assertTrue(requests.stream().allMatch(r -> r.endsWith("Bearer secret")), requests.toString());

        server.stop(0);
        assertEquals(snapshot, hub(false).resolve("acme/tiny"), "a complete snapshot needs no network");
        assertEquals(snapshot, hub(true).resolve("acme/tiny@" + COMMIT));
    }

    @Test
    void anInterruptedDownloadResumesFromItsIncompleteBlob() throws Exception {
        byte[] weights = files.get("model.safetensors");
        Path blobs = Files.createDirectories(tmp.resolve("hub/models--acme--tiny/blobs"));
        Files.write(blobs.resolve(sha256(weights) + ".incomplete"), Arrays.copyOf(weights, 100_000));
        Path snapshot = hub(false).resolve("acme/tiny");
        assertArrayEquals(weights, Files.readAllBytes(snapshot.resolve("model.safetensors")));
        assertTrue(requests.stream().anyMatch(r -> r.contains("/model.safetensors bytes=100000-")), requests.toString());
        assertFalse(Files.exists(blobs.resolve(sha256(weights) + ".incomplete")));
    }

    @Test
    void offlineOrUnknownModelsFailWithWhatIsMissing() throws Exception {
        var offline = assertThrows(ModelLoadException.class, () -> hub(true).resolve("acme/tiny"));
        assertTrue(offline.getMessage().contains("not in the Hugging Face cache") && offline.getMessage()
                .contains("HF_HUB_OFFLINE"), offline.getMessage());
        Path snapshot = hub(false).resolve("acme/tiny");
        Files.delete(snapshot.resolve("tokenizer.json"));
        var partial = assertThrows(ModelLoadException.class, () -> hub(true).resolve("acme/tiny"));
        assertTrue(partial.getMessage().contains("missing: [tokenizer.json]"), partial.getMessage());
        var unknown = assertThrows(ModelLoadException.class, () -> hub(false).resolve("acme/other"));
        assertTrue(unknown.getMessage().contains("has no model acme/other at revision main"), unknown.getMessage());
        var neither = assertThrows(InvalidRequestException.class, () -> hub(false).resolve("no/such/folder"));
        assertTrue(neither.getMessage().contains("not a Hugging Face id"), neither.getMessage());
        HfHub unreachable = HfHub.of(tmp.resolve("hub2"), "http://127.0.0.1:1", false, null, null);
        var down = assertThrows(ModelLoadException.class, () -> unreachable.resolve("acme/tiny"));
        assertTrue(down.getMessage().contains("cannot reach http://127.0.0.1:1"), down.getMessage());
    }

    @Test
    void theEnvironmentPicksTheCacheAsTheHubClientDoes() {
        assertEquals(Path.of("/c"), HfHub.fromEnvironment(Map.of("HF_HUB_CACHE", "/c", "HF_HOME", "/h"), null)
                .cacheDir());
        assertEquals(Path.of("/h/hub"), HfHub.fromEnvironment(Map.of("HF_HOME", "/h"), null).cacheDir());
        assertEquals(Path.of(System.getProperty("user.home"), ".cache/huggingface/hub"),
                HfHub.fromEnvironment(Map.of(), null).cacheDir());
    }
}
