package io.refrag.core.hub;

import io.refrag.core.exception.ModelLoadException;
import io.refrag.core.hub.RevisionInfo.RemoteFile;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantLock;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Downloads one blob into the cache's {@code blobs/} folder: under a lock shared with other processes (the hub client's
 * {@code .locks/} layout), resumed from an interrupted {@code .incomplete} file, retried when the transfer breaks,
 * never longer than the API announced, and checked before it is promoted (SHA-256 for LFS files, the git blob id
 * {@code sha1("blob " + size + "\0" + bytes)} for the rest). A resumed file that fails its check is downloaded again
 * whole, once.
 */
final class BlobDownload {
    private static final Logger LOG = LoggerFactory.getLogger(BlobDownload.class);
    private static final Pattern CONTENT_RANGE = Pattern.compile("bytes (\\d+)-\\d+/(?:\\d+|\\*)");
    /** Threads of this JVM queue here; {@link FileLock} only excludes other processes. */
    private static final Map<Path, ReentrantLock> IN_PROCESS = new ConcurrentHashMap<>();

    private final HubHttp http;
    private final HfHub.DownloadListener progress;

    BlobDownload(HubHttp http, HfHub.DownloadListener progress) {
        this.http = http;
        this.progress = progress;
    }

    /** The transfer broke (not the disk): retried, then reported with the host's name. */
    private static final class TransferFailed extends Exception {
        private static final long serialVersionUID = 1L;

        TransferFailed(IOException cause) {
            super(cause);
        }

        IOException io() {
            return (IOException) getCause();
        }
    }

