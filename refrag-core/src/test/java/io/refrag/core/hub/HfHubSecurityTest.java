package io.refrag.core.hub;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import io.refrag.core.RefragManifest;
import io.refrag.core.exception.InvalidRequestException;
import io.refrag.core.exception.ModelLoadException;
import io.refrag.core.exception.RefragException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import java.util.stream.Stream;

/**
 * The hub client against a hostile or broken hub, one scenario per class of fault: server-chosen paths, the token on
 * redirects, stalled and silent servers, oversized answers, stale partial files, concurrent downloads, empty files,
 * transient errors, malformed answers and files longer than announced.
 */
class HfHubSecurityTest {
    private static final HfHub.Limits QUICK = new HfHub.Limits(Duration.ofMillis(500), 1, Duration.ofMillis(10),
            Duration.ofMillis(10), 64 << 10);

    @TempDir
    Path tmp;

    private FakeHub fake;
    private Path cache;
    private Path sentinel;

    @BeforeEach
    void serve() throws IOException {
        fake = new FakeHub();
        cache = tmp.resolve("cache/hub");
        sentinel = Files.writeString(tmp.resolve("precious.txt"), "keep me");
    }

    @AfterEach
    void stop() {
        fake.close();
    }

    private HfHub hub(HfHub.Limits limits) {
        return HfHub.of(cache, fake.endpoint, false, "secret", null, limits);
    }

    /** @return every file under the temporary folder that is not inside the cache */
    private List<Path> outsideCache() throws IOException {
        try (Stream<Path> all = Files.walk(tmp)) {
            return all.filter(Files::isRegularFile).filter(p -> !p.startsWith(cache)).toList();
        }
    }

    private void assertRefusedAndNothingOutside(Consumer<JsonObject> edit, String expected) throws IOException {
        fake.editInfo = edit;
        var e = assertThrows(ModelLoadException.class, () -> hub(QUICK).resolve("acme/tiny"));
        assertTrue(e.getMessage().contains(expected), e.getMessage());
        assertEquals(List.of(sentinel), outsideCache(), "nothing may be written outside the cache");
        assertEquals("keep me", Files.readString(sentinel));
    }

    private static JsonObject sibling(JsonObject info, String name) {
        for (var e : info.getAsJsonArray("siblings")) {
            if (e.getAsJsonObject().get("rfilename").getAsString().equals(name)) {
                return e.getAsJsonObject();
            }
        }
        throw new AssertionError(name);
    }

    @Test
    void serverChosenIdsThatLeaveTheCacheAreRefusedInEveryField() throws IOException {
        String up = "../../../precious.txt";
        assertRefusedAndNothingOutside(i -> i.addProperty("sha", "../../../evil"), "'sha'");
        assertRefusedAndNothingOutside(i -> i.addProperty("sha", tmp.resolve("evil").toString()), "'sha'");
        assertRefusedAndNothingOutside(i -> sibling(i, "config.json").addProperty("blobId", up), "'blobId'");
        assertRefusedAndNothingOutside(i -> sibling(i, "config.json").addProperty("blobId", sentinel.toString()),
                "'blobId'");
        assertRefusedAndNothingOutside(i -> sibling(i, "model.safetensors").getAsJsonObject("lfs")
                .addProperty("sha256", up), "'sha256'");
        assertRefusedAndNothingOutside(i -> sibling(i, "config.json").addProperty("rfilename", "..\\x.json"),
                "not a plain file name");
        assertFalse(Files.exists(cache.resolve("models--acme--tiny/snapshots/" + FakeHub.COMMIT)),
                "no snapshot is created from a refused answer");
    }

    @Test
    void nestedIdsInsideRefragJsonPassTheSameChecks() throws IOException {
        Path folder = Files.createDirectories(tmp.resolve("refrag"));
        Files.writeString(folder.resolve(RefragManifest.FILE_NAME), "{\"decoder\": \"acme/tiny\"}");
        fake.editInfo = i -> i.addProperty("sha", "../../../../refrag");
        var e = assertThrows(ModelLoadException.class, () -> RefragManifest.read(folder, hub(QUICK)));
        assertTrue(e.getMessage().contains("'sha'"), e.getMessage());
        fake.editInfo = i -> sibling(i, "tokenizer.json").addProperty("blobId", "../../../../refrag/refrag.json");
        e = assertThrows(ModelLoadException.class, () -> RefragManifest.read(folder, hub(QUICK)));
        assertTrue(e.getMessage().contains("'blobId'"), e.getMessage());
        assertEquals("{\"decoder\": \"acme/tiny\"}", Files.readString(folder.resolve(RefragManifest.FILE_NAME)));
        assertEquals("keep me", Files.readString(sentinel));
    }

