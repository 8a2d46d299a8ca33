package readme;

import dev.langchain4j.data.segment.TextSegment;
import dev.langchain4j.model.embedding.EmbeddingModel;
import dev.langchain4j.rag.DefaultRetrievalAugmentor;
import dev.langchain4j.rag.content.retriever.EmbeddingStoreContentRetriever;
import dev.langchain4j.service.AiServices;
import dev.langchain4j.store.embedding.inmemory.InMemoryEmbeddingStore;
import io.refrag.core.Refrag;
import io.refrag.core.model.ModelOptions;
import io.refrag.langchain4j.RefragChatModel;
import io.refrag.langchain4j.RefragContentInjector;
import io.refrag.langchain4j.RefragEmbeddingModel;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

public class RagWithLangchain4j {
    interface Assistant {
        String answer(String question);
    }

    public static void main(String[] args) throws Exception {
        Path model = Path.of(args.length > 0 ? args[0] : "models/refrag-stories260k-k8");
        Path corpus = Path.of(args.length > 1 ? args[1] : "../shared/data/corpus_small.txt");
        try (Refrag refrag = Refrag.load(model, ModelOptions.defaults())) {
            EmbeddingModel embedder = new RefragEmbeddingModel(refrag);      // REFRAG's own encoder: one runtime
            InMemoryEmbeddingStore<TextSegment> store = new InMemoryEmbeddingStore<>();
            List<TextSegment> passages = Files.readAllLines(corpus).stream().map(TextSegment::from).toList();
            store.addAll(embedder.embedAll(passages).content(), passages);

            Assistant assistant = AiServices.builder(Assistant.class)
                    .chatModel(RefragChatModel.builder().refrag(refrag).build())
                    .retrievalAugmentor(DefaultRetrievalAugmentor.builder()
                            .contentRetriever(EmbeddingStoreContentRetriever.builder()
                                    .embeddingStore(store).embeddingModel(embedder).maxResults(3).build())
                            .contentInjector(new RefragContentInjector())   // passages reach REFRAG compressed
                            .build())
                    .build();
            System.out.println(assistant.answer("Which river does City_0 lie on?"));
        }
    }
}
