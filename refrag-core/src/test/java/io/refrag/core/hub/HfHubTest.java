package io.refrag.core.hub;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.refrag.core.exception.InvalidRequestException;
import io.refrag.core.exception.ModelLoadException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/** Models by id: the hub's cache layout, downloads from a local server speaking the hub's URLs, resume, offline. */
class HfHubTest {
    private static final String COMMIT = FakeHub.COMMIT;
    /** Short waits: these tests fail fast rather than wait out the production backoff. */
    static final HfHub.Limits FAST = new HfHub.Limits(Duration.ofSeconds(2), 1, Duration.ofMillis(10),
            Duration.ofMillis(10), 1 << 20);

    @TempDir
    Path tmp;

    private FakeHub fake;
    private Map<String, byte[]> files;
    private List<String> requests;
    private String endpoint;

    @BeforeEach
    void serve() throws IOException {
        fake = new FakeHub();
        files = fake.files;
        requests = fake.requests;
        endpoint = fake.endpoint;
    }

    @AfterEach
    void stop() {
        fake.close();
    }

    private static String sha256(byte[] bytes) {
        return FakeHub.sha256(bytes);
    }

    private HfHub hub(boolean offline) {
        return HfHub.of(tmp.resolve("hub"), endpoint, offline, "secret", null, FAST);
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

        fake.close();
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
        HfHub unreachable = HfHub.of(tmp.resolve("hub2"), "http://127.0.0.1:1", false, null, null, FAST);
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

    @Test
    void aLocalFolderImportsUnderAnIdThatThenResolvesOfflineAndManifestsNameIt() throws Exception {
        HfHub offline = hub(true);
        Path stories = io.refrag.core.testing.SharedModels.stories();
        HfModelId id = HfModelId.tryParse("someone/stories").orElseThrow();
        Path snapshot = offline.importFolder(id, stories);
        assertEquals(snapshot, offline.resolve("someone/stories"), "resolves without network");
        assertEquals(Files.readString(stories.resolve("config.json")), Files.readString(snapshot.resolve(
                "config.json")));
        assertEquals(snapshot, offline.importFolder(id, stories), "importing the same files again changes nothing");
        assertEquals(java.util.Optional.of(id), HfModelId.ofSnapshot(snapshot));
        assertEquals(java.util.Optional.empty(), HfModelId.ofSnapshot(stories));
        assertTrue(requests.isEmpty(), "no request reached the hub: " + requests);

        Path folder = Files.createDirectories(tmp.resolve("refrag"));
        io.refrag.core.RefragManifest.of(snapshot).write(folder);
        String json = Files.readString(folder.resolve("refrag.json"));
        assertTrue(json.contains("\"decoder\": \"someone/stories\""), "named by id, not by this cache's path: " + json);
        assertEquals(snapshot, io.refrag.core.RefragManifest.read(folder, offline).decoder());

        Path empty = Files.createDirectories(tmp.resolve("empty"));
        var notAModel = assertThrows(io.refrag.core.exception.InvalidRequestException.class,
                () -> offline.importFolder(id, empty));
        assertTrue(notAModel.getMessage().contains("config.json"), notAModel.getMessage());
        assertThrows(io.refrag.core.exception.InvalidRequestException.class, () -> offline.importFolder(
                HfModelId.tryParse("someone/stories@" + COMMIT).orElseThrow(), stories));
    }
}
