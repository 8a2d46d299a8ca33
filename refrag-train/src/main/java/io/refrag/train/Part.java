package io.refrag.train;

import java.util.List;
import java.util.Locale;

/**
 * The parts of a REFRAG pipeline a training task can update; each is a parameter group of the optimiser, its
 * parameters named with its {@link #prefix()} and updated at its {@link #learningRateScale} of the learning rate.
 */
public enum Part {
    /** The LLaMA decoder. */
    DECODER,
    /** The chunk encoder. */
    ENCODER,
    /** The projector from encoder to decoder embeddings. */
    PROJECTOR,
    /** The RL expansion policy. */
    POLICY;

    /** The order of the parameter groups in the optimiser and its saved state. */
    static final List<Part> OPTIMISER_ORDER = List.of(PROJECTOR, ENCODER, DECODER, POLICY);

    /** @return the group's parameter-name prefix: {@code decoder.}, {@code encoder.}, ... */
    public String prefix() {
        return name().toLowerCase(Locale.ROOT) + ".";
    }

    /**
     * @param o the run's options
     * @return the group's peak learning rate relative to {@link TrainingOptions#learningRate()}
     */
    public double learningRateScale(TrainingOptions o) {
        return switch (this) {
            case ENCODER -> o.encoderLearningRate() / o.learningRate();
            case DECODER -> o.decoderLearningRate() / o.learningRate();
            case PROJECTOR, POLICY -> 1.0;
        };
    }
}