    @Test
    void theTokenGoesToTheEndpointOnlyNotToTheHostARedirectNames() throws Exception {
        try (FakeHub cdn = new FakeHub("localhost")) { // same machine, another host name and port: another origin
            cdn.override = (x, path) -> {
                FakeHub.reply(x, 200, fake.files.get("model.safetensors"));
                return true;
            };
            fake.override = (x, path) -> {
                if (path.equals(FakeHub.FILE_PREFIX + "model.safetensors")) {
                    x.getResponseHeaders().add("Location", cdn.endpoint + "/blobs/weights?signed=1");
                    FakeHub.reply(x, 302, new byte[0]);
                    return true;
                }
                if (path.equals(FakeHub.FILE_PREFIX + "config.json")) { // a relative redirect stays on the endpoint
                    x.getResponseHeaders().add("Location", FakeHub.FILE_PREFIX + "tokenizer.json?as=config");
                    FakeHub.reply(x, 307, new byte[0]);
                    return true;
                }
                return false;
            };
            fake.editInfo = i -> sibling(i, "config.json").addProperty("blobId",
                    FakeHub.gitBlobId(fake.files.get("tokenizer.json")));
            fake.editInfo = fake.editInfo.andThen(i -> sibling(i, "config.json").addProperty("size",
                    fake.files.get("tokenizer.json").length));
            Path snapshot = hub(QUICK).resolve("acme/tiny");
            assertArrayEquals(fake.files.get("model.safetensors"),
                    Files.readAllBytes(snapshot.resolve("model.safetensors")));
            assertEquals(List.of("GET /blobs/weights"), cdn.requests, "the CDN host never sees the token");
            assertTrue(fake.requests.stream().allMatch(r -> r.endsWith("Bearer secret")), fake.requests.toString());
            assertTrue(fake.requests.contains("GET " + FakeHub.FILE_PREFIX + "tokenizer.json Bearer secret"));
        }
    }

    @Test
    void aSilentApiAndAStalledBodyFailWithinTheTimeout() throws IOException {
        fake.override = (x, path) -> {
            if (path.startsWith("/api/")) {
                sleep(10_000); // never answers in time
                return true;
            }
            return false;
        };
        long start = System.nanoTime();
        var silent = assertThrows(ModelLoadException.class, () -> hub(QUICK).resolve("acme/tiny"));
        assertTrue(silent.getMessage().contains("no data for 500 ms") && silent.getMessage()
                .contains("127.0.0.1"), silent.getMessage());
        assertTrue(System.nanoTime() - start < TimeUnit.SECONDS.toNanos(6), "bounded by timeout x tries");

        byte[] weights = fake.files.get("model.safetensors");
        fake.override = (x, path) -> {
            if (path.endsWith("model.safetensors")) {
                x.sendResponseHeaders(200, weights.length);
                OutputStream out = x.getResponseBody();
                out.write(weights, 0, 1000);
                out.flush();
                sleep(10_000); // stalls after the headers
                return true;
            }
            return false;
        };
        start = System.nanoTime();
        var stalled = assertThrows(ModelLoadException.class, () -> hub(QUICK).resolve("acme/tiny"));
        assertTrue(stalled.getMessage().contains("stopped sending model.safetensors") && stalled.getMessage()
                .contains("no data for 500 ms"), stalled.getMessage());
        assertTrue(System.nanoTime() - start < TimeUnit.SECONDS.toNanos(6), "bounded by timeout x tries");
    }

    @Test
    void anOversizedAnswerIsRefusedBeforeItIsHeld() {
        byte[] huge = new byte[1 << 20];
        Arrays.fill(huge, (byte) ' ');
        for (boolean announced : new boolean[] {true, false}) {
            fake.override = (x, path) -> {
                if (!path.startsWith("/api/")) {
                    return false;
                }
                x.sendResponseHeaders(200, announced ? huge.length : 0); // 0: chunked, no length announced
                try (OutputStream out = x.getResponseBody()) {
                    out.write(huge);
                } catch (IOException closedByClient) {
                    // the client stops reading at the cap
                }
                return true;
            };
            var e = assertThrows(ModelLoadException.class, () -> hub(QUICK).resolve("acme/tiny"));
            assertTrue(e.getMessage().contains("at most 65536 bytes are accepted"), e.getMessage());
        }
    }

