package io.refrag.core.checkpoint;

/**
 * The file names of a REFRAG folder, as training writes it and {@code Refrag.load} reads it: {@value #MANIFEST} names
 * the parts; the trained ones sit beside it.
 */
public final class RefragFolder {
    /** The manifest: the parts and the request defaults. */
    public static final String MANIFEST = "refrag.json";
    /** The projector's weights. */
    public static final String PROJECTOR = "projector.safetensors";
    /** The learned expansion policy's weights. */
    public static final String POLICY = "policy.safetensors";
    /** A decoder checkpoint that training changed. */
    public static final String DECODER = "decoder";
    /** An encoder checkpoint that training changed. */
    public static final String ENCODER = "encoder";
    /** The persistent chunk cache that {@code precompute} fills when the manifest names none. */
    public static final String CHUNK_CACHE = "chunk-cache";
    /** The encoder's trained LoRA adapters (a PEFT folder). */
    public static final String ENCODER_ADAPTER = "encoder-adapter";
    /** The decoder's trained LoRA adapters (a PEFT folder). */
    public static final String DECODER_ADAPTER = "decoder-adapter";

    private RefragFolder() {
    }
}
