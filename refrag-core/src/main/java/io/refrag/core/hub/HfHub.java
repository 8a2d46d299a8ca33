package io.refrag.core.hub;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import io.refrag.core.checkpoint.SafetensorsCheckpoint;
import io.refrag.core.exception.InvalidRequestException;
import io.refrag.core.exception.ModelLoadException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;

/**
 * Models by Hugging Face id, through the hub's standard local cache, shared with Python tools.
 *
 * <p>The cache is {@code HF_HUB_CACHE}, else {@code HF_HOME/hub}, else {@code ~/.cache/huggingface/hub}, laid out as
 * the hub client writes it: {@code models--owner--name/refs/<revision>} holds a commit hash,
 * {@code snapshots/<commit>/<file>} links to {@code blobs/<etag>}. A snapshot that already holds a loadable model is
 * used as it is, without network. Otherwise, unless {@code HF_HUB_OFFLINE=1}, the model's top-level {@code .json} and
 * {@code .safetensors} files are downloaded from {@code HF_ENDPOINT} (default {@value #DEFAULT_ENDPOINT}; token
 * {@code HF_TOKEN}) into that layout: each blob is written as {@code <etag>.incomplete}, resumed from where an
 * interrupted download stopped, checked against its size (and SHA-256 for LFS files) and renamed. Offline, a model
 * that is not in the cache fails with the files that are missing.
 */
public final class HfHub {
    /** The public hub. */
    public static final String DEFAULT_ENDPOINT = "https://huggingface.co";
    private static final Logger LOG = LoggerFactory.getLogger(HfHub.class);

    /** Receives download progress. */
    @FunctionalInterface
    public interface DownloadListener {
        /**
         * @param file the file being downloaded
         * @param bytesDone bytes on disk so far
         * @param bytesTotal the file's size
         */
        void onProgress(String file, long bytesDone, long bytesTotal);
    }

    private final Path cacheDir;
    private final String endpoint;
    private final boolean offline;
    private final String token;
    private final DownloadListener listener;
    private HttpClient http; // created at the first download: reading the cache needs none

    private HfHub(Path cacheDir, String endpoint, boolean offline, String token, DownloadListener listener) {
        this.cacheDir = Objects.requireNonNull(cacheDir, "cacheDir");
        this.endpoint = endpoint.endsWith("/") ? endpoint.substring(0, endpoint.length() - 1) : endpoint;
        this.offline = offline;
        this.token = token;
        this.listener = listener;
    }

    /**
     * @return the hub as the environment configures it: {@code HF_HUB_CACHE} / {@code HF_HOME}, {@code HF_ENDPOINT},
     *     {@code HF_HUB_OFFLINE}, {@code HF_TOKEN}; progress is logged
     */
    public static HfHub fromEnvironment() {
        return fromEnvironment(System.getenv(), null);
    }

    /**
     * @param env environment variables
     * @param listener download progress, or null to log it
     * @return the hub those variables configure
     */
    public static HfHub fromEnvironment(Map<String, String> env, DownloadListener listener) {
        Path cache;
        if (env.get("HF_HUB_CACHE") != null) {
            cache = Path.of(env.get("HF_HUB_CACHE"));
        } else if (env.get("HF_HOME") != null) {
            cache = Path.of(env.get("HF_HOME"), "hub");
        } else {
            cache = Path.of(System.getProperty("user.home"), ".cache", "huggingface", "hub");
        }
        String offline = env.getOrDefault("HF_HUB_OFFLINE", "0").strip().toLowerCase(Locale.ROOT);
        return new HfHub(cache, env.getOrDefault("HF_ENDPOINT", DEFAULT_ENDPOINT),
                List.of("1", "true", "yes", "on").contains(offline), env.get("HF_TOKEN"), listener);
    }

