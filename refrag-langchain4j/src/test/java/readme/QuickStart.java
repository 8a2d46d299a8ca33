package readme;

import io.refrag.core.Refrag;
import io.refrag.core.RefragOptions;
import io.refrag.core.RefragRequest;
import io.refrag.core.RefragResult;
import io.refrag.core.model.ModelOptions;

import java.nio.file.Path;
import java.util.List;

public class QuickStart {
    public static void main(String[] args) {
        Path model = Path.of(args.length > 0 ? args[0] : "models/refrag-stories260k-k8");
        List<String> passages = List.of(
                "Tom had a red ball. He liked to throw it high in the park.",
                "One day the ball fell into the pond, and a duck swam to it.");
        try (Refrag refrag = Refrag.load(model, ModelOptions.defaults())) {   // decoder, encoder, projector, policy
            RefragRequest request = RefragRequest.builder()
                    .context(passages)                                       // compressed: one embedding per chunk
                    .text(" The duck ")                                      // always tokens
                    .build();
            RefragOptions options = refrag.defaults().toBuilder().optExpansionFraction(0.25).build();
            RefragResult r = refrag.generate(request, options);
            System.out.printf("%s%nTTFT %.1f ms, %d of %d positions, %d/%d chunks expanded%n", r.text(),
                    r.generation().metrics().ttftMillis(), r.decoderInputLength(), r.fullContextTokens(),
                    r.expandedChunks(), r.totalChunks());
        }
    }
}
