package readme;

import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.JsonValue;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionCreateParams;

import java.util.List;
import java.util.Map;

public class OpenAiClientExample {
    public static void main(String[] args) {
        String server = args.length > 0 ? args[0] : "http://localhost:8080/v1";
        OpenAIClient client = OpenAIOkHttpClient.builder().baseUrl(server).apiKey("unused").build();
        ChatCompletion answer = client.chat().completions().create(ChatCompletionCreateParams.builder()
                .model("refrag-stories260k-k8")
                .addUserMessage("Who is Lily?")
                .maxCompletionTokens(24)
                .putAdditionalBodyProperty("refrag", JsonValue.from(Map.of(       // compressed, not pasted
                        "passages", List.of("Once upon a time, there was a little girl named Lily."),
                        "k", 8)))
                .build());
        System.out.println(answer.choices().get(0).message().content().orElse(""));
        System.out.println(answer._additionalProperties().get("refrag"));       // TTFT, compression, chunks
    }
}
