package ai.eapo.data;

import ai.eapo.UserInputException;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * How a problem given as chat messages ({@code [{"role": "user", "content": "..."}]}, verl's {@code prompt})
 * becomes the model's input: each message through {@code message} ({@code {role}}, {@code {content}}), then the
 * opening of the assistant's turn ({@code eapo.data.chat-format}). The default is ChatML, the format of Qwen2.5,
 * Qwen3 and the tiny models. The tokenizer's Jinja {@code chat_template} is not executed (no kept Java Jinja
 * engine runs Qwen3's); a template that adds a system message when the data has none is matched with
 * {@code default-system}.
 *
 * @param message       one message, with {@code {role}} and {@code {content}}
 * @param generationPrompt what follows the last message: the assistant's turn opening
 * @param defaultSystem a system message put first when the data's messages start with none; empty = none
 */
public record ChatFormat(String message, String generationPrompt, String defaultSystem) {

    public static final String ROLE = "{role}";
    public static final String CONTENT = "{content}";

    public ChatFormat {
        if (!message.contains(ROLE) || !message.contains(CONTENT)) {
            throw new UserInputException("eapo.data.chat-format.message '" + message + "' needs both " + ROLE
                    + " and " + CONTENT);
        }
    }

    /** The messages of one problem as model input; {@code where} names the line or row for an error. */
    public String render(JsonNode messages, String where) {
        if (messages.isEmpty()) {
            throw new UserInputException(where + ": the chat message list is empty");
        }
        StringBuilder out = new StringBuilder();
        for (int i = 0; i < messages.size(); i++) {
            JsonNode m = messages.get(i);
            if (!m.path("role").isTextual() || !m.path("content").isTextual()) {
                throw new UserInputException(where + ": chat message " + i + " needs a text role and content, got "
                        + m);
            }
            if (i == 0 && !defaultSystem.isEmpty() && !m.get("role").asText().equals("system")) {
                out.append(one("system", defaultSystem));
            }
            out.append(one(m.get("role").asText(), m.get("content").asText()));
        }
        return out.append(generationPrompt).toString();
    }

    private String one(String role, String content) {
        return message.replace(ROLE, role).replace(CONTENT, content);
    }
}
