package io.refrag.core.hub;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.refrag.core.checkpoint.AtomicFiles;
import io.refrag.core.checkpoint.RefragFolder;
import io.refrag.core.checkpoint.SafetensorsCheckpoint;
import io.refrag.core.exception.InvalidRequestException;
import io.refrag.core.exception.ModelLoadException;
import io.refrag.core.hub.RevisionInfo.RemoteFile;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
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
 * {@code HF_TOKEN}, sent to that host only) into that layout ({@link BlobDownload}: locked, resumed, checked).
 * Offline, a model that is not in the cache fails with the files that are missing.
 *
 * <p>The hub's answers are untrusted input: every id that becomes a file name is checked for its form
 * ({@link RevisionInfo}) and every path this class writes must resolve inside the cache folder; answers, waits and
 * retries are bounded ({@link Limits}, {@code HF_HUB_DOWNLOAD_TIMEOUT}).
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

    /**
     * How long and how much the client waits and reads.
     *
     * @param timeout connect timeout, and the longest wait for any read (headers or body) before the transfer counts
     *     as stalled
     * @param retries retries of a failed request or broken transfer (connection errors, timeouts, HTTP 429/5xx)
     * @param firstWait the wait before the first retry, doubled for each next one
     * @param maxWait the longest wait between retries
     * @param maxAnswerBytes the largest API answer read into memory
     */
    public record Limits(Duration timeout, int retries, Duration firstWait, Duration maxWait, long maxAnswerBytes) {
        /** The defaults: 10 s timeouts (as {@code huggingface_hub}), 4 retries from 1 s up to 8 s, 16 MiB answers. */
        public static final Limits DEFAULT = new Limits(Duration.ofSeconds(10), 4, Duration.ofSeconds(1),
                Duration.ofSeconds(8), 16L << 20);

        /** Checks the values. */
        public Limits {
            if (timeout.isNegative() || timeout.isZero() || retries < 0 || firstWait.isNegative()
                    || maxWait.isNegative() || maxAnswerBytes < 1) {
                throw new InvalidRequestException("hub limits need a timeout > 0, retries >= 0, waits >= 0 and "
                        + "maxAnswerBytes >= 1; got " + timeout + ", " + retries + ", " + firstWait + ", " + maxWait
                        + ", " + maxAnswerBytes);
            }
        }

        /**
         * @param t the timeout
         * @return these limits with that timeout
         */
        public Limits withTimeout(Duration t) {
            return new Limits(t, retries, firstWait, maxWait, maxAnswerBytes);
        }
    }

    private final Path cacheDir;
    private final String endpoint;
    private final boolean offline;
    private final String token;
    private final DownloadListener listener;
    private final Limits limits;
    private HubHttp http; // created at the first download: reading the cache needs none

    private HfHub(Path cacheDir, String endpoint, boolean offline, String token, DownloadListener listener,
            Limits limits) {
        this.cacheDir = Objects.requireNonNull(cacheDir, "cacheDir").toAbsolutePath().normalize();
        this.endpoint = Objects.requireNonNull(endpoint, "endpoint");
        this.offline = offline;
        this.token = token;
        this.listener = listener != null ? listener
                : (file, done, total) -> LOG.info("downloading {}: {} / {} MB", file, done >> 20, total >> 20);
        this.limits = Objects.requireNonNull(limits, "limits");
    }

    /**
     * @return the hub as the environment configures it: {@code HF_HUB_CACHE} / {@code HF_HOME}, {@code HF_ENDPOINT},
     *     {@code HF_HUB_OFFLINE}, {@code HF_TOKEN}, {@code HF_HUB_DOWNLOAD_TIMEOUT}; progress is logged
     */
    public static HfHub fromEnvironment() {
        return fromEnvironment(System.getenv(), null);
    }

    /**
     * @param env environment variables
     * @param listener download progress, or null to log it
     * @return the hub those variables configure
     * @throws InvalidRequestException if {@code HF_HUB_DOWNLOAD_TIMEOUT} is not a number of seconds {@code > 0}
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
        Limits limits = Limits.DEFAULT;
        String timeout = env.get("HF_HUB_DOWNLOAD_TIMEOUT");
        if (timeout != null) {
            limits = limits.withTimeout(seconds("HF_HUB_DOWNLOAD_TIMEOUT", timeout));
        }
        return new HfHub(cache, env.getOrDefault("HF_ENDPOINT", DEFAULT_ENDPOINT),
                List.of("1", "true", "yes", "on").contains(offline), env.get("HF_TOKEN"), listener, limits);
    }

    private static Duration seconds(String name, String text) {
        try {
            double s = Double.parseDouble(text.strip());
            if (s > 0 && s <= 86_400) {
                return Duration.ofMillis(Math.max(1, Math.round(s * 1000)));
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        throw new InvalidRequestException(name + " must be a number of seconds in (0, 86400], got '" + text + "'");
    }

    /**
     * @param cacheDir the hub cache folder
     * @param endpoint the hub's base URL
     * @param offline never download
     * @param token bearer token, or null
     * @param listener download progress, or null to log it
     * @return a hub with exactly these settings and the default limits
     */
    public static HfHub of(Path cacheDir, String endpoint, boolean offline, String token, DownloadListener listener) {
        return of(cacheDir, endpoint, offline, token, listener, Limits.DEFAULT);
    }

    /**
     * @param cacheDir the hub cache folder
     * @param endpoint the hub's base URL (checked at the first download: an http(s) URL with a host)
     * @param offline never download
     * @param token bearer token, or null
     * @param listener download progress, or null to log it
     * @param limits timeouts, retries and the answer cap
     * @return a hub with exactly these settings
     */
    public static HfHub of(Path cacheDir, String endpoint, boolean offline, String token, DownloadListener listener,
            Limits limits) {
        return new HfHub(cacheDir, endpoint, offline, token, listener, limits);
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
        Path repo = inside(cacheDir.resolve(id.cacheFolderName()));
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

    /**
     * Puts a local model folder into the cache as {@code id}'s revision, so that the id resolves here without network:
     * how a machine without hub access gets the base models a REFRAG folder names by id (the CLI's {@code hub-import}).
     * Every file under the folder becomes a blob named by its SHA-256, linked from a snapshot whose commit hash is
     * derived from the file names and digests, so importing the same files again changes nothing.
     *
     * @param id the id the folder is published under ({@code owner/name}, optionally {@code @revision}; not a commit)
     * @param folder a loadable model: an HF checkpoint or a REFRAG folder
     * @return the snapshot folder
     * @throws InvalidRequestException if the folder is not a loadable model, or the id names a commit
     * @throws ModelLoadException if the cache cannot be written
     */
    public Path importFolder(HfModelId id, Path folder) {
        if (id.isCommit()) {
            throw new InvalidRequestException("import under a branch or tag name, not a commit hash: " + id);
        }
        List<String> missing = Files.isDirectory(folder) ? missingFiles(folder) : List.of("the folder itself");
        if (!missing.isEmpty()) {
            throw new InvalidRequestException("cannot import " + folder + " as " + id + ": it lacks " + missing);
        }
        Path repo = inside(cacheDir.resolve(id.cacheFolderName()));
        try {
            List<Path> files;
            try (var walk = Files.walk(folder, java.nio.file.FileVisitOption.FOLLOW_LINKS)) {
                files = walk.filter(Files::isRegularFile).sorted().toList();
            }
            List<String[]> entries = new ArrayList<>();
            StringBuilder tree = new StringBuilder();
            for (Path f : files) {
                String name = folder.relativize(f).toString().replace('\\', '/');
                String digest = BlobDownload.sha256Hex(f);
                entries.add(new String[] {name, digest});
                tree.append(name).append('\0').append(digest).append('\n');
            }
            String commit = commitOf(tree.toString());
            Path snapshot = inside(repo.resolve("snapshots").resolve(commit));
            for (int i = 0; i < files.size(); i++) {
                Path blob = inside(repo.resolve("blobs").resolve(entries.get(i)[1]));
                if (!Files.isRegularFile(blob)) {
                    Files.createDirectories(blob.getParent());
                    Path tmp = blob.resolveSibling(AtomicFiles.TEMP_PREFIX + blob.getFileName() + ".tmp");
                    Files.copy(files.get(i), tmp, StandardCopyOption.REPLACE_EXISTING);
                    Files.move(tmp, blob, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
                }
                link(createParents(inside(snapshot.resolve(entries.get(i)[0]))), blob);
            }
            AtomicFiles.writeString(createParents(inside(repo.resolve("refs").resolve(id.revision()))), commit);
            return snapshot;
        } catch (IOException e) {
            throw new ModelLoadException("cannot import " + folder + " into the Hugging Face cache " + cacheDir + ": "
                    + e, e);
        }
    }

    /** @return a 40-hex commit id for an imported tree: the SHA-1 of its listing */
    private static String commitOf(String listing) {
        try {
            return java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-1")
                    .digest(listing.getBytes(StandardCharsets.UTF_8)));
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException("the JVM lacks SHA-1", e);
        }
    }

    /** @return the snapshot a revision names in the cache, or null; a ref that holds no commit hash is ignored */
    private Path cachedSnapshot(Path repo, HfModelId id) {
        String commit = id.revision();
        if (!id.isCommit()) {
            Path ref = inside(repo.resolve("refs").resolve(id.revision()));
            if (!Files.isRegularFile(ref)) {
                return null;
            }
            try {
                commit = Files.readString(ref).strip();
            } catch (IOException e) {
                return null;
            }
            if (!RevisionInfo.SHA1.matcher(commit).matches()) {
                LOG.warn("ignoring {}: it holds no commit hash", ref);
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
        if (Files.isRegularFile(folder.resolve(RefragFolder.MANIFEST))) {
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

    private Path download(HfModelId id, Path repo) {
        HubHttp client = http();
        String source = id + " from " + client.host();
        RevisionInfo info;
        try (HubHttp.Response r = client.get("/api/models/" + id.repo() + "/revision/" + encode(id.revision())
                + "?blobs=true", Map.of(), "the description of " + id, "has no model " + id.repo()
                + " at revision " + id.revision())) {
            info = RevisionInfo.parse(client.readBounded(r, "the description of " + id), source);
        }
        Path snapshot = inside(repo.resolve("snapshots").resolve(info.commit()));
        BlobDownload blobs = new BlobDownload(client, listener);
        try {
            Files.createDirectories(repo.resolve("blobs"));
            requireSpace(repo.resolve("blobs"), info, id);
            Files.createDirectories(snapshot);
            for (RemoteFile f : info.files()) {
                Path blob = blobs.fetch(inside(repo.resolve("blobs").resolve(f.etag())),
                        inside(cacheDir.resolve(".locks").resolve(repo.getFileName()).resolve(f.etag() + ".lock")),
                        "/" + id.repo() + "/resolve/" + info.commit() + "/" + encode(f.name()), f, id.toString());
                link(inside(snapshot.resolve(f.name())), blob);
            }
            if (!id.isCommit()) {
                AtomicFiles.writeString(createParents(inside(repo.resolve("refs").resolve(id.revision()))),
                        info.commit());
            }
        } catch (IOException e) {
            throw new ModelLoadException("cannot write model " + id + " into the Hugging Face cache " + cacheDir
                    + ": " + e, e);
        }
        List<String> missing = missingFiles(snapshot);
        if (!missing.isEmpty()) {
            throw new ModelLoadException("model " + id + " at commit " + info.commit() + " lacks " + missing
                    + ": it is not an HF checkpoint with safetensors weights, nor a REFRAG folder");
        }
        return snapshot;
    }

    /** Refuses a download the cache's file system cannot hold, before any of it is written. */
    private static void requireSpace(Path blobs, RevisionInfo info, HfModelId id) throws IOException {
        long needed = 0;
        for (RemoteFile f : info.files()) {
            Path blob = blobs.resolve(f.etag());
            needed += Files.isRegularFile(blob) && Files.size(blob) == f.size() ? 0 : f.size();
        }
        long free = Files.getFileStore(blobs).getUsableSpace();
        if (needed > free) {
            throw new ModelLoadException("model " + id + " needs " + needed + " more bytes in the Hugging Face cache, "
                    + "which has " + free + " bytes free at " + blobs);
        }
    }

    private synchronized HubHttp http() {
        if (http == null) {
            http = new HubHttp(endpoint, token, limits);
        }
        return http;
    }

    /**
     * @param path a path this client is about to write or read
     * @return it, normalised
     * @throws ModelLoadException if it leads out of the cache folder
     */
    private Path inside(Path path) {
        Path p = path.toAbsolutePath().normalize();
        if (!p.startsWith(cacheDir) || p.equals(cacheDir)) {
            throw new ModelLoadException("refusing to write " + p + ": it is outside the Hugging Face cache "
                    + cacheDir);
        }
        return p;
    }

    private static Path createParents(Path file) throws IOException {
        Files.createDirectories(file.getParent());
        return file;
    }

    /** Points a snapshot entry at its blob: a relative link made aside and renamed over the old entry. */
    private static void link(Path target, Path blob) throws IOException {
        Path tmp = target.resolveSibling(AtomicFiles.TEMP_PREFIX + target.getFileName() + "-"
                + ProcessHandle.current().pid() + "-" + Thread.currentThread().getId() + ".tmp");
        Files.deleteIfExists(tmp);
        try {
            Files.createSymbolicLink(tmp, target.getParent().relativize(blob));
        } catch (UnsupportedOperationException | IOException e) {
            Files.copy(blob, tmp); // file systems without links get a copy, as the hub client does
        }
        Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    }

    private static String encode(String pathPart) {
        return URLEncoder.encode(pathPart, StandardCharsets.UTF_8).replace("+", "%20").replace("%2F", "/");
    }
}
