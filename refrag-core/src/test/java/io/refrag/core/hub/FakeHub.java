package io.refrag.core.hub;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.Consumer;

/**
 * A local HTTP server speaking the hub's URLs for one model, {@code acme/tiny}: the API
 * ({@code /api/models/acme/tiny/revision/main?blobs=true}, with real git blob ids and SHA-256 digests) and the file
 * URLs ({@code /acme/tiny/resolve/<commit>/<file>}, with {@code Range}). Tests change its answers through
 * {@link #editInfo} and {@link #override}, and read what it was asked in {@link #requests}.
 */
final class FakeHub implements AutoCloseable {
    static final String COMMIT = "0123456789abcdef0123456789abcdef01234567";
    static final String FILE_PREFIX = "/acme/tiny/resolve/" + COMMIT + "/";

    /** Handles a request before the default answer; returns true when it answered. */
    @FunctionalInterface
    interface Handler {
        boolean handle(HttpExchange x, String path) throws IOException;
    }

    final Map<String, byte[]> files = Collections.synchronizedMap(new LinkedHashMap<>());
    final List<String> requests = Collections.synchronizedList(new ArrayList<>());
    volatile Consumer<JsonObject> editInfo = info -> { };
    volatile Handler override = (x, path) -> false;
    private final HttpServer server;
    private final ExecutorService pool;
    final String endpoint;

    /** @param hostName the name the endpoint uses for 127.0.0.1 ({@code 127.0.0.1} or {@code localhost}) */
    FakeHub(String hostName) throws IOException {
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
        pool = Executors.newCachedThreadPool(r -> {
            Thread t = new Thread(r, "fake-hub");
            t.setDaemon(true);
            return t;
        });
        server.setExecutor(pool);
        server.createContext("/", this::handle);
        server.start();
        endpoint = "http://" + hostName + ":" + server.getAddress().getPort();
    }

    FakeHub() throws IOException {
        this("127.0.0.1");
    }

    /** @return the API's description of the model, as the real hub writes it with {@code blobs=true} */
    JsonObject info() {
        JsonObject info = new JsonObject();
        info.addProperty("sha", COMMIT);
        JsonArray siblings = new JsonArray();
        synchronized (files) {
            files.forEach((name, bytes) -> {
                JsonObject s = new JsonObject();
                s.addProperty("rfilename", name);
                s.addProperty("size", bytes.length);
                s.addProperty("blobId", gitBlobId(bytes));
                if (name.endsWith(".safetensors")) {
                    JsonObject lfs = new JsonObject();
                    lfs.addProperty("sha256", sha256(bytes));
                    lfs.addProperty("size", bytes.length);
                    s.add("lfs", lfs);
                }
                siblings.add(s);
            });
        }
        info.add("siblings", siblings);
        editInfo.accept(info);
        return info;
    }

    /** @return the requests for one path that carried no Range header */
    long wholeRequests(String path) {
        synchronized (requests) {
            return requests.stream().filter(r -> r.startsWith("GET " + path) && !r.contains("bytes=")).count();
        }
    }

    private void handle(HttpExchange x) throws IOException {
        String path = x.getRequestURI().getPath();
        requests.add(x.getRequestMethod() + " " + path + Optional.ofNullable(x.getRequestHeaders().getFirst("Range"))
                .map(r -> " " + r).orElse("") + Optional.ofNullable(x.getRequestHeaders().getFirst("Authorization"))
                .map(a -> " " + a).orElse(""));
        if (override.handle(x, path)) {
            return;
        }
        if (path.equals("/api/models/acme/tiny/revision/main")) {
            reply(x, 200, info().toString().getBytes(StandardCharsets.UTF_8));
            return;
        }
        byte[] body = path.startsWith(FILE_PREFIX) ? files.get(path.substring(FILE_PREFIX.length())) : null;
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

    static void reply(HttpExchange x, int status, byte[] body) throws IOException {
        x.sendResponseHeaders(status, body.length == 0 ? -1 : body.length);
        try (OutputStream out = x.getResponseBody()) {
            out.write(body);
        }
    }

    static String sha256(byte[] bytes) {
        return hex("SHA-256", new byte[0], bytes);
    }

    /** @return git's blob id: {@code sha1("blob " + size + "\0" + bytes)} */
    static String gitBlobId(byte[] bytes) {
        return hex("SHA-1", ("blob " + bytes.length + "\0").getBytes(StandardCharsets.US_ASCII), bytes);
    }

    private static String hex(String algorithm, byte[] prefix, byte[] bytes) {
        try {
            MessageDigest d = MessageDigest.getInstance(algorithm);
            d.update(prefix);
            return HexFormat.of().formatHex(d.digest(bytes));
        } catch (NoSuchAlgorithmException e) {
            throw new AssertionError(e);
        }
    }

    @Override
    public void close() {
        server.stop(0);
        pool.shutdownNow();
    }
}
