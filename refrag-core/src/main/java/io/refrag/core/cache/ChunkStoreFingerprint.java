package io.refrag.core.cache;

import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import io.refrag.core.exception.InvalidRequestException;
import io.refrag.core.model.ChunkEncoder;
import io.refrag.core.model.Compression;
import io.refrag.core.model.Projector;
import io.refrag.core.tokenizer.TextTokenizer;

import java.util.ArrayList;
import java.util.List;

/**
 * What a chunk store was built for, recorded in its {@value ChunkStoreLayout#FINGERPRINT_FILE}: the decoder's
 * tokenizer (which cuts the chunks), the encoder (weights, precision and pooling, by content), the projector (by its
 * weights), k and the embedding width. A pipeline reads a store only when all of them are its own; the entries are
 * projected embeddings, so any difference would make them wrong or unreachable.
 *
 * @param decoderTokenizer {@link TextTokenizer#contentHash()} of the decoder's tokenizer
 * @param encoder {@link ChunkEncoder#id()} (content hash, precision, pooling)
 * @param projector {@link Projector#id()} (derived from its weights)
 * @param k decoder tokens per chunk
 * @param width floats per entry: the projector's output size
 */
public record ChunkStoreFingerprint(String decoderTokenizer, String encoder, String projector, int k, int width) {
    /** The store format this code writes and reads. */
    public static final int FORMAT = 1;
    /** What an entry holds. */
    public static final String CONTENT = "projected-f32";
    /** The largest fingerprint file read (a real one is a few hundred bytes). */
    public static final long MAX_BYTES = 1 << 20;

    /** Checks the parts. */
    public ChunkStoreFingerprint {
        Compression.requireK(k);
        if (width < 1) {
            throw new InvalidRequestException("chunk store width must be >= 1, got " + width);
        }
    }

    /**
     * @param decoderTokenizer the decoder's tokenizer
     * @param encoder the chunk encoder
     * @param projector the projector
     * @param k decoder tokens per chunk
     * @return the fingerprint of a pipeline with these parts
     */
    public static ChunkStoreFingerprint of(TextTokenizer decoderTokenizer, ChunkEncoder encoder, Projector projector,
            int k) {
        return new ChunkStoreFingerprint(decoderTokenizer.contentHash(), encoder.id(), projector.id(), k,
                projector.outputSize());
    }

    /** @return the JSON of {@value ChunkStoreLayout#FINGERPRINT_FILE} */
    public String toJson() {
        JsonObject json = new JsonObject();
        json.addProperty("format", FORMAT);
        json.addProperty("content", CONTENT);
        json.addProperty("decoderTokenizer", decoderTokenizer);
        json.addProperty("encoder", encoder);
        json.addProperty("projector", projector);
        json.addProperty("k", k);
        json.addProperty("width", width);
        return json.toString();
    }

    /**
     * @param json the text of {@value ChunkStoreLayout#FINGERPRINT_FILE}
     * @param where the file, for messages
     * @return the fingerprint
     * @throws InvalidRequestException if the text is not a fingerprint of this format
     */
    public static ChunkStoreFingerprint parse(String json, String where) {
        try {
            JsonObject o = JsonParser.parseString(json).getAsJsonObject();
            int format = o.get("format").getAsInt();
            if (format != FORMAT || !CONTENT.equals(o.get("content").getAsString())) {
                throw new InvalidRequestException(where + " is a chunk store of format " + format + " holding "
                        + o.get("content").getAsString() + "; this version reads format " + FORMAT + " holding "
                        + CONTENT);
            }
            return new ChunkStoreFingerprint(o.get("decoderTokenizer").getAsString(), o.get("encoder").getAsString(),
                    o.get("projector").getAsString(), o.get("k").getAsInt(), o.get("width").getAsInt());
        } catch (JsonParseException | IllegalStateException | NullPointerException | UnsupportedOperationException e) {
            throw new InvalidRequestException(where + " is not a chunk store fingerprint (format, content, "
                    + "decoderTokenizer, encoder, projector, k, width): " + e.getMessage());
        }
    }

    /**
     * @param pipeline the fingerprint of the pipeline that would read the store
     * @param store the store, for the message
     * @throws InvalidRequestException naming every part that differs
     */
    public void requireSameAs(ChunkStoreFingerprint pipeline, String store) {
        List<String> differ = new ArrayList<>();
        compare(differ, "k", k, pipeline.k);
        compare(differ, "projector", projector, pipeline.projector);
        compare(differ, "encoder", encoder, pipeline.encoder);
        compare(differ, "decoder tokenizer", decoderTokenizer, pipeline.decoderTokenizer);
        compare(differ, "width", width, pipeline.width);
        if (!differ.isEmpty()) {
            throw new InvalidRequestException("chunk store " + store + " was built for another pipeline: "
                    + String.join("; ", differ) + " (rebuild the store with this model, or use the model it was "
                    + "built with)");
        }
    }

    private static void compare(List<String> differ, String what, Object store, Object pipeline) {
        if (!store.equals(pipeline)) {
            differ.add(what + " " + store + " in the store, " + pipeline + " in this pipeline");
        }
    }
}
