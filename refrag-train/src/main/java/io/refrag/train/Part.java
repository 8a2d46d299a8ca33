package io.refrag.train;

/** The parts of a REFRAG pipeline a training task can update. */
public enum Part {
    /** The LLaMA decoder. */
    DECODER,
    /** The chunk encoder. */
    ENCODER,
    /** The projector from encoder to decoder embeddings. */
    PROJECTOR,
    /** The RL expansion policy. */
    POLICY
}
