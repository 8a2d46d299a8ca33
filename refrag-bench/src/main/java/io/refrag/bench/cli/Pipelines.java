package io.refrag.bench.cli;

import io.refrag.core.Refrag;
import io.refrag.core.RefragManifest;
import io.refrag.core.model.PolicyNames;
import io.refrag.core.model.Pooling;

/** Builds a {@link Refrag} pipeline from command-line options. */
final class Pipelines {
    private Pipelines() {
    }

    /**
     * The pipeline the options describe: a REFRAG folder ({@code --model DIR}, whose encoder, policy and pooling the
     * options may override) or its parts ({@code --decoder}, {@code --encoder}, {@code --projector}, ...).
     *
     * @param a parsed options
     * @param needsEncoder whether an encoder is required (REFRAG mode)
     * @param policyOption whether {@code --policy} names the pipeline's policy (eval's lists the policies compared)
     * @return the parts and defaults
     */
    static RefragManifest manifest(Args a, boolean needsEncoder, boolean policyOption) {
        if (a.has("model") && a.has("decoder")) {
            throw new UsageException("give --model (a REFRAG folder) or --decoder, not both");
        }
        RefragManifest m = a.has("model") ? RefragManifest.read(a.requireDir("model"))
                : RefragManifest.of(a.requireDir("decoder"));
        if (a.has("projector")) {
            m = m.withProjector(a.optFile("projector"));
        }
        if (a.has("encoder") || (needsEncoder && m.encoder() == null)) {
            m = m.withEncoder(a.requireDir("encoder"),
                    a.has("pooling") ? Pooling.parse(a.requireString("pooling")) : m.pooling());
        }
        if ((policyOption && a.has("policy")) || a.has("policy-file")) {
            m = m.withPolicy(policyOption ? a.string("policy", m.policy()) : m.policy(), a.optFile("policy-file"));
            if (a.has("policy-file") && !m.policy().equals(PolicyNames.LEARNED)) {
                throw new UsageException("--policy-file holds a learned policy's weights: it needs --policy "
                        + PolicyNames.LEARNED + " (the policy is '" + m.policy() + "')");
            }
        }
        return m;
    }

    /**
     * @param a parsed options (see {@link #manifest})
     * @param needsEncoder whether an encoder is required (REFRAG mode)
     * @return the pipeline
     */
    static Refrag open(Args a, boolean needsEncoder) {
        RefragManifest m = manifest(a, needsEncoder, true);
        return Refrag.open(m, Main.modelOptions(a));
    }
}
