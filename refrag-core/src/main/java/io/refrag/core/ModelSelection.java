package io.refrag.core;

import io.refrag.core.exception.InvalidRequestException;
import io.refrag.core.hub.HfHub;
import io.refrag.core.model.PolicyNames;
import io.refrag.core.model.Pooling;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.UnaryOperator;

/**
 * The models of a pipeline as a user names them: a REFRAG folder ({@code model}) whose encoder, projector, policy and
 * pooling the other fields override, or a decoder with the parts it is used with. Folders may be Hugging Face ids
 * ({@code owner/name[@revision]}). {@link #resolve} is the one door through which ids enter: it checks the
 * combination, resolves every id through one hub and gives the {@link RefragManifest}. Null means "not given".
 *
 * @param model a REFRAG folder (holding {@code refrag.json}) or its id
 * @param decoder a decoder folder or id (instead of {@code model})
 * @param encoder a chunk-encoder folder or id
 * @param projector a trained projector's safetensors file
 * @param policyFile a learned policy's weights file (with policy {@code learned})
 * @param pooling how the encoder pools a chunk
 * @param policy the default expansion policy's name
 */
public record ModelSelection(String model, String decoder, String encoder, Path projector, Path policyFile,
        Pooling pooling, String policy) {

    /** Error messages name the fields as written here ({@code policyFile}); a front end passes its own names. */
    public static final UnaryOperator<String> FIELD_NAMES = UnaryOperator.identity();

    /**
     * @param folderOrId a REFRAG folder or its id
     * @return the selection of that folder's parts as its {@code refrag.json} names them
     */
    public static ModelSelection folder(String folderOrId) {
        return new ModelSelection(folderOrId, null, null, null, null, null, null);
    }

    /**
     * @param hub resolves ids (once for the folder and the ids its {@code refrag.json} names)
     * @param needsEncoder whether the pipeline must have an encoder (REFRAG mode rather than full context alone)
     * @param names how the messages name a field: {@link #FIELD_NAMES}, or a front end's option names
     * @return the parts and defaults
     * @throws InvalidRequestException for a combination that cannot make a pipeline, before any model loads
     */
    public RefragManifest resolve(HfHub hub, boolean needsEncoder, UnaryOperator<String> names) {
        if ((model == null) == (decoder == null)) {
            throw new InvalidRequestException("give " + names.apply("model") + " (a REFRAG folder) or "
                    + names.apply("decoder") + (model != null ? ", not both" : " (a decoder folder)"));
        }
        RefragManifest m = model != null ? RefragManifest.read(hub.resolve(model), hub)
                : RefragManifest.of(hub.resolve(decoder));
        if (projector != null) {
            m = m.withProjector(existingFile(names.apply("projector"), projector));
        }
        if (encoder == null && needsEncoder && m.encoder() == null) {
            throw new InvalidRequestException("REFRAG mode needs " + names.apply("encoder") + " (or a "
                    + names.apply("model") + " folder that names one)");
        }
        if (encoder != null || pooling != null) {
            if (encoder == null && m.encoder() == null) {
                throw new InvalidRequestException(names.apply("pooling") + " sets how the encoder pools a chunk: it "
                        + "needs " + names.apply("encoder") + " (or a " + names.apply("model") + " folder that names one)");
            }
            m = m.withEncoder(encoder != null ? hub.resolve(encoder) : m.encoder(), pooling != null ? pooling
                    : m.pooling());
        }
        if (policy != null || policyFile != null) {
            m = m.withPolicy(policy != null ? policy : m.policy(),
                    policyFile == null ? m.policyFile() : existingFile(names.apply("policyFile"), policyFile));
            if (policyFile != null && !m.policy().equals(PolicyNames.LEARNED)) {
                throw new InvalidRequestException(names.apply("policyFile") + " holds a learned policy's weights: it "
                        + "needs " + names.apply("policy") + " " + PolicyNames.LEARNED + " (the policy is '"
                        + m.policy() + "')");
            }
        }
        return m;
    }

    private static Path existingFile(String name, Path file) {
        if (!Files.isRegularFile(file)) {
            throw new InvalidRequestException(name + " " + file + " is not an existing file");
        }
        return file;
    }
}
