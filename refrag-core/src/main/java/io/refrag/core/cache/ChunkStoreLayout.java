package io.refrag.core.cache;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.refrag.core.checkpoint.Checksums;
import io.refrag.core.checkpoint.SafetensorsWriter;
import io.refrag.core.exception.InvalidRequestException;

import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;

/**
 * The layout of a chunk store, a folder that a corpus job writes once and many serving replicas read:
 * <pre>
 * STORE/store.json                      the {@link ChunkStoreFingerprint}, written before any entry
 * STORE/segments/seg-HASH.safetensors   entries: one F32 [width] tensor per chunk key, its CRC-32 in the metadata
 * STORE/_tmp/                           files being written (never read; removed when a job ends)
 * </pre>
 * A segment's name is the hash of the keys it holds, and its bytes depend only on its entries, so a task that runs
 * twice (a retry, a speculative copy) writes the same file under the same name: a store never holds a torn file
 * (segments are renamed into place whole) and never the same segment twice.
 */
public final class ChunkStoreLayout {
    /** The fingerprint file. */
    public static final String FINGERPRINT_FILE = "store.json";
    /** The folder of committed segments. */
    public static final String SEGMENTS = "segments";
    /** The folder of segments being written. */
    public static final String TEMP = "_tmp";
    /** Segment file suffix. */
    public static final String SUFFIX = ".safetensors";
    /** The largest segment header read (a segment of 100,000 entries has a header of about 13 MB). */
    public static final int MAX_HEADER_BYTES = 64 << 20;

    private ChunkStoreLayout() {
    }

    /**
     * @param sortedKeys a segment's keys, in the order it holds them
     * @return its file name: {@code seg-} and the first 32 hex digits of the SHA-256 of the keys
     */
    public static String segmentName(List<String> sortedKeys) {
        MessageDigest sha = Checksums.newSha256();
        for (String key : sortedKeys) {
            sha.update(key.getBytes(StandardCharsets.UTF_8));
            sha.update((byte) '\n');
        }
        return "seg-" + HexFormat.of().formatHex(sha.digest()).substring(0, 32) + SUFFIX;
    }

    /**
     * Writes a segment's bytes: each entry with its checksum, in key order (so equal entries give equal bytes).
     *
     * @param entries chunk key to projected embedding, each of the store's width
     * @param out the stream (left open)
     * @throws IOException if the stream fails
     */
    public static void writeSegment(Map<String, float[]> entries, OutputStream out) throws IOException {
        SafetensorsWriter w = new SafetensorsWriter();
        entries.forEach((k, v) -> w.addChecked(k, v, v.length));
        w.writeTo(out);
    }

    /**
     * Reads the keys of a segment from the start of its bytes (its header), without reading the entries.
     *
     * @param in the segment's bytes (read up to the end of the header)
     * @param where the file, for messages
     * @return the keys it holds
     * @throws IOException if the stream fails
     * @throws InvalidRequestException if the header is not a segment's
     */
    public static List<String> keys(InputStream in, String where) throws IOException {
        DataInputStream data = new DataInputStream(in);
        byte[] len = new byte[Long.BYTES];
        data.readFully(len);
        long n = ByteBuffer.wrap(len).order(ByteOrder.LITTLE_ENDIAN).getLong();
        if (n < 2 || n > MAX_HEADER_BYTES) {
            throw new InvalidRequestException(where + ": a segment header of " + n + " bytes (allowed: 2 to "
                    + MAX_HEADER_BYTES + ")");
        }
        byte[] json = new byte[(int) n];
        data.readFully(json);
        List<String> keys = new ArrayList<>();
        try {
            JsonObject header = JsonParser.parseString(new String(json, StandardCharsets.UTF_8)).getAsJsonObject();
            JsonObject meta = header.getAsJsonObject("__metadata__");
            for (Map.Entry<String, JsonElement> e : header.entrySet()) {
                if (!e.getKey().equals("__metadata__")) {
                    if (meta == null || !meta.has(Checksums.PREFIX + e.getKey())) {
                        throw new InvalidRequestException(where + ": entry " + e.getKey() + " has no checksum");
                    }
                    keys.add(e.getKey());
                }
            }
        } catch (RuntimeException e) {
            if (e instanceof InvalidRequestException ire) {
                throw ire;
            }
            throw new InvalidRequestException(where + " is not a chunk store segment: " + e.getMessage());
        }
        return keys;
    }
}