    /**
     * @param cacheDir the hub cache folder
     * @param endpoint the hub's base URL
     * @param offline never download
     * @param token bearer token, or null
     * @param listener download progress, or null to log it
     * @return a hub with exactly these settings
     */
    public static HfHub of(Path cacheDir, String endpoint, boolean offline, String token, DownloadListener listener) {
        return new HfHub(cacheDir, endpoint, offline, token, listener);
    }

    /** @return the cache folder */
    public Path cacheDir() {
        return cacheDir;
    }

    /**
     * Resolves what a user wrote where a model folder is expected: an existing path as it is, else an
     * {@code owner/name[@revision]} id through the cache (downloading when allowed).
     *
     * @param folderOrId a path, or a Hugging Face id
     * @return a local folder
     * @throws InvalidRequestException if it is neither an existing path nor an id
     * @throws ModelLoadException if the id cannot be resolved
     */
    public Path resolve(String folderOrId) {
        Path path;
        try {
            path = Path.of(folderOrId);
        } catch (InvalidPathException e) {
            path = null;
        }
        if (path != null && Files.exists(path)) {
            return path;
        }
        return HfModelId.tryParse(folderOrId).map(this::snapshot).orElseThrow(() -> new InvalidRequestException(
                "no such model folder '" + folderOrId + "', and it is not a Hugging Face id (owner/name[@revision])"));
    }

    /**
     * @param id a model id
     * @return its snapshot folder in the cache, downloaded first when needed and allowed
     * @throws ModelLoadException if it is not in the cache and cannot be downloaded
     */
    public Path snapshot(HfModelId id) {
        Path repo = cacheDir.resolve(id.cacheFolderName());
        Path cached = cachedSnapshot(repo, id);
        List<String> missing = cached == null ? List.of("refs/" + id.revision()) : missingFiles(cached);
        if (missing.isEmpty()) {
            return cached;
        }
        if (offline) {
            throw new ModelLoadException("model " + id + " is not in the Hugging Face cache " + cacheDir + " (missing: "
                    + missing + ") and HF_HUB_OFFLINE forbids downloading it; download it once online, or point "
                    + "HF_HUB_CACHE at a cache that holds it");
        }
        return download(id, repo);
    }

    private static Path cachedSnapshot(Path repo, HfModelId id) {
        String commit = id.revision();
        if (!id.isCommit()) {
            Path ref = repo.resolve("refs").resolve(id.revision());
            if (!Files.isRegularFile(ref)) {
                return null;
            }
            try {
                commit = Files.readString(ref).strip();
            } catch (IOException e) {
                return null;
            }
        }
        Path snapshot = repo.resolve("snapshots").resolve(commit);
        return Files.isDirectory(snapshot) ? snapshot : null;
    }

    /**
     * @param folder a snapshot
     * @return what a loadable model lacks there: a REFRAG folder needs {@code refrag.json}; a checkpoint needs
     *     {@code config.json}, {@code tokenizer.json} and its safetensors (every shard of a sharded one)
     */
    static List<String> missingFiles(Path folder) {
        if (Files.isRegularFile(folder.resolve("refrag.json"))) {
            return List.of();
        }
        List<String> missing = new ArrayList<>();
        for (String f : List.of("config.json", "tokenizer.json")) {
            if (!Files.isRegularFile(folder.resolve(f))) {
                missing.add(f);
            }
        }
        Path index = folder.resolve(SafetensorsCheckpoint.INDEX_FILE);
        if (Files.isRegularFile(index)) {
            try {
                JsonObject map = JsonParser.parseString(Files.readString(index)).getAsJsonObject()
                        .getAsJsonObject("weight_map");
                map.entrySet().stream().map(e -> e.getValue().getAsString()).distinct()
                        .filter(shard -> !Files.isRegularFile(folder.resolve(shard))).forEach(missing::add);
            } catch (IOException | RuntimeException e) {
                missing.add(SafetensorsCheckpoint.INDEX_FILE + " (unreadable)");
            }
        } else if (!Files.isRegularFile(folder.resolve(SafetensorsCheckpoint.SINGLE_FILE))) {
            missing.add(SafetensorsCheckpoint.SINGLE_FILE);
        }
        return missing;
    }

