package io.refrag.spark;

import io.refrag.core.cache.ChunkStoreFingerprint;
import io.refrag.core.cache.ChunkStoreLayout;
import io.refrag.core.exception.InvalidRequestException;
import io.refrag.core.exception.RefragException;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataInputStream;
import org.apache.hadoop.fs.FSDataOutputStream;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * A chunk store on a Hadoop file system (local, HDFS, S3A), as the corpus job writes it ({@link ChunkStoreLayout}):
 * every file is written under {@code _tmp/} and renamed into place whole.
 */
final class StoreFiles {
    private final Path root;
    private final FileSystem fs;

    /**
     * @param store the store's path
     * @param conf the Hadoop configuration (Spark's)
     */
    StoreFiles(String store, Configuration conf) {
        this.root = new Path(store);
        try {
            this.fs = root.getFileSystem(conf);
        } catch (IOException e) {
            throw new InvalidRequestException("cannot open the file system of chunk store " + store + ": "
                    + e.getMessage());
        }
    }

    /**
     * Makes the folder a store for this fingerprint: an existing store must have been built for the same one; a new
     * one gets it before any entry is written.
     *
     * @param fingerprint the job's pipeline
     * @return whether the store existed
     * @throws InvalidRequestException if the store was built for another pipeline, or the path is not a store
     */
    boolean claim(ChunkStoreFingerprint fingerprint) {
        Path file = new Path(root, ChunkStoreLayout.FINGERPRINT_FILE);
        try {
            if (fs.exists(file)) {
                if (fs.getFileStatus(file).getLen() > ChunkStoreFingerprint.MAX_BYTES) {
                    throw new InvalidRequestException(file + " is over 1 MiB: not a chunk store fingerprint");
                }
                String json;
                try (FSDataInputStream in = fs.open(file)) {
                    json = new String(in.readAllBytes(), StandardCharsets.UTF_8);
                }
                ChunkStoreFingerprint.parse(json, file.toString()).requireSameAs(fingerprint, root.toString());
                return true;
            }
            if (fs.exists(root) && Arrays.stream(fs.listStatus(root)).map(f -> f.getPath().getName())
                    .anyMatch(n -> !n.equals(ChunkStoreLayout.TEMP) && !n.startsWith("."))) {
                throw new InvalidRequestException(root + " is a folder that holds files but no "
                        + ChunkStoreLayout.FINGERPRINT_FILE + ": not a chunk store; give an empty or new folder");
            }
            commit(fingerprint.toJson().getBytes(StandardCharsets.UTF_8), file);
            return false;
        } catch (IOException e) {
            throw new RefragException("cannot set up chunk store " + root + ": " + e.getMessage(), e);
        }
    }

    /** @return the committed segments' paths */
    List<String> segments() {
        Path dir = new Path(root, ChunkStoreLayout.SEGMENTS);
        List<String> out = new ArrayList<>();
        try {
            if (fs.exists(dir)) {
                for (FileStatus s : fs.listStatus(dir)) {
                    if (s.isFile() && s.getPath().getName().endsWith(ChunkStoreLayout.SUFFIX)) {
                        out.add(s.getPath().toString());
                    }
                }
            }
        } catch (IOException e) {
            throw new RefragException("cannot list segments of chunk store " + root + ": " + e.getMessage(), e);
        }
        return out;
    }

    /**
     * @param segment a segment's path
     * @return the keys it holds (only its header is read)
     */
    List<String> keys(String segment) {
        try (FSDataInputStream in = fs.open(new Path(segment))) {
            return ChunkStoreLayout.keys(in, segment);
        } catch (IOException e) {
            throw new RefragException("cannot read segment " + segment + ": " + e.getMessage(), e);
        }
    }

    /**
     * Writes a segment under {@code _tmp/} and renames it into {@code segments/} under the name of its keys. A segment
     * of that name is already there when another attempt of the same task committed it: the same entries, so this
     * copy is dropped.
     *
     * @param entries key to embedding, in key order
     * @return the segment's path
     */
    String commitSegment(Map<String, float[]> entries) {
        Path target = new Path(new Path(root, ChunkStoreLayout.SEGMENTS),
                ChunkStoreLayout.segmentName(List.copyOf(entries.keySet())));
        try {
            Path tmp = tempFile();
            try (FSDataOutputStream out = fs.create(tmp, false)) {
                ChunkStoreLayout.writeSegment(entries, out);
                out.hsync();
            }
            renameOrDrop(tmp, target);
            return target.toString();
        } catch (IOException e) {
            throw new RefragException("cannot write segment " + target + ": " + e.getMessage(), e);
        }
    }

    /**
     * Leaves a half-written segment in {@code _tmp/}, as a task killed while writing would (fault injection).
     *
     * @param bytes how many bytes to write
     */
    void abandonPartialSegment(int bytes) {
        try (FSDataOutputStream out = fs.create(tempFile(), false)) {
            out.write(new byte[bytes]);
        } catch (IOException e) {
            throw new RefragException("cannot write to chunk store " + root + ": " + e.getMessage(), e);
        }
    }

    /** Removes {@code _tmp/}: what failed or cancelled attempts left (call only when no task of a job runs). */
    void removeTemporaries() {
        try {
            fs.delete(new Path(root, ChunkStoreLayout.TEMP), true);
        } catch (IOException e) {
            throw new RefragException("cannot clean " + ChunkStoreLayout.TEMP + " of chunk store " + root + ": "
                    + e.getMessage(), e);
        }
    }

    private Path tempFile() {
        return new Path(new Path(root, ChunkStoreLayout.TEMP), UUID.randomUUID() + ".tmp");
    }

    private void commit(byte[] bytes, Path target) throws IOException {
        Path tmp = tempFile();
        try (FSDataOutputStream out = fs.create(tmp, false)) {
            out.write(bytes);
            out.hsync();
        }
        renameOrDrop(tmp, target);
    }

    private void renameOrDrop(Path tmp, Path target) throws IOException {
        fs.mkdirs(target.getParent());
        if (!fs.rename(tmp, target)) {
            if (!fs.exists(target)) {
                throw new IOException("rename of " + tmp + " to " + target + " failed");
            }
            fs.delete(tmp, false);
        }
    }
}
