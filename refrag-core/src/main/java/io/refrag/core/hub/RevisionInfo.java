package io.refrag.core.hub;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import com.google.gson.JsonPrimitive;
import io.refrag.core.exception.ModelLoadException;

import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/**
 * The hub API's description of one revision ({@code GET /api/models/{repo}/revision/{rev}?blobs=true}), reduced to what
 * the loaders read (top-level {@code .json} and {@code .safetensors} files) and checked field by field: the answer
 * comes from the network, and its ids become file names in the cache. The commit and the git blob ids must be 40
 * lower-case hex digits, SHA-256 digests 64, sizes whole numbers {@code >= 0}, and file names plain names (no
 * separator, no control character, not {@code .} or {@code ..}).
 *
 * @param commit the revision's commit hash
 * @param files the files to download
 */
record RevisionInfo(String commit, List<RemoteFile> files) {
    static final Pattern SHA1 = HfModelId.COMMIT;
    static final Pattern SHA256 = Pattern.compile("[0-9a-f]{64}");
    private static final Pattern PLAIN_NAME = Pattern.compile("[^/\\\\\\p{Cntrl}]{1,255}");

    /**
     * One file of a revision.
     *
     * @param name its file name (top level)
     * @param size its size in bytes
     * @param etag the blob's name in the cache: the SHA-256 of an LFS file, else its git blob id
     * @param lfs whether it is stored in LFS (then {@code etag} is its SHA-256)
     */
    record RemoteFile(String name, long size, String etag, boolean lfs) {
    }

    /**
     * @param json the API's answer
     * @param source where it came from (host and model), for messages
     * @return the checked description
     * @throws ModelLoadException naming the field and what was expected
     */
    static RevisionInfo parse(String json, String source) {
        JsonElement root;
        try {
            root = JsonParser.parseString(json);
        } catch (JsonParseException e) {
            throw bad(source, "is not JSON (" + e.getMessage() + ")");
        }
        if (!root.isJsonObject()) {
            throw bad(source, "is not a JSON object");
        }
        JsonObject info = root.getAsJsonObject();
        String commit = hex(info, "sha", SHA1, source, "the commit hash");
        JsonElement siblings = info.get("siblings");
        if (siblings == null || !siblings.isJsonArray()) {
            throw bad(source, "has no 'siblings' list of files");
        }
        List<RemoteFile> files = new ArrayList<>();
        int i = 0;
        for (JsonElement e : siblings.getAsJsonArray()) {
            String where = "siblings[" + i++ + "]";
            if (!e.isJsonObject()) {
                throw bad(source, where + " is not an object");
            }
            JsonObject s = e.getAsJsonObject();
            String name = string(s, "rfilename", source, where);
            if (name.contains("/") || !(name.endsWith(".json") || name.endsWith(".safetensors"))) {
                continue; // the loaders read top-level configs, tokenizers and safetensors only
            }
            if (!PLAIN_NAME.matcher(name).matches() || name.equals(".") || name.equals("..")) {
                throw bad(source, where + ".rfilename '" + printable(name) + "' is not a plain file name");
            }
            JsonElement lfs = s.get("lfs");
            if (lfs != null && !lfs.isJsonNull()) {
                if (!lfs.isJsonObject()) {
                    throw bad(source, where + ".lfs is not an object");
                }
                JsonObject l = lfs.getAsJsonObject();
                files.add(new RemoteFile(name, size(l, source, where + ".lfs"),
                        hex(l, "sha256", SHA256, source, where + ".lfs.sha256"), true));
            } else {
                files.add(new RemoteFile(name, size(s, source, where),
                        hex(s, "blobId", SHA1, source, where + ".blobId"), false));
            }
        }
        return new RevisionInfo(commit, List.copyOf(files));
    }

    private static String string(JsonObject o, String key, String source, String where) {
        JsonElement e = o.get(key);
        if (e == null || !e.isJsonPrimitive() || !e.getAsJsonPrimitive().isString()) {
            throw bad(source, where + "." + key + " is missing or not a string");
        }
        return e.getAsString();
    }

    private static String hex(JsonObject o, String key, Pattern form, String source, String what) {
        JsonElement e = o.get(key);
        String value = e != null && e.isJsonPrimitive() && e.getAsJsonPrimitive().isString() ? e.getAsString() : null;
        if (value == null || !form.matcher(value).matches()) {
            int digits = form == SHA1 ? 40 : 64;
            throw bad(source, "'" + key + "' (" + what + ") must be " + digits + " lower-case hex digits, got "
                    + (value == null ? String.valueOf(e) : "'" + printable(value) + "'"));
        }
        return value;
    }

    private static long size(JsonObject o, String source, String where) {
        JsonElement e = o.get("size");
        if (e instanceof JsonPrimitive p && p.isNumber()) {
            try {
                long size = new BigDecimal(p.getAsString()).longValueExact();
                if (size >= 0) {
                    return size;
                }
            } catch (ArithmeticException | NumberFormatException ignored) {
                // reported below
            }
        }
        throw bad(source, where + ".size must be a whole number of bytes >= 0, got " + e);
    }

    private static ModelLoadException bad(String source, String what) {
        return new ModelLoadException("the hub's answer for " + source + " is not a valid model description: its "
                + what);
    }

    /** @return the text with control characters shown as {@code \\uXXXX}, at most 100 characters */
    static String printable(String s) {
        StringBuilder b = new StringBuilder();
        s.codePoints().limit(100).forEach(c -> {
            if (Character.isISOControl(c)) {
                b.append(String.format("\\u%04x", c));
            } else {
                b.appendCodePoint(c);
            }
        });
        return s.length() > 100 ? b + "..." : b.toString();
    }
}