    /** One file of a revision, as the hub's API lists it. */
    private record RemoteFile(String name, long size, String etag, boolean lfs) {
    }

    private Path download(HfModelId id, Path repo) {
        String api = endpoint + "/api/models/" + id.repo() + "/revision/" + encode(id.revision()) + "?blobs=true";
        JsonObject info;
        try {
            info = JsonParser.parseString(get(api, id)).getAsJsonObject();
        } catch (JsonParseException | IllegalStateException e) {
            throw new ModelLoadException("the hub's answer for " + id + " (" + api + ") is not a model description: "
                    + e.getMessage(), e);
        }
        String commit = info.get("sha").getAsString();
        List<RemoteFile> files = new ArrayList<>();
        for (JsonElement e : info.getAsJsonArray("siblings")) {
            JsonObject s = e.getAsJsonObject();
            String name = s.get("rfilename").getAsString();
            if (name.contains("/") || !(name.endsWith(".json") || name.endsWith(".safetensors"))) {
                continue; // the loaders read top-level configs, tokenizers and safetensors only
            }
            JsonObject lfs = s.has("lfs") ? s.getAsJsonObject("lfs") : null;
            files.add(lfs != null
                    ? new RemoteFile(name, lfs.get("size").getAsLong(), lfs.get("sha256").getAsString(), true)
                    : new RemoteFile(name, s.get("size").getAsLong(), s.get("blobId").getAsString(), false));
        }
        Path snapshot = repo.resolve("snapshots").resolve(commit);
        try {
            Files.createDirectories(repo.resolve("blobs"));
            Files.createDirectories(snapshot);
            for (RemoteFile f : files) {
                Path blob = fetchBlob(id, commit, f, repo.resolve("blobs"));
                link(snapshot.resolve(f.name()), blob);
            }
            if (!id.isCommit()) {
                Path ref = repo.resolve("refs").resolve(id.revision());
                Files.createDirectories(ref.getParent());
                Files.writeString(ref, commit);
            }
        } catch (IOException e) {
            throw new ModelLoadException("cannot write model " + id + " into the Hugging Face cache " + cacheDir + ": "
                    + e.getMessage(), e);
        }
        List<String> missing = missingFiles(snapshot);
        if (!missing.isEmpty()) {
            throw new ModelLoadException("model " + id + " at commit " + commit + " lacks " + missing
                    + ": it is not an HF checkpoint with safetensors weights, nor a REFRAG folder");
        }
        return snapshot;
    }