    @Test
    void aStalePartialFileIsCheckedAndDownloadedAgainWhole() throws IOException {
        byte[] config = fake.files.get("config.json");
        Path blobs = Files.createDirectories(cache.resolve("models--acme--tiny/blobs"));
        Path stale = blobs.resolve(FakeHub.gitBlobId(config) + ".incomplete");
        Files.writeString(stale, "{\"model_type\": \"bert\"", StandardCharsets.UTF_8); // another version's start
        Path snapshot = hub(QUICK).resolve("acme/tiny");
        assertArrayEquals(config, Files.readAllBytes(snapshot.resolve("config.json")));
        String file = FakeHub.FILE_PREFIX + "config.json";
        assertTrue(fake.requests.stream().anyMatch(r -> r.startsWith("GET " + file + " bytes=")), fake.requests
                .toString());
        assertEquals(1, fake.wholeRequests(file), "after the resumed file failed its check, one whole download");
        assertFalse(Files.exists(stale));
    }

    @Test
    void twoProcessesDownloadingOneModelShareTheBlobThroughItsLock() throws Exception {
        byte[] weights = fake.files.get("model.safetensors");
        AtomicInteger started = new AtomicInteger();
        fake.override = (x, path) -> {
            if (!path.endsWith("model.safetensors")) {
                return false;
            }
            started.incrementAndGet();
            x.sendResponseHeaders(200, weights.length);
            try (OutputStream out = x.getResponseBody()) {
                for (int at = 0; at < weights.length; at += 20_000) { // about 3 s: the other process must wait
                    out.write(weights, at, Math.min(20_000, weights.length - at));
                    out.flush();
                    sleep(200);
                }
            }
            return true;
        };
        Process child = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-cp",
                System.getProperty("java.class.path"), HubDownloadProcess.class.getName(), cache.toString(),
                fake.endpoint, "acme/tiny").redirectErrorStream(true).start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (started.get() == 0 && child.isAlive() && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        assertEquals(1, started.get(), "the other process is downloading the weights");
        Path here = hub(QUICK.withTimeout(Duration.ofSeconds(20))).resolve("acme/tiny");
        assertTrue(child.waitFor(60, TimeUnit.SECONDS), "the other process finishes");
        String output = new String(child.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, child.exitValue(), output);
        assertEquals(here.toString(), output.strip().lines().reduce((a, b) -> b).orElse(""), output);
        assertArrayEquals(weights, Files.readAllBytes(here.resolve("model.safetensors")));
        assertEquals(1, started.get(), "the waiting process found the blob the other one finished");
    }

    @Test
    void aModelLargerThanTheFreeSpaceIsRefusedBeforeAnyByteIsWritten() throws IOException {
        fake.editInfo = i -> sibling(i, "model.safetensors").getAsJsonObject("lfs").addProperty("size",
                Long.MAX_VALUE / 2);
        var e = assertThrows(ModelLoadException.class, () -> hub(QUICK).resolve("acme/tiny"));
        assertTrue(e.getMessage().contains("more bytes in the Hugging Face cache"), e.getMessage());
        assertTrue(fake.requests.stream().noneMatch(r -> r.contains("/resolve/")), fake.requests.toString());
    }

    @Test
    void anEmptyFileIsAFileLikeAnyOther() throws IOException {
        fake.files.put("added_tokens.json", new byte[0]);
        Path snapshot = hub(QUICK).resolve("acme/tiny");
        assertEquals(0, Files.size(snapshot.resolve("added_tokens.json")));
    }

