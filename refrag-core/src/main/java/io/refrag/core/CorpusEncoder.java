package io.refrag.core;

import io.refrag.core.cache.ChunkEmbeddingCache;
import io.refrag.core.cache.ChunkStoreFingerprint;
import io.refrag.core.chunk.ChunkEmbedder;
import io.refrag.core.chunk.Chunker;
import io.refrag.core.exception.Closeables;
import io.refrag.core.exception.InvalidRequestException;
import io.refrag.core.json.JsonConfig;
import io.refrag.core.model.Chunk;
import io.refrag.core.model.ChunkEncoder;
import io.refrag.core.model.Compression;
import io.refrag.core.model.ModelOptions;
import io.refrag.core.model.Projector;
import io.refrag.core.spi.Providers;
import io.refrag.core.tokenizer.HfTextTokenizer;
import io.refrag.core.tokenizer.TextTokenizer;

import java.util.Arrays;
import java.util.List;

/**
 * The part of a pipeline that turns passages into chunk-store entries, without its decoder: the decoder's tokenizer
 * cuts each passage into chunks of k tokens (the pipeline's own {@link Chunker}), the encoder and projector embed them,
 * and each chunk's key is the one the pipeline's cache looks up. What a corpus job loads once per worker. Thread-safe.
 */
public final class CorpusEncoder implements AutoCloseable {
    private final TextTokenizer decoderTokenizer;
    private final ChunkEncoder encoder;
    private final Projector projector;
    private final int k;
    private final Chunker chunker;
    private final ChunkEmbedder embedder;

    private CorpusEncoder(TextTokenizer decoderTokenizer, ChunkEncoder encoder, Projector projector, int k) {
        this.decoderTokenizer = decoderTokenizer;
        this.encoder = encoder;
        this.projector = projector;
        this.k = k;
        this.chunker = new Chunker(decoderTokenizer);
        this.embedder = new ChunkEmbedder(encoder, projector, null);
    }

    /**
     * Loads the parts a manifest names, as {@link Refrag#open} does (the encoder's LoRA adapters merged; a manifest
     * without a projector gets the untrained one it would create).
     *
     * @param m the pipeline's parts
     * @param k decoder tokens per chunk, or null for the manifest's default
     * @param options device, precision and threads of the encoder and projector
     * @return the parts
     * @throws InvalidRequestException if the manifest names no encoder, or k is out of range or longer than the
     *     encoder's input
     */
    public static CorpusEncoder open(RefragManifest m, Integer k, ModelOptions options) {
        int chunkSize = Compression.requireK(k != null ? k : m.k());
        if (m.encoder() == null) {
            throw new InvalidRequestException("encoding a corpus needs an encoder: the model names none");
        }
        int decoderHidden = JsonConfig.read(m.decoder()).requireInt("hidden_size");
        TextTokenizer tokenizer = null;
        ChunkEncoder encoder = null;
        try {
            tokenizer = HfTextTokenizer.load(m.decoder(), false, 0);
            encoder = Providers.loadEncoder(m.encoder(), options.withAdapter(m.encoderAdapter()), m.pooling());
            RequestPipeline.requireChunkSize(chunkSize, encoder);
            Projector projector = m.projector() != null
                    ? Providers.projectors().load(m.projector(), encoder.hiddenSize(), decoderHidden, options)
                    : Providers.projectors().createUntrained(encoder.hiddenSize(), decoderHidden,
                            RefragBuilder.DEFAULT_PROJECTOR_SEED, options);
            return new CorpusEncoder(tokenizer, encoder, projector, chunkSize);
        } catch (RuntimeException e) {
            throw Closeables.closeAfter(e, encoder, tokenizer);
        }
    }

    /** @return what a store of these embeddings was built for */
    public ChunkStoreFingerprint fingerprint() {
        return ChunkStoreFingerprint.of(decoderTokenizer, encoder, projector, k);
    }

    /** @return decoder tokens per chunk */
    public int k() {
        return k;
    }

    /**
     * @param passage a passage (non-blank)
     * @return its chunks' texts, as a request holding the passage would cut it
     */
    public List<String> chunkTexts(String passage) {
        return chunker.chunk(List.of(passage), k).stream().map(Chunk::text).toList();
    }

    /**
     * @param chunkText a chunk's text
     * @return its cache and store key
     */
    public String key(String chunkText) {
        return ChunkEmbeddingCache.key(encoder.id(), projector.id(), chunkText);
    }

    /**
     * @param chunkTexts chunk texts, embedded in one encoder call and one projector call
     * @return their projected embeddings, in order
     */
    public float[][] embed(List<String> chunkTexts) {
        return embedder.embed(chunkTexts, false).rows();
    }

    @Override
    public void close() {
        RuntimeException failure = Closeables.closeAll(Arrays.asList(projector, encoder, decoderTokenizer));
        if (failure != null) {
            throw failure;
        }
    }
}