    /**
     * @param blob the blob's final path ({@code blobs/<etag>}), inside the cache
     * @param lock the lock file's path, inside the cache
     * @param url the file's path on the endpoint
     * @param f the file as the API describes it
     * @param model the model, for messages
     * @return the blob, complete and checked
     * @throws IOException if the cache cannot be written
     */
    Path fetch(Path blob, Path lock, String url, RemoteFile f, String model) throws IOException {
        ReentrantLock local = IN_PROCESS.computeIfAbsent(lock.toAbsolutePath().normalize(), k -> new ReentrantLock());
        local.lock();
        try {
            Files.createDirectories(lock.getParent());
            try (FileChannel channel = FileChannel.open(lock, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
                 FileLock held = acquire(channel, f, model)) {
                if (Files.isRegularFile(blob) && Files.size(blob) == f.size()) {
                    return blob; // another process finished it while this one waited
                }
                Path partial = blob.resolveSibling(blob.getFileName() + ".incomplete");
                boolean resumed = Files.isRegularFile(partial) && Files.size(partial) > 0;
                download(partial, url, f, model);
                boolean checked = matches(partial, f);
                if (!checked && resumed) {
                    LOG.warn("{} of {}: the resumed download does not match its {}; downloading it again whole",
                            f.name(), model, f.lfs() ? "SHA-256" : "git blob id");
                    Files.delete(partial);
                    download(partial, url, f, model);
                    checked = matches(partial, f);
                }
                if (!checked) {
                    Files.delete(partial);
                    throw new ModelLoadException("download of " + f.name() + " of " + model + " from " + http.host()
                            + " does not match its " + (f.lfs() ? "SHA-256 " : "git blob id ") + f.etag()
                            + "; the partial file was removed, run again");
                }
                Files.move(partial, blob, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
                return blob;
            }
        } finally {
            local.unlock();
        }
    }

    private static FileLock acquire(FileChannel channel, RemoteFile f, String model) throws IOException {
        FileLock lock = channel.tryLock();
        if (lock == null) {
            LOG.info("waiting for another process downloading {} of {}", f.name(), model);
            lock = channel.lock();
        }
        return lock;
    }

    /** Brings {@code partial} to the announced size, resuming and retrying broken transfers. */
    private void download(Path partial, String url, RemoteFile f, String model) throws IOException {
        if (!Files.exists(partial)) {
            Files.createFile(partial);
        }
        for (int attempt = 0; ; attempt++) {
            long have = Files.size(partial);
            if (have > f.size()) {
                Files.write(partial, new byte[0]);
                have = 0;
            }
            if (have == f.size()) {
                return;
            }
            try {
                transfer(partial, have, url, f, model);
            } catch (TransferFailed e) {
                String why = http.describe(e.io());
                if (attempt >= http.retries()) {
                    throw new ModelLoadException(http.host() + " stopped sending " + f.name() + " of " + model
                            + " at byte " + Files.size(partial) + " of " + f.size() + " (" + why + "), after "
                            + (attempt + 1) + " tries; run again to resume", e.io());
                }
                http.backoff(attempt, f.name() + " of " + model, why);
            }
        }
    }

    private void transfer(Path partial, long have, String url, RemoteFile f, String model) throws IOException,
            TransferFailed {
        Map<String, String> range = have > 0 ? Map.of("Range", "bytes=" + have + "-") : Map.of();
        if (have > 0) {
            LOG.info("resuming {} of {} at byte {} of {}", f.name(), model, have, f.size());
        }
        try (HubHttp.Response r = http.get(url, range, f.name() + " of " + model, "has no file " + f.name()
                + " in " + model)) {
            boolean append = have > 0 && r.status == 206 && rangeStart(r) == have;
            if (r.status == 206 && !append) {
                throw new ModelLoadException(r.uri.getHost() + " answered a request for " + f.name() + " of " + model
                        + " from byte " + have + " with Content-Range '" + r.header("Content-Range") + "'");
            }
            long done = append ? have : 0;
            try (OutputStream out = Files.newOutputStream(partial, StandardOpenOption.WRITE,
                    append ? StandardOpenOption.APPEND : StandardOpenOption.TRUNCATE_EXISTING)) {
                byte[] buffer = new byte[1 << 16];
                long reported = done;
                for (int n; (n = read(r.body, buffer)) >= 0; ) {
                    if (done + n > f.size()) {
                        out.close();
                        Files.delete(partial);
                        throw new ModelLoadException(r.uri.getHost() + " sent more than the " + f.size() + " bytes "
                                + "the hub's API announced for " + f.name() + " of " + model + "; the partial file "
                                + "was removed");
                    }
                    out.write(buffer, 0, n);
                    done += n;
                    if (done - reported >= (8 << 20) || done == f.size()) {
                        progress.onProgress(f.name(), done, f.size());
                        reported = done;
                    }
                }
            }
            if (done < f.size()) {
                throw new TransferFailed(new IOException("the answer ended at byte " + done + " of " + f.size()));
            }
        }
    }

    private static int read(InputStream in, byte[] buffer) throws TransferFailed {
        try {
            return in.read(buffer);
        } catch (IOException e) {
            throw new TransferFailed(e);
        }
    }

    private static long rangeStart(HubHttp.Response r) {
        String range = r.header("Content-Range");
        Matcher m = range == null ? null : CONTENT_RANGE.matcher(range.strip());
        try {
            return m != null && m.matches() ? Long.parseLong(m.group(1)) : -1;
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    /** @return whether the file is what the API described: its SHA-256 (LFS) or git blob id */
    static boolean matches(Path file, RemoteFile f) throws IOException {
        if (Files.size(file) != f.size()) {
            return false;
        }
        MessageDigest digest = digest(f.lfs() ? "SHA-256" : "SHA-1");
        if (!f.lfs()) {
            digest.update(("blob " + f.size() + "\0").getBytes(StandardCharsets.US_ASCII));
        }
        return hash(file, digest).equals(f.etag());
    }

    /** @return the file's SHA-256, hex: the blob name {@link HfHub#importFolder} gives it */
    static String sha256Hex(Path file) throws IOException {
        return hash(file, digest("SHA-256"));
    }

    private static String hash(Path file, MessageDigest digest) throws IOException {
        try (InputStream in = Files.newInputStream(file)) {
            byte[] buffer = new byte[1 << 16];
            for (int n; (n = in.read(buffer)) > 0; ) {
                digest.update(buffer, 0, n);
            }
        }
        return HexFormat.of().formatHex(digest.digest());
    }

    private static MessageDigest digest(String algorithm) {
        try {
            return MessageDigest.getInstance(algorithm);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("the JVM lacks " + algorithm, e);
        }
    }
}