    @Test
    void transientServerErrorsAreRetriedWithBackoff() throws IOException {
        AtomicInteger failures = new AtomicInteger();
        fake.override = (x, path) -> {
            boolean flaky = path.startsWith("/api/") || path.endsWith("model.safetensors");
            if (flaky && failures.getAndIncrement() % 2 == 0) {
                FakeHub.reply(x, path.startsWith("/api/") ? 503 : 500, new byte[0]);
                return true;
            }
            return false;
        };
        Path snapshot = hub(QUICK).resolve("acme/tiny");
        assertArrayEquals(fake.files.get("model.safetensors"), Files.readAllBytes(snapshot.resolve(
                "model.safetensors")));
        assertEquals(4, failures.get(), "one 5xx and one success for the API and for the weights");

        fake.override = (x, path) -> {
            FakeHub.reply(x, 503, new byte[0]);
            return true;
        };
        var e = assertThrows(ModelLoadException.class, () -> hub(QUICK).resolve("acme/other"));
        assertTrue(e.getMessage().contains("HTTP 503") && e.getMessage().contains("after 2 tries"), e.getMessage());
    }

    @Test
    void malformedAnswersAndEndpointsGetAClearErrorNamingTheField() {
        Map<String, Consumer<JsonObject>> cases = Map.of(
                "'sha'", i -> i.remove("sha"),
                "no 'siblings' list", i -> i.add("siblings", new JsonObject()),
                "size must be a whole number", i -> sibling(i, "config.json").addProperty("size", "many"),
                "size must be a whole number of bytes >= 0, got -1", i -> sibling(i, "config.json")
                        .addProperty("size", -1),
                "'a\\u0000b.json' is not a plain file name", i -> sibling(i, "config.json")
                        .addProperty("rfilename", "a\u0000b.json"),
                "siblings[0] is not an object", i -> {
                    JsonArray numbers = new JsonArray();
                    numbers.add(1);
                    i.add("siblings", numbers);
                });
        cases.forEach((expected, edit) -> {
            fake.editInfo = edit;
            var e = assertThrows(ModelLoadException.class, () -> hub(QUICK).resolve("acme/tiny"), expected);
            assertTrue(e.getMessage().contains("not a valid model description") && e.getMessage().contains(expected),
                    e.getMessage());
        });
        for (String endpoint : List.of("::not a url", "ftp://example.org", "http://")) {
            HfHub bad = HfHub.of(cache, endpoint, false, null, null, QUICK);
            var e = assertThrows(InvalidRequestException.class, () -> bad.resolve("acme/tiny"), endpoint);
            assertTrue(e.getMessage().contains("HF_ENDPOINT") && e.getMessage().contains(endpoint), e.getMessage());
        }
        HfHub badToken = HfHub.of(cache, fake.endpoint, false, "hf_abc\r\nX-Injected: 1", null, QUICK);
        int sent = fake.requests.size();
        var token = assertThrows(InvalidRequestException.class, () -> badToken.resolve("acme/tiny"));
        assertTrue(token.getMessage().contains("HF_TOKEN"), token.getMessage());
        assertEquals(sent, fake.requests.size(), "nothing is sent with a token that could inject headers");
        var timeout = assertThrows(InvalidRequestException.class, () -> HfHub.fromEnvironment(
                Map.of("HF_HUB_DOWNLOAD_TIMEOUT", "soon"), null));
        assertTrue(timeout.getMessage().contains("HF_HUB_DOWNLOAD_TIMEOUT"), timeout.getMessage());
    }

    @Test
    void aFileLongerThanAnnouncedOrADroppedConnectionIsReportedAsSuch() {
        fake.editInfo = i -> sibling(i, "config.json").addProperty("size", 10);
        fake.editInfo = fake.editInfo.andThen(i -> sibling(i, "config.json").addProperty("blobId",
                FakeHub.gitBlobId(Arrays.copyOf(fake.files.get("config.json"), 10))));
        var longer = assertThrows(ModelLoadException.class, () -> hub(QUICK).resolve("acme/tiny"));
        assertTrue(longer.getMessage().contains("sent more than the 10 bytes"), longer.getMessage());

        fake.editInfo = i -> { };
        byte[] weights = fake.files.get("model.safetensors");
        fake.override = (x, path) -> {
            if (path.endsWith("model.safetensors")) {
                x.sendResponseHeaders(200, weights.length);
                x.getResponseBody().write(weights, 0, 5000);
                x.getResponseBody().flush();
                x.close(); // the connection drops mid-body
                return true;
            }
            return false;
        };
        var dropped = assertThrows(RefragException.class, () -> hub(QUICK).resolve("acme/tiny"));
        assertTrue(dropped.getMessage().contains("stopped sending model.safetensors"), dropped.getMessage());
        assertFalse(dropped.getMessage().contains("cannot write"), dropped.getMessage());
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
