package io.refrag.bench.cli;

import io.refrag.core.Refrag;
import io.refrag.core.RefragManifest;
import io.refrag.core.model.PolicyNames;
import io.refrag.core.model.Pooling;

import java.nio.file.Path;

/** Builds a {@link Refrag} pipeline from command-line options. */
final class Pipelines {
    private Pipelines() {
    }

    /**
     * @param a parsed options (encoder, projector, policy, pooling, device, precision)
     * @param decoderDir the decoder folder
     * @param needsEncoder whether --encoder is required (REFRAG mode)
     * @return the pipeline
     */
    static Refrag open(Args a, Path decoderDir, boolean needsEncoder) {
        RefragManifest m = RefragManifest.of(decoderDir).withPolicy(a.string("policy", PolicyNames.NONE),
                a.optFile("policy-file"));
        if (needsEncoder || a.has("encoder")) {
            m = m.withEncoder(a.requireDir("encoder"), Pooling.parse(a.string("pooling", "cls")));
        }
        return Refrag.open(m.withProjector(a.optFile("projector")), Main.modelOptions(a));
    }
}