    private Path fetchBlob(HfModelId id, String commit, RemoteFile f, Path blobs) throws IOException {
        Path blob = blobs.resolve(f.etag());
        if (Files.isRegularFile(blob) && Files.size(blob) == f.size()) {
            return blob;
        }
        Path partial = blobs.resolve(f.etag() + ".incomplete");
        long have = Files.isRegularFile(partial) ? Files.size(partial) : 0;
        if (have > f.size()) {
            Files.delete(partial);
            have = 0;
        }
        if (have < f.size()) {
            String url = endpoint + "/" + id.repo() + "/resolve/" + commit + "/" + encode(f.name());
            HttpRequest.Builder request = request(url);
            if (have > 0) {
                request.header("Range", "bytes=" + have + "-");
                LOG.info("resuming {} of {} at byte {} of {}", f.name(), id, have, f.size());
            }
            HttpResponse<InputStream> response = send(request.build(), HttpResponse.BodyHandlers.ofInputStream(), id);
            boolean append = have > 0 && response.statusCode() == 206;
            have = append ? have : 0;
            try (InputStream in = response.body(); OutputStream out = Files.newOutputStream(partial,
                    StandardOpenOption.CREATE, append ? StandardOpenOption.APPEND : StandardOpenOption.TRUNCATE_EXISTING,
                    StandardOpenOption.WRITE)) {
                byte[] buffer = new byte[1 << 16];
                long reported = 0;
                for (int n; (n = in.read(buffer)) > 0; ) {
                    out.write(buffer, 0, n);
                    have += n;
                    if (have - reported >= (8 << 20) || have == f.size()) {
                        progress(f.name(), have, f.size());
                        reported = have;
                    }
                }
            }
        }
        if (Files.size(partial) != f.size()) {
            throw new ModelLoadException("download of " + f.name() + " of " + id + " stopped at " + Files.size(partial)
                    + " of " + f.size() + " bytes; run again to resume");
        }
        if (f.lfs() && !sha256(partial).equals(f.etag())) {
            Files.delete(partial);
            throw new ModelLoadException("download of " + f.name() + " of " + id + " does not match its SHA-256 "
                    + f.etag() + "; the partial file was removed, run again");
        }
        Files.move(partial, blob, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        return blob;
    }

    private void progress(String file, long done, long total) {
        if (listener != null) {
            listener.onProgress(file, done, total);
        } else {
            LOG.info("downloading {}: {} / {} MB", file, done >> 20, total >> 20);
        }
    }

    private static void link(Path target, Path blob) throws IOException {
        Files.deleteIfExists(target);
        try {
            Files.createSymbolicLink(target, target.getParent().relativize(blob));
        } catch (UnsupportedOperationException | IOException e) {
            Files.copy(blob, target); // file systems without links get a copy, as the hub client does
        }
    }

    private String get(String url, HfModelId id) {
        return send(request(url).build(), HttpResponse.BodyHandlers.ofString(), id).body();
    }

    private HttpRequest.Builder request(String url) {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofMinutes(10))
                .header("User-Agent", "refrag-java");
        if (token != null && !token.isBlank()) {
            b.header("Authorization", "Bearer " + token);
        }
        return b;
    }

    private <T> HttpResponse<T> send(HttpRequest request, HttpResponse.BodyHandler<T> body, HfModelId id) {
        HttpResponse<T> response;
        try {
            response = client().send(request, body);
        } catch (IOException e) {
            throw new ModelLoadException("cannot reach " + endpoint + " to download " + id + " (" + e + "); it is not in "
                    + "the Hugging Face cache " + cacheDir + " (set HF_HUB_OFFLINE=1 to use the cache only)", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ModelLoadException("interrupted while downloading " + id, e);
        }
        int status = response.statusCode();
        if (status == 401 || status == 403) {
            throw new ModelLoadException(endpoint + " refused " + id + " (HTTP " + status + "): a gated or private model "
                    + "needs a token in HF_TOKEN");
        }
        if (status == 404) {
            throw new ModelLoadException(endpoint + " has no model " + id.repo() + " at revision " + id.revision()
                    + " (HTTP 404 for " + request.uri() + ")");
        }
        if (status / 100 != 2) {
            throw new ModelLoadException(endpoint + " answered HTTP " + status + " for " + request.uri());
        }
        return response;
    }

    private synchronized HttpClient client() {
        if (http == null) {
            http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(20))
                    .followRedirects(HttpClient.Redirect.NORMAL).build();
        }
        return http;
    }

    private static String encode(String pathPart) {
        return URLEncoder.encode(pathPart, StandardCharsets.UTF_8).replace("+", "%20").replace("%2F", "/");
    }

    private static String sha256(Path file) throws IOException {
        try (InputStream in = new DigestInputStream(Files.newInputStream(file), MessageDigest.getInstance("SHA-256"))) {
            in.transferTo(OutputStream.nullOutputStream());
            return HexFormat.of().formatHex(((DigestInputStream) in).getMessageDigest().digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("the JVM lacks SHA-256", e);
        }
    }
}
